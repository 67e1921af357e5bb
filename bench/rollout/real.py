#!/usr/bin/env python3
"""Rollout benchmark with the real runtime (run as root, release build).

A 10-replica busybox httpd Deployment with an httpGet readiness probe
(periodSeconds 1) on a real `berth serve` (its own data dir, port, bridge,
CIDRs and nftables tables). Measured: apply of a new template -> Available
(observedGeneration current, updated = ready = available = replicas, the old
ReplicaSet at 0), polled every 20 ms over the API.

The probe time the algorithm has to wait: each wave of new pods must pass one
readiness probe before the controller may move on, and one wait lets at most
maxSurge + maxUnavailable new pods become ready (defaults: 25 % each, so 3 + 2
of 10 replicas: 2 waves). Each wave is counted as one probe period (the worst
case for a probe that passes at its first run). The controller's scale-up
steps (from its ScalingReplicaSet events) are printed beside it. overhead = apply->Available - waves x periodSeconds, i.e.
everything Berth spends besides waiting for probes: controllers, scheduling,
sandboxes, container starts, status writes.

    bench/rollout/real.py [--replicas 10] [--runs 3] [--berth .build/release/berth]
"""
import argparse, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  progressDeadlineSeconds: 120
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: bench/busybox:1
        command: ["sh", "-c", "mkdir -p /www && echo {version} > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe:
          httpGet: {{path: /index.html, port: 8080}}
          periodSeconds: 1
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self, berth):
        tag = "%06x" % random.randrange(1 << 24)
        self.berth = berth
        self.data = tempfile.mkdtemp(prefix="berth-bench-rollout-")
        self.port = free_port()
        octet = random.randrange(160, 250)
        self.env = dict(os.environ, BERTH_BRIDGE="bbr" + tag, BERTH_NFT_PREFIX="bbr" + tag,
                        BERTH_POD_CIDR="10.%d.0.0/16" % octet, BERTH_SERVICE_CIDR="10.%d.0.0/16" % (octet - 60),
                        BERTH_DNS_PORT=str(free_port()))
        for key in ("BERTH_SERVER", "BERTH_TOKEN", "BERTH_DATA_DIR"):
            self.env.pop(key, None)
        self.serve = None
        self.token = None

    def run(self, *args, check=True):
        return subprocess.run([self.berth, *args], env=self.env, check=check, capture_output=True, text=True)

    def start(self):
        image = os.path.join(self.data, "image")
        subprocess.run(["bash", os.path.join(ROOT, "scripts/build-test-image.sh"), image], check=True, capture_output=True)
        self.run("image", "import", "--data-dir", self.data, image, "--tag", "bench/busybox:1")
        self.log = open(os.path.join(self.data, "serve.log"), "w")
        self.serve = subprocess.Popen([self.berth, "serve", "--data-dir", self.data, "--listen", "127.0.0.1:%d" % self.port],
                                      env=self.env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.token = open(os.path.join(self.data, "token")).read().strip()
                self.get("/api/v1/namespaces/default/pods")
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("berth serve did not answer; see " + self.log.name)

    def get(self, path):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def apply(self, text):
        path = os.path.join(self.data, "manifest-%d.yaml" % random.randrange(1 << 30))
        with open(path, "w") as f:
            f.write(text)
        self.run("apply", "-f", path, "--server", "http://127.0.0.1:%d" % self.port, "--data-dir", self.data)

    def deployment(self):
        return self.get("/apis/apps/v1/namespaces/default/deployments/web")

    def available(self, replicas, old_hashes=()):
        d = self.deployment()
        s = d.get("status", {})
        conditions = {c["type"]: c for c in s.get("conditions", [])}
        if not (conditions.get("Available", {}).get("status") == "True"
                and s.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
                and s.get("updatedReplicas") == replicas and s.get("readyReplicas") == replicas
                and s.get("availableReplicas") == replicas and s.get("replicas") == replicas):
            return False
        return True

    def wait_available(self, replicas, timeout=180, timeline=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.available(replicas):
                return time.time()
            if timeline is not None:
                self.observe(timeline)
            time.sleep(0.02)
        raise SystemExit("not Available within %ds; see %s" % (timeout, self.log.name))

    def observe(self, timeline):
        """Records when each pod was first seen, first Running and first Ready."""
        now = time.time()
        for pod in self.get("/api/v1/namespaces/default/pods").get("items", []):
            entry = timeline.setdefault(pod["metadata"]["name"], {"seen": now})
            status = pod.get("status", {})
            if "running" not in entry and any("running" in (c.get("state") or {}) for c in status.get("containerStatuses", [])):
                entry["running"] = now
            if "ready" not in entry and any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])):
                entry["ready"] = now

    def scale_up_events(self, since_rs):
        events = self.get("/api/v1/namespaces/default/events").get("items", [])
        return sum(e.get("count", 1) for e in events
                   if e.get("reason") == "ScalingReplicaSet" and "Scaled up replica set " + since_rs + " " in e.get("message", "") + " ")

    def destroy(self):
        if self.serve and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGTERM)
            try:
                self.serve.wait(20)
            except subprocess.TimeoutExpired:
                self.serve.kill()
                self.serve.wait()
        ids = self.run("ps", "-a", "-q", "--data-dir", self.data, check=False).stdout.split()
        for cid in ids:
            self.run("rm", "-f", "--data-dir", self.data, cid, check=False)
        # Whatever still runs for this data dir (pause processes, shims), with children.
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                cmdline = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.data + "/" in cmdline:
                subprocess.run(["pkill", "-KILL", "-P", pid], check=False)
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.2)
        with open("/proc/self/mounts") as f:
            targets = [line.split()[1] for line in f if line.split()[1].startswith(self.data)]
        for target in reversed(targets):
            subprocess.run(["umount", "-l", target], check=False)
        subprocess.run(["ip", "link", "del", self.env["BERTH_BRIDGE"]], check=False, capture_output=True)
        for table in (self.env["BERTH_NFT_PREFIX"], self.env["BERTH_NFT_PREFIX"] + "-svc"):
            subprocess.run(["nft", "delete", "table", "ip", table], check=False, capture_output=True)
        shutil.rmtree(self.data, ignore_errors=True)


