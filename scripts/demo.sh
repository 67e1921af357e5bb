#!/usr/bin/env bash
# The Berth demo: git push → webhook → rolling update → broken commit →
# automatic rollback → history → drift → self-heal. See examples/demo/README.md.
#
# BERTH_DEMO_NONINTERACTIVE=1: exit 0 only if every step was observed, then stop.
# Otherwise the server keeps running (with commands to try) until Ctrl-C.
# Needs root (containers) and `berth serve` with the Linux runtime wired in.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
berth="$root/.build/debug/berth"
noninteractive="${BERTH_DEMO_NONINTERACTIVE:-0}"
port="${BERTH_DEMO_PORT:-7489}"
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
data="$work/data"
repo="$work/repo"
secret="demo-webhook-secret-$RANDOM$RANDOM"
server_pid=""
failures=0

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ok() { printf '   \033[32m✓ %s\033[0m\n' "$*"; }
fail() { printf '   \033[31m✗ %s\033[0m\n' "$*"; failures=$((failures + 1)); }
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        # serve leaves containers running on purpose (live restore); the demo
        # does not: delete what it deployed and wait for the pods to go.
        "$berth" delete deployment web -n demo >/dev/null 2>&1 || true
        for _ in $(seq 60); do
            [ -z "$("$berth" get pods -n demo -o name 2>/dev/null)" ] && break
            sleep 1
        done
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    ip link del berth0 2>/dev/null || true
    nft delete table ip berth 2>/dev/null || true
    nft delete table ip berth-svc 2>/dev/null || true
    if [ "$noninteractive" = 1 ] || [ "${BERTH_DEMO_KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

export BERTH_SERVER="http://127.0.0.1:$port" BERTH_DATA_DIR="$data"
b() { "$berth" "$@"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    local seconds="$1" what="$2"; shift 2
    local deadline=$((SECONDS + seconds))
    while [ $SECONDS -lt $deadline ]; do
        if "$@" >/dev/null 2>&1; then ok "$what"; return 0; fi
        sleep 1
    done
    fail "$what (not observed within ${seconds}s)"
    return 1
}

deployment_json() { b get deployment web -n demo -o json; }
deployment_is() { # IMAGE-TAG READY-REPLICAS
    deployment_json | python3 -c '
import json, sys
d = json.load(sys.stdin); tag, want = sys.argv[1], int(sys.argv[2])
image = d["spec"]["template"]["spec"]["containers"][0]["image"]
s = d.get("status", {})
ok = image.endswith(":" + tag) and s.get("updatedReplicas") == want and s.get("availableReplicas") == want \
     and s.get("replicas") == want and s.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
sys.exit(0 if ok else 1)' "$1" "$2"
}
pods_running() { # COUNT: running pods of app=web
    b get pods -n demo --selector app=web -o json | python3 -c '
import json, sys
items = json.load(sys.stdin).get("items", [])
running = [p for p in items if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
sys.exit(0 if len(running) == int(sys.argv[1]) else 1)' "$1"
}
last_result_is() { # PREFIX: the newest sync that did something (no-op timer syncs skipped)
    b history demo --limit 20 -o json | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if not (r.get("result") or "").startswith("noop")]
sys.exit(0 if rows and rows[0].get("state") == "finished" and (rows[0].get("result") or "").startswith(sys.argv[1]) else 1)' "$1"
}
webhook() { # sends a signed GitHub push for main; prints the HTTP status
    local body sig
    body=$(printf '{"ref":"refs/heads/main","repository":{"clone_url":"file://%s"},"head_commit":{"id":"%s"}}' "$repo" "$(git -C "$repo" rev-parse HEAD)")
    sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
    curl -s -o "$work/webhook.out" -w '%{http_code}' -X POST "$BERTH_SERVER/hooks/github" \
        -H "Content-Type: application/json" -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$sig" \
        --data-binary "$body"
}

[ -x "$berth" ] || { echo "build first: swift build (or make demo)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || echo "note: containers need root; run as root for the full demo" >&2

bold "0. What the example deploys: berth render (validated, defaults applied)"
if "$berth" render --repo examples/demo --path manifests -o yaml > "$work/rendered.yaml"; then
    ok "examples/demo/manifests render: $(grep -c '^kind:' "$work/rendered.yaml") objects"
else
    fail "berth render of examples/demo/manifests"
fi

bold "1. Building the demo images (busybox-static httpd): demo/web:v1, v2 and a broken v3"
for version in v1 v2 v3; do
    rootfs="$work/images/$version"
    bash scripts/build-test-image.sh "$rootfs" --rootfs-only
    mkdir -p "$rootfs/srv/www"
    sed "s/VERSION/$version/" examples/demo/app/index.html >"$rootfs/srv/www/index.html"
    if [ "$version" != v3 ]; then echo ok >"$rootfs/srv/www/ready.txt"; fi   # v3: readiness never passes
    b image import --data-dir "$data" "$rootfs" --tag "demo/web:$version" \
        --cmd '["busybox","httpd","-f","-p","8080","-h","/srv/www"]' --expose 8080/tcp >/dev/null
done
b image ls --data-dir "$data" | grep -q 'demo/web' && ok "images imported" || fail "images imported"

bold "2. A git repository with the demo manifests (v1)"
mkdir -p "$repo"
git -C "$repo" init -q -b main
cp -r examples/demo/manifests "$repo/manifests"
git -C "$repo" add -A
git -C "$repo" -c user.name="Demo" -c user.email=demo@example.com commit -q -m "web v1: 3 replicas, Service, ConfigMap"
ok "repository at $repo"

bold "3. berth serve, following main of that repository"
printf '%s' "$secret" >"$work/webhook-secret"
"$berth" serve --data-dir "$data" --listen "127.0.0.1:$port" --repo "file://$repo" --ref main --path manifests \
    --source-name demo --interval 30s --rollout-timeout 60s --webhook-secret-file "$work/webhook-secret" \
    >"$work/serve.log" 2>&1 &
server_pid=$!
wait_for 30 "server up" curl -sf "$BERTH_SERVER/healthz"
wait_for 120 "v1 deployed: 3 replicas available" deployment_is v1 3
wait_for 60 "3 pods running" pods_running 3
wait_for 30 "history: sync succeeded" last_result_is succeeded

bold "4. Commit v2 and send a signed GitHub webhook"
sed -i 's#demo/web:v1#demo/web:v2#' "$repo/manifests/web.yaml"
git -C "$repo" -c user.name="Demo" -c user.email=demo@example.com commit -qam "web v2"
status=$(webhook)
[ "$status" = 202 ] && ok "webhook accepted: $(cat "$work/webhook.out")" || fail "webhook answered $status: $(cat "$work/webhook.out")"
wait_for 120 "rolling update to v2 done: 3 replicas available" deployment_is v2 3
wait_for 30 "history: v2 sync succeeded" last_result_is succeeded

bold "5. Commit a broken v3 (readiness never passes): automatic rollback"
sed -i 's#demo/web:v2#demo/web:v3#' "$repo/manifests/web.yaml"
git -C "$repo" -c user.name="Demo" -c user.email=demo@example.com commit -qam "web v3 (broken readiness)"
status=$(webhook)
[ "$status" = 202 ] && ok "webhook accepted" || fail "webhook answered $status"
wait_for 150 "history: v3 rolled back" last_result_is rolledBack
wait_for 120 "back on v2: 3 replicas available" deployment_is v2 3

bold "6. Fix it the git way (git revert), then the history"
# Until then git says v3 while v2 runs: that IS drift, and `berth drift` says so.
git -C "$repo" -c user.name="Demo" -c user.email=demo@example.com revert --no-edit HEAD >/dev/null
status=$(webhook)
[ "$status" = 202 ] && ok "revert pushed, webhook accepted" || fail "webhook answered $status"
wait_for 60 "history: revert sync succeeded" last_result_is succeeded
b history demo --limit 10 || fail "berth history"

bold "7. Drift: scale by hand, see it, sync it away"
if b drift demo >/dev/null 2>&1; then ok "no drift"; else fail "expected no drift before scaling"; fi
b scale deployment web -n demo --replicas 1 >/dev/null
set +e; b drift demo; code=$?; set -e
[ "$code" = 1 ] && ok "drift reported (exit 1)" || fail "drift exit code $code, expected 1"
b sync demo --wait || true
wait_for 60 "self-healed: no drift" b drift demo
wait_for 120 "3 replicas again" deployment_is v2 3

bold "Status"
b status || true

if [ "$noninteractive" = 1 ]; then
    if [ "$failures" = 0 ]; then echo; ok "every step observed"; exit 0; fi
    echo; fail "$failures step(s) not observed; server log: (last 40 lines)"; tail -40 "$work/serve.log" >&2
    exit 1
fi

cat <<EOT

Berth is running (pid $server_pid), data in $data, repository in $repo.
Try:
  export BERTH_SERVER=$BERTH_SERVER BERTH_DATA_DIR=$data
  $berth status
  $berth history demo
  $berth history show <ID>
  $berth get pods -n demo -o wide
  $berth drift demo
  $berth rollback demo --to <ID|COMMIT>    # pin; then: $berth sync demo --resume
  curl -s $BERTH_SERVER/metrics | grep berth_
  (cd $repo && \$EDITOR manifests/web.yaml && git commit -qam change)   # then wait ≤30 s or send a webhook
Press Ctrl-C to stop (containers stay until the data directory is removed).
EOT
wait "$server_pid"
