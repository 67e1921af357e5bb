import BerthTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The whole stack with real containers: `berth serve` (store, API,
/// controllers, kubelet on the Linux runtime with its own pod bridge), the
/// CLI, and busybox httpd pods probed over HTTP on their pod IPs.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root: real containers, bridge, nftables"))
struct DeploymentEndToEndTests {
    /// `pullPolicy` nil keeps Kubernetes' default, Always for :latest: on
    /// this offline node each pull fails (after ~40 s of connect retries) and
    /// the imported copy runs. Most cases say IfNotPresent so that they
    /// measure the orchestrator, not an unreachable registry.
    static func manifest(version: String, replicas: Int = 3, readyPath: String = "/index.html", deadline: Int = 15,
                         pullPolicy: String? = "IfNotPresent") -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: \(replicas)
          progressDeadlineSeconds: \(deadline)
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: httpd
                image: docker.io/library/busybox:latest\(pullPolicy.map { "\n        imagePullPolicy: \($0)" } ?? "")
                command: ["sh", "-c", "mkdir -p /www && echo \(version) > /www/index.html && exec httpd -f -p 8080 -h /www"]
                readinessProbe:
                  httpGet: {path: "\(readyPath)", port: 8080}
                  periodSeconds: 1
        """
    }

    /// A fresh cluster with the busybox image imported; destroyed even when the body throws.
    func withCluster(_ body: (E2ECluster) throws -> Void) throws {
        let cluster = try E2ECluster()
        defer { cluster.destroy() }
        do {
            try cluster.importImage()
            try cluster.startServe()
            try body(cluster)
        } catch {
            Issue.record("serve log tail:\n\(cluster.serveLogText.suffix(4000))")
            throw error
        }
    }

    // MARK: - Reading state

    func deployment(_ cluster: E2ECluster) throws -> [String: Any] { try cluster.get(["deployment", "web"]) }

    func condition(_ deployment: [String: Any], _ type: String) -> [String: Any]? {
        let status = deployment["status"] as? [String: Any]
        return (status?["conditions"] as? [[String: Any]])?.first { $0["type"] as? String == type }
    }

    func isAvailable(_ cluster: E2ECluster, replicas: Int = 3) throws -> Bool {
        let object = try deployment(cluster)
        let status = object["status"] as? [String: Any] ?? [:]
        return condition(object, "Available")?["status"] as? String == "True"
            && status["readyReplicas"] as? Int == replicas
            && status["updatedReplicas"] as? Int == replicas
            && status["replicas"] as? Int == replicas
            && (status["observedGeneration"] as? Int ?? 0) >= ((object["metadata"] as? [String: Any])?["generation"] as? Int ?? 1)
    }

    func pods(_ cluster: E2ECluster) throws -> [E2ECluster.PodView] { try cluster.pods(app: "web") }

    func replicaSets(_ cluster: E2ECluster) throws -> [(hash: String, replicas: Int, image: String)] {
        let list = try cluster.get(["replicasets", "-l", "app=web"])
        return (list["items"] as? [[String: Any]] ?? []).map { rs in
            let meta = rs["metadata"] as? [String: Any] ?? [:]
            let spec = rs["spec"] as? [String: Any] ?? [:]
            let command = ((((spec["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first?["command"]
                as? [String])?.joined(separator: " ") ?? ""
            return ((meta["labels"] as? [String: String])?["pod-template-hash"] ?? "", spec["replicas"] as? Int ?? -1, command)
        }
    }

    /// Every live pod's body over HTTP on its pod IP, from the node.
    func bodies(_ cluster: E2ECluster) throws -> [String?] {
        try pods(cluster).filter { $0.ready && !$0.deleting }.map { pod in pod.ip.flatMap { E2ECluster.httpGet($0) } }
    }

    // MARK: - Cases

    @Test func threeReplicasBecomeAvailableAndServeOnPodIPs() throws {
        try withCluster { cluster in
            try cluster.apply(Self.manifest(version: "v1", pullPolicy: nil))
            try waitUntil("web is Available with 3 ready replicas", timeout: 150) { try isAvailable(cluster) }
            // The pull (Always, offline) failed and the local copy runs, with a Warning saying so.
            let events = (try cluster.get(["events"])["items"] as? [[String: Any]]) ?? []
            #expect(events.contains { $0["reason"] as? String == "PullFailedUsingLocal" && $0["type"] as? String == "Warning" },
                    "\(events.map { $0["reason"] ?? "" })")
            let running = try pods(cluster).filter { !$0.deleting }
            #expect(running.count == 3)
            #expect(Set(running.compactMap(\.ip)).count == 3)
            for pod in running {
                let ip = try #require(pod.ip)
                #expect(E2ECluster.httpGet(ip) == "v1", "pod \(pod.name) at \(ip)")
            }
            let first = try #require(running.first?.name)
            let logs = try cluster.client(["logs", first])
            _ = logs  // httpd -f logs nothing by default; the command must still succeed.
        }
    }

    @Test func killedContainerIsRestarted() throws {
        try withCluster { cluster in
            try cluster.apply(Self.manifest(version: "v1"))
            try waitUntil("web is Available", timeout: 90) { try isAvailable(cluster) }
            let before = try pods(cluster)
            let victim = try #require(before.first)
            let ip = try #require(victim.ip)
            let victimID = try #require(victim.containerID)
            let pid = try #require(cluster.containerProcess(containerID: victimID)?.pid)
            kill(pid, SIGKILL)
            try waitUntil("the killed container restarts and the pod is Ready again", timeout: 60) {
                let pod = try pods(cluster).first { $0.name == victim.name }
                return (pod?.restartCount ?? 0) > victim.restartCount && pod?.ready == true
            }
            try waitUntil("web is Available again", timeout: 30) { try isAvailable(cluster) }
            #expect(E2ECluster.httpGet(ip) == "v1")
            let others = try pods(cluster).filter { $0.name != victim.name }
            for pod in others { #expect(pod.restartCount == 0, "\(pod.name) restarted too") }
        }
    }

    @Test func rolloutV1ToV2CompletesThenV3ExceedsDeadlineWhileV2Serves() throws {
        try withCluster { cluster in
            try cluster.apply(Self.manifest(version: "v1"))
            try waitUntil("v1 is Available", timeout: 90) { try isAvailable(cluster) }
            try cluster.apply(Self.manifest(version: "v2"))
            try waitUntil("v2 rolled out", timeout: 120) {
                let live = try pods(cluster).filter { !$0.deleting }
                return try isAvailable(cluster) && live.count == 3 && live.allSatisfy { $0.ip.flatMap { E2ECluster.httpGet($0) } == "v2" }
            }
            let sets = try replicaSets(cluster)
            #expect(sets.count == 2)
            #expect(sets.filter { $0.image.contains("echo v1") }.map(\.replicas) == [0])
            #expect(sets.filter { $0.image.contains("echo v2") }.map(\.replicas) == [3])
            let status = try #require(try deployment(cluster)["status"] as? [String: Any])
            #expect(condition(try deployment(cluster), "Progressing")?["reason"] as? String == "NewReplicaSetAvailable")
            _ = status

            // v3 never becomes ready: the rollout must stall at the deadline while v2 keeps serving.
            try cluster.apply(Self.manifest(version: "v3", readyPath: "/missing"))
            let start = Date()
            var failures: [String] = []
            var exceeded = false
            while Date().timeIntervalSince(start) < 60 {
                let served = try bodies(cluster)
                let v2 = served.filter { $0 == "v2" }.count
                if v2 < 2 { failures.append("only \(v2) v2 pods answered: \(served)") }
                if condition(try deployment(cluster), "Progressing")?["reason"] as? String == "ProgressDeadlineExceeded" {
                    exceeded = true
                    break
                }
                usleep(500_000)
            }
            #expect(exceeded, "v3 did not reach ProgressDeadlineExceeded within 60 s")
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            #expect(Date().timeIntervalSince(start) >= 14, "the deadline (15 s) was reported too early")
            let v2Live = try pods(cluster).filter { !$0.deleting && $0.ready }.compactMap(\.ip).compactMap { E2ECluster.httpGet($0) }
            #expect(v2Live.filter { $0 == "v2" }.count >= 2)
        }
    }

    @Test(arguments: [SIGTERM, SIGKILL])
    func restartDuringRolloutKeepsHealthyPods(signal: Int32) throws {
        try withCluster { cluster in
            try cluster.apply(Self.manifest(version: "v1", replicas: 4, deadline: 120))
            try waitUntil("v1 is Available", timeout: 90) { try isAvailable(cluster, replicas: 4) }
            // v2's readiness waits ~4 s, so the rollout is surely in the middle when serve dies.
            var v2 = Self.manifest(version: "v2", replicas: 4, deadline: 120)
            v2 = v2.replacingOccurrences(of: "periodSeconds: 1", with: "periodSeconds: 1\n          initialDelaySeconds: 4")
            try cluster.apply(v2)
            // Stop serve once a v2 pod is Ready but the rollout is not finished.
            var v2Hash: String?
            try waitUntil("a v2 pod is Ready mid-rollout", timeout: 60) {
                let sets = try replicaSets(cluster)
                v2Hash = sets.first { $0.image.contains("echo v2") }?.hash
                let readyV2 = try pods(cluster).filter { $0.hash == v2Hash && $0.ready }.count
                return readyV2 >= 1 && readyV2 < 4
            }
            let healthy = try pods(cluster).filter { $0.ready && !$0.deleting }
            #expect(healthy.contains { $0.hash == v2Hash })
            var startTimes: [Int32: String] = [:]
            for pod in healthy {
                if let pid = pod.containerID.flatMap({ cluster.containerProcess(containerID: $0)?.pid }) {
                    startTimes[pid] = E2ECluster.startTime(pid: pid)
                }
            }
            #expect(startTimes.count == healthy.count)
            cluster.stopServe(signal: signal)
            for pid in startTimes.keys { #expect(kill(pid, 0) == 0, "container process \(pid) must outlive serve") }
            try cluster.startServe()
            usleep(1_000_000)
            let early = try pods(cluster)
            for pod in healthy {
                guard let now = early.first(where: { $0.name == pod.name }), !now.deleting else { continue }
                #expect(now.containerID == pod.containerID, "\(pod.name) got a new container right after the restart")
            }
            try waitUntil("the rollout continues to v2 after the restart", timeout: 120) {
                let live = try pods(cluster).filter { !$0.deleting }
                return try isAvailable(cluster, replicas: 4) && live.count == 4
                    && live.allSatisfy { $0.ip.flatMap { E2ECluster.httpGet($0) } == "v2" }
            }
            let after = try pods(cluster)
            for pod in healthy where pod.hash == v2Hash {
                let now = try #require(after.first { $0.name == pod.name }, "ready v2 pod \(pod.name) was deleted")
                #expect(now.containerID == pod.containerID, "\(pod.name) got a new container")
                #expect(now.restartCount == pod.restartCount, "\(pod.name) restarted")
            }
            // Container processes that still exist kept their start time (none was replaced in place).
            for (pid, time) in startTimes {
                guard let now = E2ECluster.startTime(pid: pid) else { continue }
                #expect(now == time, "process \(pid) was replaced")
            }
            let sets = try replicaSets(cluster)
            #expect(sets.filter { $0.image.contains("echo v1") }.map(\.replicas) == [0])
        }
    }
}