def new_replica_set(cluster, version):
    items = cluster.get("/apis/apps/v1/namespaces/default/replicasets").get("items", [])
    for rs in items:
        command = " ".join(rs["spec"]["template"]["spec"]["containers"][0].get("command", []))
        if "echo %s " % version in command:
            return rs["metadata"]["name"]
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-log", help="copy the serve log (LOG_LEVEL=debug for step timings) here")
    parser.add_argument("--berth", default=os.path.join(ROOT, ".build/release/berth"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (real containers, bridge, nftables)")
    cluster = Cluster(os.path.abspath(args.berth))
    results = []
    try:
        cluster.start()
        t0 = time.time()
        cluster.apply(MANIFEST.format(replicas=args.replicas, version="v0"))
        cluster.wait_available(args.replicas)
        print("rollout-real: create %d replicas -> Available %.2fs" % (args.replicas, time.time() - t0))
        for run in range(1, args.runs + 1):
            version = "v%d" % run
            before = {p["metadata"]["name"] for p in cluster.get("/api/v1/namespaces/default/pods").get("items", [])}
            timeline = {name: {} for name in before}
            start = time.time()
            cluster.apply(MANIFEST.format(replicas=args.replicas, version=version))
            done = cluster.wait_available(args.replicas, timeline=timeline)
            total = done - start
            rs = new_replica_set(cluster, version)
            steps = cluster.scale_up_events(rs) if rs else 0
            # The fewest probe waits the algorithm needs: each wait lets at
            # most maxSurge + maxUnavailable (25 % each: ceil 3 + floor 2 of 10)
            # new pods become ready.
            surge = -(-args.replicas * 25 // 100)
            unavailable = args.replicas * 25 // 100
            waves = -(-args.replicas // max(1, surge + unavailable))
            overhead = total - waves * 1.0
            results.append((total, waves, overhead))
            fresh = sorted((e for n, e in timeline.items() if n not in before and "seen" in e), key=lambda e: e["seen"])
            if fresh:
                def med(values):
                    values = sorted(values)
                    return values[len(values) // 2] if values else float("nan")
                print("rollout-real: run %d timeline (poll 20 ms, from apply): first pod seen %.2fs; per pod median seen->Running %.2fs, "
                      "Running->Ready %.2fs; last Ready %.2fs; last Ready->Available %.2fs; pods seen at %s"
                      % (run, fresh[0]["seen"] - start, med([e["running"] - e["seen"] for e in fresh if "running" in e]),
                         med([e["ready"] - e["running"] for e in fresh if "ready" in e and "running" in e]),
                         max(e.get("ready", 0) for e in fresh) - start, done - max(e.get("ready", 0) for e in fresh),
                         " ".join("%.2f" % (e["seen"] - start) for e in fresh)))
            print("rollout-real: run %d: apply -> Available %.2fs; %d probe waves x 1s (the controller scaled up %d times); overhead %.2fs"
                  % (run, total, waves, steps, overhead))
            time.sleep(1)
    finally:
        if args.keep_log and cluster.serve:
            cluster.log.flush()
            shutil.copy(cluster.log.name, args.keep_log)
        cluster.destroy()
    if results:
        overheads = sorted(r[2] for r in results)
        print("rollout-real: %d replicas, %d runs: median apply->Available %.2fs, median overhead %.2fs (target <= 1s)"
              % (args.replicas, len(results), sorted(r[0] for r in results)[len(results) // 2], overheads[len(overheads) // 2]))


if __name__ == "__main__":
    main()
