#!/usr/bin/env bash
# The registry tests (Tests/BerthRegistryTests) start their own
# docker-registry processes and token/proxy servers on free loopback ports
# and stop them themselves; this only checks that the tools are there.
set -euo pipefail
for tool in /usr/bin/docker-registry skopeo openssl python3; do
    command -v "$tool" >/dev/null || { echo "registry tests need $tool (apt-get install docker-registry skopeo openssl)" >&2; exit 1; }
done
echo "export BERTH_DOCKER_REGISTRY=/usr/bin/docker-registry"
