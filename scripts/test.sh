#!/usr/bin/env bash
# Runs every test. Each area may put a setup script in scripts/test-setup/
# (building test images, starting a registry …) that prints `export K=V`
# lines for the tests and registers what it started in $BERTH_TEST_PIDFILE;
# everything registered there is stopped on exit, even when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

export BERTH_TEST_ROOT="${BERTH_TEST_ROOT:-$(mktemp -d /tmp/berth-test.XXXXXX)}"
export BERTH_TEST_PIDFILE="$BERTH_TEST_ROOT/pids"
: > "$BERTH_TEST_PIDFILE"

cleanup() {
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done < "$BERTH_TEST_PIDFILE"
    for t in scripts/test-teardown/*.sh; do
        [ -e "$t" ] && bash "$t" || true
    done
}
trap cleanup EXIT

for s in scripts/test-setup/*.sh; do
    [ -e "$s" ] || continue
    echo "== setup: $s"
    eval "$(bash "$s")"
done

swift test --skip-build "$@"
