#!/usr/bin/env bash
# Removes what the runtime, network and server tests keep for the life of
# their test process: the busybox rootfs fixtures of BerthRuntimeRootTests and
# BerthNetworkRootTests (one per test process, shared by its tests) and the
# serve stderr captures of BerthServerTests. Runs after every target has
# finished.
for dir in /tmp/berth-busybox-[0-9]* /tmp/berth-net-busybox-[0-9]* /tmp/berth-err-*; do
    [ -e "$dir" ] || continue
    rm -rf "$dir"
done
