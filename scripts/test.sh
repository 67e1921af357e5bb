#!/usr/bin/env bash
# Runs every test. Services the tests need (the registry …) are started here
# and stopped on exit, even when a test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

cleanup() {
    :
}
trap cleanup EXIT

swift test --skip-build --parallel --num-workers 2 "$@"
