#!/usr/bin/env bash
# Removes temp dirs the registry tests leave behind when a test process is
# killed before its own cleanup ran (registry storage, layouts, stores).
# Processes are stopped by the tests themselves (by pid).
for dir in /tmp/berth-registry-* /tmp/berth-layout* /tmp/berth-pull-store-* /tmp/berth-cli-pull-* /tmp/berth-regnode-*; do
    [ -e "$dir" ] || continue
    # Keep it while a registry still uses it.
    if pgrep -f "docker-registry serve $dir/config.yml" >/dev/null 2>&1; then continue; fi
    rm -rf "$dir"
done
