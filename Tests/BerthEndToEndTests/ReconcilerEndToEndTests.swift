import Foundation
import Testing

/// The reconciler end to end, REAL parts only: `berth serve` as a
/// subprocess (orchestrator + Linux runtime, real containers, needs root),
/// a temp git repository, signed webhooks over HTTP, the CLI.
///
/// Skipped with the reason in `E2E.skipReason` until the runtime is wired
/// into `berth serve`.
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
    }

    func manifest(_ version: String, replicas: Int = 2) -> String {
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
              containers:
                - name: web
                  image: demo/web:\(version)
                  readinessProbe:
                    httpGet: { path: /ready.txt, port: 8080 }
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

    func commit(_ repo: String, _ version: String, replicas: Int = 2) throws -> String {
        try manifest(version, replicas: replicas).write(toFile: repo + "/deploy/app.yaml", atomically: true, encoding: .utf8)
        let env = ["GIT_AUTHOR_NAME": "E2E", "GIT_AUTHOR_EMAIL": "e2e@example.com", "GIT_COMMITTER_NAME": "E2E", "GIT_COMMITTER_EMAIL": "e2e@example.com"]
        try E2E.runSync("/usr/bin/git", ["-C", repo, "add", "-A"], environment: env)
        try E2E.runSync("/usr/bin/git", ["-C", repo, "commit", "-q", "-m", "web \(version)"], environment: env)
        return try E2E.runSync("/usr/bin/git", ["-C", repo, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func webhook(_ serve: ServeProcess, repo: String, ref: String = "refs/heads/main", secret: String? = nil, sha1Only: Bool = false) async throws -> (Int, String) {
        let body = Data(#"{"ref":"\#(ref)","repository":{"clone_url":"file://\#(repo)"}}"#.utf8)
        let signature = E2E.hmac(body, secret: secret ?? self.secret)
        var headers = ["Content-Type": "application/json", "X-GitHub-Event": "push"]
        if sha1Only { headers["X-Hub-Signature"] = "sha1=" + String(repeating: "0", count: 40) } else { headers["X-Hub-Signature-256"] = "sha256=" + signature }
        return try await serve.post("/hooks/github", body: body, headers: headers)
    }

    /// Running pods of app=web with `image`, none being deleted, and no other pods.
    func runningPods(_ serve: ServeProcess, image: String, count: Int) -> Bool {
        guard let list = serve.json(["get", "pods", "--selector", "app=web", "-o", "json"]) as? [String: Any],
              let items = list["items"] as? [[String: Any]] else { return false }
        let live = items.filter { (($0["metadata"] as? [String: Any])?["deletionTimestamp"]) == nil }
        let matching = live.filter { pod in
            let containers = ((pod["spec"] as? [String: Any])?["containers"] as? [[String: Any]]) ?? []
            let phase = (pod["status"] as? [String: Any])?["phase"] as? String
            return containers.first?["image"] as? String == image && phase == "Running"
        }
        return matching.count == count && live.count == count
    }

    func lastSync(_ serve: ServeProcess) -> [String: Any]? {
        (serve.json(["history", "e2e", "--limit", "1", "-o", "json"]) as? [[String: Any]])?.first
    }

    func lastResult(_ serve: ServeProcess) -> String? {
        guard let row = lastSync(serve), row["state"] as? String == "finished" else { return nil }
        return row["result"] as? String
    }

    @Test func pushToDeployRollbackDriftAndCrashes() async throws {
        let directory = NSTemporaryDirectory() + "berth-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/repo/deploy", withIntermediateDirectories: true)
        let repo = directory + "/repo"
        try E2E.runSync("/usr/bin/git", ["-C", repo, "init", "-q", "-b", "main"])
        try secret.write(toFile: directory + "/secret", atomically: true, encoding: .utf8)
        let serve = ServeProcess(directory: directory, port: try E2E.freePort(), arguments: [
            "--repo", "file://" + repo, "--ref", "main", "--path", "deploy", "--source-name", "e2e",
            "--interval", "5s", "--rollout-timeout", "60s", "--webhook-secret-file", directory + "/secret",
        ])
        defer {
            serve.stop()
            // Leave no containers behind: a server without the source deletes the app.
            let cleaner = ServeProcess(directory: directory, port: (try? E2E.freePort()) ?? serve.port + 1, arguments: [])
            if (try? cleaner.start()) != nil {
                for _ in 0..<60 where cleaner.cli(["get", "namespaces"]).status != 0 { usleep(500_000) }
                cleaner.cli(["delete", "deployment", "web"])
                for _ in 0..<120 {
                    let pods = cleaner.json(["get", "pods", "-o", "json"]) as? [String: Any]
                    if ((pods?["items"] as? [Any]) ?? []).isEmpty { break }
                    usleep(500_000)
                }
                cleaner.stop()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
        for (version, ready) in [("v1", true), ("v2", true), ("v3", false), ("v4", true)] {
            try buildImage(version, ready: ready, dataDir: directory + "/data", scratch: directory)
        }
        _ = try commit(repo, "v1")
        try serve.start()
        #expect(await eventually(30) { await serve.healthy() }, "server did not come up: \(serve.log)")

        // v1 deploys at start-up.
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v1", count: 2) }, "v1 not running")
        #expect(await eventually(30) { lastResult(serve) == "succeeded" })

        // v2 through a signed GitHub webhook.
        _ = try commit(repo, "v2")
        let (status, body) = try await webhook(serve, repo: repo)
        #expect(status == 202, "\(body)")
        #expect(body.contains("\"sync\""))
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v2", count: 2) }, "v2 not running")
        #expect(await eventually(30) { lastResult(serve) == "succeeded" })

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
        #expect(runningPods(serve, image: "demo/web:v2", count: 2))

        // v3: readiness never passes → automatic rollback to v2.
        let v3 = try commit(repo, "v3")
        #expect(try await webhook(serve, repo: repo).0 == 202)
        #expect(await eventually(180) { lastResult(serve) == "rolledBack" }, "no rollback: \(serve.log.suffix(3000))")
        let rolledBack = lastSync(serve)
        #expect((rolledBack?["commit"] as? [String: Any])?["sha"] as? String == v3)
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v2", count: 2) })
        let status3 = serve.json(["status", "-o", "json"]) as? [[String: Any]]
        #expect(status3?.first?["failedCommit"] as? String == v3)

        // v4: good again.
        _ = try commit(repo, "v4")
        #expect(try await webhook(serve, repo: repo).0 == 202)
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v4", count: 2) })
        #expect(await eventually(30) { lastResult(serve) == "succeeded" })

        // Drift: scale by hand → exit 1; sync → reverted → exit 0.
        #expect(serve.cli(["drift", "e2e"]).status == 0)
        #expect(serve.cli(["scale", "deployment", "web", "--replicas", "1"]).status == 0)
        let drift = serve.cli(["drift", "e2e"])
        #expect(drift.status == 1)
        #expect(drift.output.contains("replicas"))
        #expect(serve.cli(["sync", "e2e", "--wait"]).status == 0)
        #expect(await eventually(60) { serve.cli(["drift", "e2e"]).status == 0 })
        #expect(await eventually(120) { runningPods(serve, image: "demo/web:v4", count: 2) })

        // kill -9 mid-rollout (v1 again, 3 replicas): the restart converges, no duplicate pods.
        _ = try commit(repo, "v1", replicas: 3)
        #expect(try await webhook(serve, repo: repo).0 == 202)
        #expect(await eventually(60) { (lastSync(serve)?["state"] as? String) == "applied" })
        serve.kill9()
        try serve.start()
        #expect(await eventually(30) { await serve.healthy() })
        #expect(await eventually(180) { runningPods(serve, image: "demo/web:v1", count: 3) }, "did not converge after kill -9")
        #expect(await eventually(60) { lastResult(serve) == "succeeded" || lastResult(serve) == "noop" })
        let rows = serve.json(["history", "e2e", "--limit", "50", "-o", "json"]) as? [[String: Any]] ?? []
        #expect(rows.contains { $0["result"] as? String == "interrupted" })
        #expect(rows.allSatisfy { $0["state"] as? String == "finished" })

        // kill -9 mid-sync (before the apply finishes) converges the same way.
        _ = try commit(repo, "v2", replicas: 3)
        #expect(try await webhook(serve, repo: repo).0 == 202)
        serve.kill9()
        try serve.start()
        #expect(await eventually(30) { await serve.healthy() })
        #expect(await eventually(180) { runningPods(serve, image: "demo/web:v2", count: 3) })
        #expect(serve.cli(["drift", "e2e"]).status == 0)
    }
}
