#!/usr/bin/env bash
# Builds a small busybox image as an OCI image layout, without network, from
# Debian's busybox-static (/bin/busybox). Used by the tests and the Makefile.
#
#   scripts/build-test-image.sh OUTDIR [--compression gzip|zstd|none] [--name REF] [--rootfs-only]
#
# OUTDIR becomes an OCI layout (oci-layout, index.json, blobs/sha256/…) with one
# image named REF (default docker.io/library/busybox:latest): one layer with
# bin/busybox and applet symlinks, etc/passwd (root, app uid 1000, nobody uid
# 65534), etc/group, tmp (1777). Cmd ["sh"]. The output is reproducible: the
# same busybox gives the same digests. With --rootfs-only, OUTDIR is just the
# root file system directory.
set -euo pipefail

out="${1:?usage: build-test-image.sh OUTDIR [--compression gzip|zstd|none] [--name REF] [--rootfs-only]}"
shift
compression=gzip
name=docker.io/library/busybox:latest
rootfs_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --compression) compression="$2"; shift 2 ;;
        --name) name="$2"; shift 2 ;;
        --rootfs-only) rootfs_only=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
busybox="${BUSYBOX:-/bin/busybox}"
[ -x "$busybox" ] || { echo "$busybox not found: apt-get install busybox-static" >&2; exit 1; }

make_rootfs() {
    local root="$1"
    mkdir -p "$root"/{bin,etc,tmp,root,home/app,var/www,proc,sys,dev}
    cp "$busybox" "$root/bin/busybox"
    chmod 0755 "$root/bin/busybox"
    local applets
    applets=$("$busybox" --list)
    for applet in sh ash ls cat echo sleep httpd wget id true false mkdir rm cp mv ps env grep sed awk \
        head tail wc touch chmod chown ln hostname nc ping kill date whoami test printf uname df du find \
        xargs sort uniq tr cut nslookup ip ifconfig stat readlink basename dirname seq yes sync pwd vi \
        mount umount free top nproc timeout sha256sum md5sum tee expr watch less more gzip tar which \
        usleep hexdump od dd rmdir realpath netstat; do
        if grep -qx "$applet" <<<"$applets"; then ln -sf busybox "$root/bin/$applet"; fi
    done
    cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
    cat >"$root/etc/group" <<'G'
root:x:0:
app:x:1000:
nogroup:x:65534:
G
    echo "berth-test" >"$root/etc/hostname"
    chmod 1777 "$root/tmp"
    chmod 0700 "$root/root"
    chown 1000:1000 "$root/home/app"
    echo "<h1>berth test image</h1>" >"$root/var/www/index.html"
}

if [ "$rootfs_only" = 1 ]; then
    make_rootfs "$out"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make_rootfs "$work/rootfs"

python3 - "$work/rootfs" "$out" "$compression" "$name" <<'PY'
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

rootfs, out, compression, name = sys.argv[1:5]
EPOCH = 1704067200  # 2024-01-01T00:00:00Z, for reproducible digests

def add_tree(tar):
    for dirpath, dirnames, filenames in os.walk(rootfs):
        dirnames.sort()
        for entry in sorted(dirnames + filenames):
            full = os.path.join(dirpath, entry)
            rel = os.path.relpath(full, rootfs)
            info = tar.gettarinfo(full, arcname=rel)
            info.mtime = EPOCH
            info.uname = info.gname = ""
            if info.isreg():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
    add_tree(tar)
layer_tar = raw.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()

if compression == "gzip":
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(layer_tar)
    layer_blob, media = buf.getvalue(), "application/vnd.oci.image.layer.v1.tar+gzip"
elif compression == "zstd":
    layer_blob = subprocess.run(["zstd", "-q", "-c", "-3"], input=layer_tar, stdout=subprocess.PIPE, check=True).stdout
    media = "application/vnd.oci.image.layer.v1.tar+zstd"
elif compression == "none":
    layer_blob, media = layer_tar, "application/vnd.oci.image.layer.v1.tar"
else:
    sys.exit("unknown compression " + compression)

blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}

config = {
    "created": "2024-01-01T00:00:00Z",
    "architecture": "amd64", "os": "linux",
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"], "WorkingDir": "/",
        "ExposedPorts": {"80/tcp": {}},
        "Labels": {"org.opencontainers.image.title": "berth busybox test image"},
    },
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "scripts/build-test-image.sh"}],
}
config_desc = put(json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json"
layer_desc = put(layer_blob)
layer_desc["mediaType"] = media
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config_desc, "layers": [layer_desc]}
manifest_desc = put(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
manifest_desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
manifest_desc["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": [manifest_desc]}, f, indent=2)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
print(manifest_desc["digest"])
PY
