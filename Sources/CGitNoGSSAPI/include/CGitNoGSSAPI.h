// Nothing to call: this target only provides link-time symbols (see gssapi_stub.c).
