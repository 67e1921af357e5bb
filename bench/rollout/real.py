#!/usr/bin/env python3
"""Rollout benchmark with the real runtime (run as root, release build).

A 10-replica busybox httpd Deployment with an httpGet readiness probe
(periodSeconds 1) on a real `berth serve` (its own data dir, port, bridge,
CIDRs and nftables tables). Measured: apply of a new template -> Available
(observedGeneration current, updated = ready = available = replicas, the old
ReplicaSet at 0), polled every 20 ms over the API.

The probe time the algorithm has to wait: a new pod counts only once its
readiness probe has passed. The kubelet and scheduler write, in
milliseconds, when each pod was bound, when its container started and when
the probe that made it Ready returned. Available waits for the last new pod
to become Ready; that pod was created once an earlier new pod became Ready
(the last one Ready before it was bound), and so on back to the first surge.
The chain's probe waits (Ready - container start) are what the algorithm had
to wait for (see probe_waits):

    probe wait = sum over the critical chain of (Ready - container started)
    overhead   = (apply -> Available) - probe wait

i.e. everything Berth spends besides waiting for probes: the CLI, the API,
controllers, scheduling, sandboxes, container starts, status writes.

    bench/rollout/real.py [--replicas 10] [--runs 5] [--berth .build/release/berth]
"""
import argparse, calendar, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

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
        # Append mode: the bench writes its own [timing] marks into the same
        # log as the server's BERTH_TIMING=1 marks (same monotonic clock).
        self.log = open(os.path.join(self.data, "serve.log"), "a")
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

    def mark(self, what):
        """A BERTH_TIMING-style mark in the serve log (CLOCK_MONOTONIC ms)."""
        self.log.write("[timing] %.3f bench: %s\n" % (time.monotonic() * 1000, what))
        self.log.flush()

    def cpu_seconds(self):
        """User + system CPU time the server has used so far."""
        fields = open("/proc/%d/stat" % self.serve.pid).read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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
            return rs
    return None


def parse_time(text):
    """RFC 3339 as the kubelet writes it (milliseconds, or whole seconds)."""
    if not text:
        return None
    text = text.rstrip("Z")
    whole, _, fraction = text.partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float("0." + fraction) if fraction else 0.0)


def probe_waits(cluster, rs):
    """The readiness-probe time on the rollout's critical path.

    Per new pod, the kubelet and scheduler write in milliseconds: when it was
    bound (PodScheduled), when its container started (state.running.startedAt)
    and when the probe that made it Ready returned (Ready's
    lastTransitionTime). Available waits for the last pod to become Ready;
    that pod was created once an earlier new pod became Ready (the one Ready
    last before it was bound), which in turn waited for its own probe, and so
    on back to a pod of the first surge. The probe waits (Ready - started) of
    this chain are the probe time the algorithm had to wait; a pod whose
    probe was slow but that gated nothing is not counted."""
    hash_ = rs["metadata"]["labels"]["pod-template-hash"]
    pods = []
    for pod in cluster.get("/api/v1/namespaces/default/pods").get("items", []):
        if (pod["metadata"].get("labels") or {}).get("pod-template-hash") != hash_ or pod["metadata"].get("deletionTimestamp"):
            continue
        status = pod.get("status", {})
        conditions = {c.get("type"): c for c in status.get("conditions", [])}
        started = parse_time(((status.get("containerStatuses") or [{}])[0].get("state") or {}).get("running", {}).get("startedAt"))
        ready = parse_time(conditions.get("Ready", {}).get("lastTransitionTime")) if conditions.get("Ready", {}).get("status") == "True" else None
        bound = parse_time(conditions.get("PodScheduled", {}).get("lastTransitionTime"))
        if started is not None and ready is not None and bound is not None:
            pods.append({"bound": bound, "started": started, "ready": ready, "wait": max(0.0, ready - started)})
    chain = []
    current = max(pods, key=lambda p: p["ready"], default=None)
    while current is not None:
        chain.append(current)
        current = max((p for p in pods if p["ready"] <= current["bound"]), key=lambda p: p["ready"], default=None)
    return [p["wait"] for p in reversed(chain)], sorted(p["wait"] for p in pods)


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeline", action="store_true",
                        help="also list the pods every poll for a seen/Running/Ready timeline (costs server CPU)")
    parser.add_argument("--keep-log", help="copy the serve log here (BERTH_TIMING=1 adds the step timings)")
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
            cpu_before = cluster.cpu_seconds()
            cluster.mark("apply " + version)
            start = time.time()
            cluster.apply(MANIFEST.format(replicas=args.replicas, version=version))
            done = cluster.wait_available(args.replicas, timeline=timeline if args.timeline else None)
            cluster.mark("Available " + version)
            total = done - start
            cpu = cluster.cpu_seconds() - cpu_before
            rs = new_replica_set(cluster, version)
            steps = cluster.scale_up_events(rs["metadata"]["name"]) if rs else 0
            waves, waits = probe_waits(cluster, rs) if rs else ([], [])
            probe = sum(waves)
            overhead = total - probe
            results.append((total, probe, overhead, cpu))
            fresh = sorted((e for n, e in timeline.items() if n not in before and "seen" in e), key=lambda e: e["seen"])
            if fresh:
                print("rollout-real: run %d timeline (poll 20 ms, from apply): first pod seen %.2fs; per pod median seen->Running %.2fs; "
                      "last Ready %.2fs; last Ready->Available %.2fs; pods seen at %s"
                      % (run, fresh[0]["seen"] - start, median([e["running"] - e["seen"] for e in fresh if "running" in e]),
                         max(e.get("ready", 0) for e in fresh) - start, done - max(e.get("ready", 0) for e in fresh),
                         " ".join("%.2f" % (e["seen"] - start) for e in fresh)))
            print("rollout-real: run %d: apply -> Available %.3fs; probe waits on the critical path %s s (per pod start->Ready %s); "
                  "overhead %.3fs; controller scaled up %d times; server CPU %.2fs"
                  % (run, total, "+".join("%.3f" % w for w in waves), " ".join("%.3f" % w for w in waits), overhead, steps, cpu))
            # Start the next run from a quiet node: the old pods' teardown
            # (deferred until pod starts are quiet) is not part of a rollout.
            deadline = time.time() + 30
            while time.time() < deadline and len(cluster.get("/api/v1/namespaces/default/pods").get("items", [])) > args.replicas:
                time.sleep(0.2)
            time.sleep(1)
    finally:
        if args.keep_log and cluster.serve:
            cluster.log.flush()
            shutil.copy(cluster.log.name, args.keep_log)
        cluster.destroy()
    if results:
        print("rollout-real: %d replicas, %d runs: median apply->Available %.3fs, median probe wait %.3fs, median overhead %.3fs "
              "(target <= 1s), median server CPU %.2fs; load average %s"
              % (args.replicas, len(results), median(r[0] for r in results), median(r[1] for r in results),
                 median(r[2] for r in results), median(r[3] for r in results), " ".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
