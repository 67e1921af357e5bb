#!/usr/bin/env bash
# Runs every test. Each area may put a setup script in scripts/test-setup/
# (building test images, starting a registry …) that prints `export K=V`
# lines for the tests and registers what it started in $BERTH_TEST_PIDFILE;
# everything registered there is stopped on exit, even when a test fails.
#
# Test targets run one after another, each in its own process, serially and
# under a time limit: a hang in one target is reported as that target's
# failure instead of silently eating CI's budget, and the others still run.
# Arguments are passed to every `swift test` (e.g. --filter).
set -uo pipefail
cd "$(dirname "$0")/.."

export BERTH_TEST_ROOT="${BERTH_TEST_ROOT:-$(mktemp -d /tmp/berth-test.XXXXXX)}"
export BERTH_TEST_PIDFILE="$BERTH_TEST_ROOT/pids"
: > "$BERTH_TEST_PIDFILE"
TARGET_TIMEOUT="${BERTH_TEST_TIMEOUT:-1500}"

cleanup() {
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done < "$BERTH_TEST_PIDFILE"
    for t in scripts/test-teardown/*.sh; do
        [ -e "$t" ] && bash "$t" || true
    done
    rm -rf "$BERTH_TEST_ROOT"
}
trap cleanup EXIT

for s in scripts/test-setup/*.sh; do
    [ -e "$s" ] || continue
    echo "== setup: $s"
    out="$(bash "$s")" || { echo "setup failed: $s"; exit 1; }
    eval "$out"
done

targets=$(ls -d Tests/*Tests | xargs -n1 basename)
failed=()
passed=0
# Targets to skip, loudly: BERTH_TEST_SKIP="TargetA TargetB" (none by default).
skip=" ${BERTH_TEST_SKIP-} "
for t in $targets; do
    if [[ "$skip" == *" $t "* ]]; then echo "== $t: SKIPPED (listed in BERTH_TEST_SKIP)"; continue; fi
    echo "== $t"
    timeout --kill-after=30 "$TARGET_TIMEOUT" swift test --skip-build --no-parallel --filter "^$t\." "$@"
    rc=$?
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
    else
        [ $rc -eq 124 ] && echo "!! $t did not finish within ${TARGET_TIMEOUT}s"
        failed+=("$t")
    fi
done
echo "== test targets: $passed passed, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
