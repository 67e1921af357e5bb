#!/usr/bin/env bash
# The demo: renders the bundled example. The reconciler turns it into the
# whole story (deploy, rolling update, automatic rollback, history, drift).
set -euo pipefail
cd "$(dirname "$0")/.."
.build/debug/berth render --repo examples/demo --path manifests
