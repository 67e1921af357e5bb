import BerthTestSupport
import Foundation
import Testing

/// The reconciler end to end, REAL parts only: `berth serve` as a
/// subprocess (orchestrator + Linux runtime, real containers, needs root)
/// on its own bridge/CIDRs/nft tables, a temp file:// git repository,
/// signed webhooks over HTTP, the CLI, and requests to the Service's
/// ClusterIP from the node during the whole push → rollback → fix episode.
@Suite(.serialized, .enabled(if: E2E.enabled, Comment(rawValue: E2E.skipReason ?? "")))
struct ReconcilerEndToEndTests {
    let secret = "e2e-webhook-secret"

    /// Builds demo/web:vN images: busybox httpd; `ready` false → no /ready.txt (readiness never passes).
    func buildImage(_ version: String, ready: Bool, dataDir: String, scratch: String) throws {
        let rootfs = scratch + "/img-" + version
        try E2E.runSync("/bin/bash", [E2E.repositoryRoot + "/scripts/build-test-image.sh", rootfs, "--rootfs-only"])
        try FileManager.default.createDirectory(atPath: rootfs + "/srv/www", withIntermediateDirectories: true)
        try "web \(version)\n".write(toFile: rootfs + "/srv/www/index.html", atomically: true, encoding: .utf8)
        if ready { try "ok\n".write(toFile: rootfs + "/srv/www/ready.txt", atomically: true, encoding: .utf8) }
        try E2E.runSync(E2E.berth, ["image", "import", "--data-dir", dataDir, rootfs, "--tag", "demo/web:\(version)",
                                    "--cmd", #"["busybox","httpd","-f","-p","8080","-h","/srv/www"]"#])
        try? FileManager.default.removeItem(atPath: rootfs)
    }

    /// The app: a ConfigMap, a Deployment of busybox httpd with a readiness
    /// probe (`readyDelay` stretches each pod's start so a rollout lasts a
    /// while), and a Service in front of it.
    func manifest(_ version: String, replicas: Int = 3, readyDelay: Int = 0) -> String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: { name: web-config }
        data: { version: "\(version)" }
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: { name: web }
        spec:
          replicas: \(replicas)
          progressDeadlineSeconds: 20
          selector: { matchLabels: { app: web } }
          template:
            metadata: { labels: { app: web } }
            spec:
              terminationGracePeriodSeconds: 2
              containers:
                - name: web
                  image: demo/web:\(version)
                  envFrom: [ { configMapRef: { name: web-config } } ]
                  readinessProbe:
                    httpGet: { path: /ready.txt, port: 8080 }
                    initialDelaySeconds: \(readyDelay)
                    periodSeconds: 1
        ---
        apiVersion: v1
        kind: Service
        metadata: { name: web }
        spec:
          selector: { app: web }
          ports: [ { port: 80, targetPort: 8080 } ]
        """
    }

    func commit(_ repo: String, _ version: String, replicas: Int = 3, readyDelay: Int = 0) throws -> String {
        try manifest(version, replicas: replicas, readyDelay: readyDelay).write(toFile: repo + "/deploy/app.yaml", atomically: true, encoding: .utf8)
        let env = ["GIT_AUTHOR_NAME": "E2E", "GIT_AUTHOR_EMAIL": "e2e@example.com", "GIT_COMMITTER_NAME": "E2E", "GIT_COMMITTER_EMAIL": "e2e@example.com"]
        try E2E.runSync("/usr/bin/git", ["-C", repo, "add", "-A"], environment: env)
        try E2E.runSync("/usr/bin/git", ["-C", repo, "commit", "-q", "--allow-empty", "-m", "web \(version)"], environment: env)
        return try E2E.runSync("/usr/bin/git", ["-C", repo, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func webhook(_ serve: ServeProcess, repo: String, ref: String = "refs/heads/main", secret: String? = nil, sha1Only: Bool = false) async throws -> (Int, String) {
        let body = Data(#"{"ref":"\#(ref)","repository":{"clone_url":"file://\#(repo)"}}"#.utf8)
        let signature = E2E.hmac(body, secret: secret ?? self.secret)
        var headers = ["Content-Type": "application/json", "X-GitHub-Event": "push"]
        if sha1Only { headers["X-Hub-Signature"] = "sha1=" + String(repeating: "0", count: 40) } else { headers["X-Hub-Signature-256"] = "sha256=" + signature }
        return try await serve.post("/hooks/github", body: body, headers: headers)
    }

    struct PodState: Equatable {
        var image: String?
        var phase: String?
        var ready: Bool
        var containerID: String?
        var restarts: Int
        var deleting: Bool
    }

    /// Pods of app=web by name.
    func pods(_ serve: ServeProcess) -> [String: PodState]? {
        guard let list = serve.json(["get", "pods", "--selector", "app=web", "-o", "json"]) as? [String: Any],
              let items = list["items"] as? [[String: Any]] else { return nil }
        var result: [String: PodState] = [:]
        for pod in items {
            let metadata = pod["metadata"] as? [String: Any] ?? [:]
            guard let name = metadata["name"] as? String else { continue }
            let status = pod["status"] as? [String: Any] ?? [:]
            let container = (status["containerStatuses"] as? [[String: Any]])?.first ?? [:]
            let containers = ((pod["spec"] as? [String: Any])?["containers"] as? [[String: Any]]) ?? []
            result[name] = PodState(
                image: containers.first?["image"] as? String, phase: status["phase"] as? String,
                ready: container["ready"] as? Bool ?? false, containerID: container["containerID"] as? String,
                restarts: container["restartCount"] as? Int ?? 0, deleting: metadata["deletionTimestamp"] != nil)
        }
        return result
    }

    /// Exactly `count` pods of app=web, all running `image` and ready, none being deleted.
    func runningPods(_ serve: ServeProcess, image: String, count: Int) -> Bool {
        guard let pods = pods(serve) else { return false }
        return pods.count == count && pods.values.allSatisfy { $0.image == image && $0.phase == "Running" && $0.ready && !$0.deleting }
    }

    func history(_ serve: ServeProcess, limit: Int = 100) -> [[String: Any]] {
        serve.json(["history", "e2e", "--limit", String(limit), "-o", "json"]) as? [[String: Any]] ?? []
    }

    func lastSync(_ serve: ServeProcess) -> [String: Any]? { history(serve, limit: 1).first }

    func lastResult(_ serve: ServeProcess) -> String? {
        guard let row = lastSync(serve), row["state"] as? String == "finished" else { return nil }
        return row["result"] as? String
    }

    /// The newest finished row that deployed or tried `sha` with something other than a no-op
    /// (timer syncs of the same commit follow as no-ops).
    func row(_ serve: ServeProcess, commit sha: String) -> [String: Any]? {
        history(serve).first {
            ($0["commit"] as? [String: Any])?["sha"] as? String == sha && $0["state"] as? String == "finished" && $0["result"] as? String != "noop"
        }
    }

    func result(_ serve: ServeProcess, commit sha: String) -> String? { row(serve, commit: sha)?["result"] as? String }

    /// Sync rows newer than `id`.
    func rows(_ serve: ServeProcess, after id: Int) -> [[String: Any]] {
        history(serve).filter { ($0["id"] as? Int ?? 0) > id }
    }

    func lastID(_ serve: ServeProcess) -> Int { lastSync(serve)?["id"] as? Int ?? 0 }

    @Test func pushToDeployRollbackDriftAndCrashes() async throws {
        let directory = NSTemporaryDirectory() + "berth-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/repo/deploy", withIntermediateDirectories: true)
        let repo = directory + "/repo"
        try E2E.runSync("/usr/bin/git", ["-C", repo, "init", "-q", "-b", "main"])
        try secret.write(toFile: directory + "/secret", atomically: true, encoding: .utf8)
        let serve = try ServeProcess(directory: directory, arguments: [
            "--repo", "file://" + repo, "--ref", "main", "--path", "deploy", "--source-name", "e2e",
            "--interval", "10m", "--rollout-timeout", "60s", "--webhook-secret-file", directory + "/secret",
        ])
        defer {
            serve.destroy()
            if ProcessInfo.processInfo.environment["BERTH_E2E_KEEP"] != "1" { try? FileManager.default.removeItem(atPath: directory) }
        }
        for (version, ready) in [("v1", true), ("v2", true), ("v3", false), ("v4", true)] {
            try buildImage(version, ready: ready, dataDir: directory + "/data", scratch: directory)
        }
        let v1 = try commit(repo, "v1")
        try serve.start()
        try #require(await eventually(30) { await serve.healthy() }, "server did not come up: \(serve.log)")

        // v1 deploys at start-up.
        try #require(await eventually(120) { runningPods(serve, image: "demo/web:v1", count: 3) }, "v1 not running: \(serve.log.suffix(3000))")
        #expect(await eventually(30) { result(serve, commit: v1) == "succeeded" })

        // From here to v4, the Service must answer every request.
        let service = serve.json(["get", "service", "web", "-o", "json"]) as? [String: Any]
        let clusterIP = try #require((service?["spec"] as? [String: Any])?["clusterIP"] as? String)
        let requests = RequestLoop(url: "http://\(clusterIP)/")
        requests.start()
        defer { _ = requests.stop() }
        #expect(await eventually(20) { requests.snapshot.contains { $0.body == "web v1" } }, "the ClusterIP never answered: \(requests.snapshot.suffix(3))")

        // v2 through a signed GitHub webhook.
        let v2 = try commit(repo, "v2")
        let (status, body) = try await webhook(serve, repo: repo)
        #expect(status == 202, "\(body)")
        #expect(body.contains("\"sync\""))
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v2", count: 3) }, "v2 not running")
        #expect(await eventually(30) { result(serve, commit: v2) == "succeeded" })

        // Refusals, and a replay that changes nothing.
        #expect(try await webhook(serve, repo: repo, secret: "wrong").0 == 401)
        #expect(try await webhook(serve, repo: repo, sha1Only: true).0 == 401)
        let big = try await serve.post("/hooks/github?source=e2e", body: Data(repeating: 0x20, count: 2 << 20), headers: ["X-GitHub-Event": "push"])
        #expect(big.0 == 413)
        let other = try await webhook(serve, repo: repo, ref: "refs/heads/feature")
        #expect(other.0 == 202 && other.1.contains("ignored"))
        let replay = try await webhook(serve, repo: repo)
        #expect(replay.0 == 202)
        #expect(await eventually(30) { lastResult(serve) == "noop" })
        #expect(runningPods(serve, image: "demo/web:v2", count: 3))

        // v3: readiness never passes → automatic rollback to v2.
        let v3 = try commit(repo, "v3")
        #expect(try await webhook(serve, repo: repo).0 == 202)
        #expect(await eventually(180) { result(serve, commit: v3) == "rolledBack" }, "no rollback: \(serve.log.suffix(3000))")
        let rolledBack = row(serve, commit: v3)
        #expect(rolledBack?["rolledBackTo"] as? String == v2)
        #expect((rolledBack?["reason"] as? String ?? "").contains("rollout failed"), "\(rolledBack ?? [:])")
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v2", count: 3) })
        let status3 = serve.json(["status", "-o", "json"]) as? [[String: Any]]
        #expect(status3?.first?["failedCommit"] as? String == v3)
        let shown = serve.cli(["history", "e2e"]).output
        #expect(shown.contains("rolled back"), "\(shown)")

        // v4: good again.
        let v4 = try commit(repo, "v4")
        #expect(try await webhook(serve, repo: repo).0 == 202)
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v4", count: 3) })
        #expect(await eventually(30) { result(serve, commit: v4) == "succeeded" })
        #expect(await eventually(20) { requests.snapshot.last?.body == "web v4" })
        let answers = requests.stop()
        let failures = answers.filter { $0.error != nil }
        let bodies = Set(answers.compactMap(\.body))
        #expect(answers.count >= 50, "only \(answers.count) requests were sent")
        #expect(failures.isEmpty, "\(failures.count) of \(answers.count) requests failed: \(failures.prefix(5).map { "\($0.at): \($0.error ?? "")" })")
        #expect(bodies == ["web v1", "web v2", "web v4"], "answers: \(bodies)")
        print("e2e: \(answers.count) requests to the ClusterIP during v1→v2→v3(rolled back)→v4, \(failures.count) failed")

        // Drift: scale by hand → exit 1 with the diff; the next sync reverts it → exit 0.
        #expect(serve.cli(["drift", "e2e"]).status == 0)
        #expect(serve.cli(["scale", "deployment", "web", "--replicas", "1"]).status == 0)
        let drift = serve.cli(["drift", "e2e"])
        #expect(drift.status == 1)
        #expect(drift.output.contains("replicas"), "\(drift.output)")
        #expect(serve.cli(["sync", "e2e", "--wait"]).status == 0)
        #expect(await eventually(60) { serve.cli(["drift", "e2e"]).status == 0 })
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v4", count: 3) })
        #expect(history(serve, limit: 3).contains { $0["driftCorrected"] as? Bool == true }, "\(history(serve, limit: 3))")

        // kill -9 while idle: the restart restarts no healthy pod.
        let idle = try #require(pods(serve))
        serve.kill9()
        try serve.start()
        #expect(await eventually(30) { await serve.healthy() })
        try? await Task.sleep(for: .seconds(8))
        #expect(pods(serve) == idle, "pods changed across an idle restart: \(idle) → \(pods(serve) ?? [:])")

        // kill -9 mid-rollout (v1 again, pods slow to get ready): the restart converges, no duplicate pods.
        let beforeRollout = lastID(serve)
        _ = try commit(repo, "v1", readyDelay: 3)
        #expect(try await webhook(serve, repo: repo).0 == 202)
        #expect(await eventually(60) { rows(serve, after: beforeRollout).contains { $0["state"] as? String == "applied" } })
        let midRollout = pods(serve) ?? [:]
        serve.kill9()
        try serve.start()
        #expect(await eventually(30) { await serve.healthy() })
        let afterRestart = pods(serve) ?? [:]
        for (name, pod) in afterRestart where !pod.deleting {
            if let before = midRollout[name], before.ready { #expect(pod.containerID == before.containerID && pod.restarts == before.restarts, "\(name) restarted") }
        }
        #expect(await eventually(180) { runningPods(serve, image: "demo/web:v1", count: 3) }, "did not converge after kill -9: \(pods(serve) ?? [:])")
        #expect(await eventually(60) { ["succeeded", "noop"].contains(lastResult(serve) ?? "") })
        let rolloutRows = rows(serve, after: beforeRollout)
        #expect(rolloutRows.contains { $0["result"] as? String == "interrupted" }, "\(rolloutRows)")
        #expect(rolloutRows.allSatisfy { $0["state"] as? String == "finished" })

        // kill -9 mid-sync (right after the webhook) converges the same way.
        let beforeSync = lastID(serve)
        _ = try commit(repo, "v2", readyDelay: 1)
        #expect(try await webhook(serve, repo: repo).0 == 202)
        serve.kill9()
        try serve.start()
        #expect(await eventually(30) { await serve.healthy() })
        #expect(await eventually(180) { runningPods(serve, image: "demo/web:v2", count: 3) }, "\(pods(serve) ?? [:])")
        #expect(await eventually(60) { ["succeeded", "noop"].contains(lastResult(serve) ?? "") })
        #expect(rows(serve, after: beforeSync).allSatisfy { $0["state"] as? String == "finished" })
        #expect(serve.cli(["drift", "e2e"]).status == 0)
    }
}
