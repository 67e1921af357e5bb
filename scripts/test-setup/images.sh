#!/usr/bin/env bash
# Builds the busybox test image once per test run (no network) and tells the
# tests where it is. Prints `export K=V` lines; starts no processes.
#   BERTH_TEST_BUSYBOX_OCI   OCI layout, tar+gzip layer, docker.io/library/busybox:latest
#   BERTH_TEST_BUSYBOX_ZSTD  the same rootfs with a tar+zstd layer
set -euo pipefail
cd "$(dirname "$0")/../.."
root="${BERTH_TEST_ROOT:-$(mktemp -d /tmp/berth-test.XXXXXX)}"
bash scripts/build-test-image.sh "$root/busybox-oci" >/dev/null
bash scripts/build-test-image.sh "$root/busybox-zstd" --compression zstd >/dev/null
echo "export BERTH_TEST_BUSYBOX_OCI=$root/busybox-oci"
echo "export BERTH_TEST_BUSYBOX_ZSTD=$root/busybox-zstd"
