// libgit2's Negotiate (SPNEGO/Kerberos) HTTP auth without libgssapi_krb5.
//
// The release build links Debian's static libgit2.a (see "Release linking" in
// Package.swift). Its auth_negotiate.o calls eight GSS-API functions, and the
// only provider, libgssapi_krb5, exists as a shared library alone and brings
// six more (krb5, k5crypto, com_err, krb5support, keyutils, resolv): ~2 ms on
// every `berth` start. libgit2 starts Negotiate only for a
// GIT_CREDENTIAL_DEFAULT credential, which Berth never hands out (it offers
// user/password and SSH keys), so these stubs are never reached; if one were,
// every call fails with GSS_S_UNAVAILABLE and libgit2 reports that the
// Negotiate mechanism is unavailable, instead of crashing.
//
// Debug builds link the shared libgit2 (with its real GSS-API) and compile
// this file empty. A release build without .build/static-libs links the
// shared libgit2 with these stubs defined: the linker then exports them for
// libgit2.so, which gets the stubs instead of libgssapi_krb5. That changes
// nothing for Berth, which never starts Negotiate.
#ifdef BERTH_STATIC_LIBGIT2
#include <stddef.h>
#include <stdint.h>

typedef uint32_t OM_uint32;
enum { GSS_S_UNAVAILABLE = 16u << 16 };

/// The OID libgit2 passes to gss_import_name; never dereferenced here.
void *GSS_C_NT_HOSTBASED_SERVICE = NULL;

#define BERTH_GSS_UNAVAILABLE(name)                                  \
    OM_uint32 name(OM_uint32 *minor_status, ...) {                   \
        if (minor_status) *minor_status = 0;                         \
        return GSS_S_UNAVAILABLE;                                    \
    }

BERTH_GSS_UNAVAILABLE(gss_indicate_mechs)
BERTH_GSS_UNAVAILABLE(gss_import_name)
BERTH_GSS_UNAVAILABLE(gss_init_sec_context)
BERTH_GSS_UNAVAILABLE(gss_display_status)
BERTH_GSS_UNAVAILABLE(gss_delete_sec_context)
BERTH_GSS_UNAVAILABLE(gss_release_buffer)
BERTH_GSS_UNAVAILABLE(gss_release_name)
BERTH_GSS_UNAVAILABLE(gss_release_oid_set)
#endif
