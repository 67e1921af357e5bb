import BerthAPI
import BerthGit
import BerthManifests
@testable import BerthReconciler
import Foundation
import Testing

@Suite struct ConfigTests {
    @Test func parsesEveryField() throws {
        let config = try ConfigLoader.parse("""
            sources:
              - name: shop
                url: https://git.example.com/shop.git
                ref: semver:^1.2
                path: deploy
                interval: 30s
                prune: false
                selfHeal: false
                namespace: shop
                rolloutTimeout: 2m
                failureThreshold: 5
                auth: { tokenFile: /etc/berth/token }
                webhook: { secretEnv: SHOP_HOOK }
              - name: infra
                url: git@git.example.com:ops/infra.git
                auth:
                  sshKey: /etc/berth/id_ed25519
                  knownHosts: /etc/berth/known_hosts
            registries:
              - host: docker.io
                mirrors: [ "127.0.0.1:5000" ]
                insecure: true
            history:
              retention: 50
            """, file: "berth.yaml")
        #expect(config.sources.map(\.name) == ["shop", "infra"])
        let shop = try #require(config.source(named: "shop"))
        #expect(shop.interval == .seconds(30))
        #expect(shop.rolloutTimeout == .seconds(120))
        #expect(!shop.prune && !shop.selfHeal)
        #expect(shop.failureThreshold == 5)
        #expect(shop.credentials == .token(.file("/etc/berth/token")))
        #expect(shop.webhookSecret == .environment("SHOP_HOOK"))
        let infra = try #require(config.source(named: "infra"))
        #expect(infra.prune && infra.selfHeal && infra.interval == .seconds(60) && infra.rolloutTimeout == .seconds(300))
        #expect(infra.credentials == .sshKey(privateKeyPath: "/etc/berth/id_ed25519", knownHostsPath: "/etc/berth/known_hosts"))
        #expect(infra.webhookSecret == nil)
        #expect(config.registries == [RegistryConfig(host: "docker.io", mirrors: ["127.0.0.1:5000"], insecure: true)])
        #expect(config.historyRetention == 50)
    }

    @Test(arguments: [
        ("sources:\n  - name: a\n    url: x\n    intervall: 1m\n", 4, "unknown field \"intervall\""),
        ("sources:\n  - name: a\n    url: x\n    interval: soon\n", 4, "interval must be a duration"),
        ("sources:\n  - name: a\n", 2, "needs a url"),
        ("sources:\n  - name: a\n    url: x\n  - name: a\n    url: y\n", 4, "defined twice"),
        ("sources:\n  - name: Bad_Name\n    url: x\n", 2, "not a valid name"),
        ("history:\n  retention: 0\n", 2, "retention must be an integer"),
        ("sources:\n  - name: a\n    url: x\n    auth: { sshKey: /k }\n", 4, "needs knownHosts"),
        ("sources: [\n", 2, "not valid YAML"),
    ])
    func errorsNameFileAndLine(text: String, line: Int, message: String) {
        do {
            _ = try ConfigLoader.parse(text, file: "/etc/berth.yaml")
            Issue.record("expected an error for \(text)")
        } catch let error as BerthError {
            #expect(error.location?.file == "/etc/berth.yaml")
            #expect(error.location?.line == line, "\(error)")
            #expect(error.description.contains(message), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test(arguments: ["berth.yaml", "berth-multi.yaml", "berth-ssh.yaml", "berth-webhooks.yaml"])
    func examplesParse(file: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ConfigLoader.load(path: root.appendingPathComponent("examples/" + file).path)
        #expect(!config.sources.isEmpty)
    }

    @Test func durations() {
        #expect(DurationText.parse("1m") == .seconds(60))
        #expect(DurationText.parse("1h30m") == .seconds(5400))
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("45") == .seconds(45))
        #expect(DurationText.parse("5x") == nil)
        #expect(DurationText.parse("m") == nil)
        #expect(DurationText.format(.seconds(300)) == "5m")
    }
}

@Suite struct WebhookSignatureTests {
    // GitHub's documented example (docs.github.com, "Validating webhook deliveries").
    let secret = "It's a Secret to Everybody"
    let body = Data("Hello, World!".utf8)
    let expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    @Test func hmacMatchesGitHubsExample() {
        #expect(WebhookSignature.hmacSHA256Hex(secret: secret, body: body) == expected)
        #expect(WebhookSignature.verify(provider: .github, headers: ["x-hub-signature-256": "sha256=" + expected], body: body, secret: secret))
        #expect(WebhookSignature.verify(provider: .github, headers: ["x-hub-signature-256": "sha256=" + expected.uppercased()], body: body, secret: secret))
    }

    @Test func refusesWrongOrMissingSignatures() {
        var wrong = Array(expected)
        wrong[wrong.count - 1] = wrong.last == "0" ? "1" : "0"
        #expect(!WebhookSignature.verify(provider: .github, headers: ["x-hub-signature-256": "sha256=" + String(wrong)], body: body, secret: secret))
        #expect(!WebhookSignature.verify(provider: .github, headers: ["x-hub-signature-256": expected], body: body, secret: secret))
        #expect(!WebhookSignature.verify(provider: .github, headers: ["x-hub-signature-256": "sha256=" + expected], body: Data("Hello, World?".utf8), secret: secret))
        #expect(!WebhookSignature.verify(provider: .github, headers: ["x-hub-signature-256": "sha256=" + expected], body: body, secret: secret + "x"))
        #expect(!WebhookSignature.verify(provider: .github, headers: [:], body: body, secret: secret))
    }

    @Test func sha1OnlyIsRefused() {
        // A correct SHA-1 signature (X-Hub-Signature) is not enough.
        let sha1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"
        #expect(!WebhookSignature.verify(provider: .github, headers: ["x-hub-signature": sha1], body: body, secret: secret))
    }

    @Test func otherProviders() {
        #expect(WebhookSignature.verify(provider: .gitea, headers: ["x-gitea-signature": expected], body: body, secret: secret))
        #expect(!WebhookSignature.verify(provider: .gitea, headers: ["x-gitea-signature": "sha256=" + expected + "0"], body: body, secret: secret))
        #expect(WebhookSignature.verify(provider: .gitlab, headers: ["x-gitlab-token": secret], body: body, secret: secret))
        #expect(!WebhookSignature.verify(provider: .gitlab, headers: ["x-gitlab-token": secret + " "], body: body, secret: secret))
        #expect(WebhookSignature.verify(provider: .generic, headers: ["x-signature": "sha256=" + expected], body: body, secret: secret))
        #expect(WebhookSignature.verify(provider: .generic, headers: ["authorization": "Bearer " + secret], body: body, secret: secret))
        #expect(!WebhookSignature.verify(provider: .generic, headers: ["authorization": "Bearer nope"], body: body, secret: secret))
    }

    @Test func constantTimeCompareLooksAtEveryByte() {
        #expect(WebhookSignature.constantTimeEquals("abc", "abc"))
        #expect(!WebhookSignature.constantTimeEquals("abc", "abd"))
        #expect(!WebhookSignature.constantTimeEquals("abc", "xbc"))
        #expect(!WebhookSignature.constantTimeEquals("abc", "abcd"))
        // Timing: a guess wrong in the first byte and one wrong in the last
        // take the same work. Measured over many rounds; a short-circuiting
        // compare differs by the whole length (4 KiB here).
        let secret = [UInt8](repeating: 0x61, count: 4096)
        var early = secret; early[0] = 0x62
        var late = secret; late[4095] = 0x62
        func time(_ guess: [UInt8]) -> Duration {
            let clock = ContinuousClock()
            var best = Duration.seconds(1)
            for _ in 0..<30 {
                let elapsed = clock.measure { for _ in 0..<20 { _ = WebhookSignature.constantTimeEquals(secret, guess) } }
                best = min(best, elapsed)
            }
            return best
        }
        let a = time(early), b = time(late)
        let ratio = Double(a.components.attoseconds + a.components.seconds * 1_000_000_000_000_000_000)
            / Double(max(1, b.components.attoseconds + b.components.seconds * 1_000_000_000_000_000_000))
        #expect(ratio > 0.33 && ratio < 3, "early \(a) vs late \(b)")
    }
}

@Suite struct PolicyTests {
    func record(_ id: Int64, _ result: SyncResult, commit: String, set: String? = "set") -> SyncRecord {
        var record = SyncRecord(id: id, source: "s", trigger: .timer, forced: false, queued: Date())
        record.state = .finished
        record.result = result
        record.commit = CommitInfo(sha: commit, author: "a", message: "m", time: Date())
        record.deployedCommit = commit
        record.objectSet = set
        return record
    }

    @Test func triggersCollapse() {
        var queue = TriggerQueue()
        #expect(queue.join(.webhook, force: false) == nil)
        queue.open(id: 7, trigger: .webhook, force: false)
        #expect(queue.join(.timer, force: false) == 7)
        #expect(queue.join(.webhook, force: true) == 7)
        let pending = queue.take()
        #expect(pending == TriggerQueue.Pending(id: 7, triggers: [.webhook, .timer], force: true))
        #expect(queue.isEmpty)
        #expect(queue.join(.manual, force: false) == nil)
    }

    @Test func rollbackSkipsTheFailingCommit() {
        let deployed = [record(5, .noop, commit: "bbbb"), record(4, .succeeded, commit: "bbbb"), record(2, .succeeded, commit: "aaaa")]
        #expect(RollbackPolicy.target(deployed: deployed, failing: "cccc")?.id == 5)
        #expect(RollbackPolicy.target(deployed: deployed, failing: "bbbb")?.id == 2)
        #expect(RollbackPolicy.target(deployed: deployed, failing: "aaaa")?.id == 5)
        #expect(RollbackPolicy.target(deployed: [record(1, .succeeded, commit: "aaaa")], failing: "aaaa") == nil)
        #expect(RollbackPolicy.target(deployed: [record(1, .succeeded, commit: "aaaa", set: nil)], failing: "bbbb") == nil)
        #expect(RollbackPolicy.target(deployed: [record(1, .failed, commit: "aaaa")], failing: "bbbb") == nil)
    }

    @Test func manualRollbackByIdOrCommit() {
        let deployed = [record(9, .succeeded, commit: "cafe1234"), record(4, .succeeded, commit: "beef5678")]
        #expect(RollbackPolicy.manualTarget(deployed: deployed, to: "4", current: nil)?.id == 4)
        #expect(RollbackPolicy.manualTarget(deployed: deployed, to: "beef", current: nil)?.id == 4)
        #expect(RollbackPolicy.manualTarget(deployed: deployed, to: "bee", current: nil) == nil)
        #expect(RollbackPolicy.manualTarget(deployed: deployed, to: nil, current: "cafe1234")?.id == 4)
    }

    @Test func noopCompaction() {
        var previous = record(3, .noop, commit: "aaaa")
        previous.count = 4
        var current = record(4, .noop, commit: "aaaa")
        current.triggers = [.webhook]
        #expect(Compaction.canMerge(previous: previous, into: current))
        Compaction.merge(previous: previous, into: &current)
        #expect(current.count == 5)
        #expect(current.triggers == [.timer, .webhook])
        #expect(!Compaction.canMerge(previous: record(3, .noop, commit: "bbbb"), into: record(4, .noop, commit: "aaaa")))
        #expect(!Compaction.canMerge(previous: record(3, .succeeded, commit: "aaaa"), into: record(4, .noop, commit: "aaaa")))
    }

    @Test func refMatching() {
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "main", pushedRef: "refs/heads/main") == nil)
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "main", pushedRef: "refs/heads/dev") != nil)
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "branch:main", pushedRef: "refs/tags/main") != nil)
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "tag:v1", pushedRef: "refs/tags/v1") == nil)
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "semver:^1.0", pushedRef: "refs/tags/v1.2.0") == nil)
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "semver:^1.0", pushedRef: "refs/heads/main") != nil)
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "commit:abcdef0", pushedRef: "refs/heads/main") != nil)
        #expect(WebhookRefMatch.ignoreReason(sourceRef: "HEAD", pushedRef: "refs/heads/anything") == nil)
    }

    @Test func repositoryURLs() {
        let forms = ["https://GitHub.com/acme/shop.git", "https://github.com/acme/shop", "git@github.com:acme/shop.git",
                     "ssh://git@github.com:22/acme/shop.git", "https://user@github.com/acme/shop/"]
        #expect(Set(forms.map(RepositoryURL.normalize)).count == 1, "\(forms.map(RepositoryURL.normalize))")
        #expect(RepositoryURL.normalize("https://github.com/acme/shop") != RepositoryURL.normalize("https://github.com/acme/shopping"))
        #expect(RepositoryURL.normalize("file:///srv/git/app.git") == RepositoryURL.normalize("/srv/git/app"))
    }

    @Test func unifiedDiff() {
        let diff = UnifiedDiff.make(old: "a\nb\nc\nd\n", new: "a\nb\nC\nd\n", oldName: "live", newName: "git")
        #expect(diff.contains("--- live\n+++ git\n"))
        #expect(diff.contains("-c\n+C\n"))
        #expect(diff.contains("@@ -1,5 +1,5 @@"))
        #expect(UnifiedDiff.make(old: "x\n", new: "x\n", oldName: "a", newName: "b").isEmpty)
    }

    @Test func rolloutVerdict() {
        func deployment(_ replicas: Int, observed: Int, updated: Int, available: Int, total: Int) -> JSONValue {
            ["spec": ["replicas": .int(replicas)],
             "status": ["observedGeneration": .int(observed), "updatedReplicas": .int(updated), "availableReplicas": .int(available),
                        "replicas": .int(total), "conditions": [["type": "Available", "status": "True"]]]]
        }
        #expect(RolloutWatcher.verdict(deployment: deployment(3, observed: 2, updated: 3, available: 3, total: 3), generation: 2) == .available)
        #expect(RolloutWatcher.verdict(deployment: deployment(3, observed: 1, updated: 3, available: 3, total: 3), generation: 2) == .progressing)
        #expect(RolloutWatcher.verdict(deployment: deployment(3, observed: 2, updated: 2, available: 3, total: 4), generation: 2) == .progressing)
        #expect(RolloutWatcher.verdict(deployment: deployment(3, observed: 2, updated: 3, available: 3, total: 4), generation: 2) == .progressing)
        #expect(RolloutWatcher.verdict(deployment: deployment(0, observed: 2, updated: 0, available: 0, total: 0), generation: 2) == .available)
    }

    /// A new pod that stays unready counts as failed once its readiness
    /// probe had `threshold` chances; a pod in its initial delay, a ready
    /// pod and a pod without a probe never do.
    @Test func readinessFailuresOfNewPods() throws {
        let started = try #require(RolloutWatcher.parseTime("2026-01-01T00:00:00Z"))
        func pod(ready: Bool = false, delay: Int = 0, period: Int = 1, probeThreshold: Int? = nil, probe: Bool = true,
                 turned: String = "2026-01-01T00:00:00Z") -> JSONValue {
            var readiness: [String: JSONValue] = ["httpGet": ["path": "/ready", "port": 8080], "periodSeconds": .int(period),
                                                  "initialDelaySeconds": .int(delay)]
            if let probeThreshold { readiness["failureThreshold"] = .int(probeThreshold) }
            var container: [String: JSONValue] = ["name": "web", "image": "web:v3"]
            if probe { container["readinessProbe"] = .object(readiness) }
            return ["spec": ["containers": [.object(container)]],
                    "status": ["phase": "Running",
                               "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False"), "lastTransitionTime": .string(turned)]],
                               "containerStatuses": [["name": "web", "ready": .bool(ready), "restartCount": 0,
                                                      "state": ["running": ["startedAt": "2026-01-01T00:00:00Z"]]]]]]
        }
        func suspect(_ pod: JSONValue, after seconds: Double, threshold: Int = 3) -> RolloutWatcher.ReadinessSuspect? {
            RolloutWatcher.readinessSuspect(pod: pod, now: started.addingTimeInterval(seconds), failureThreshold: threshold)
        }
        #expect(suspect(pod(), after: 2) == nil)
        #expect(suspect(pod(), after: 3.5) == .init(container: "web", failures: 3, threshold: 3))
        #expect(suspect(pod(), after: 3.5, threshold: 5) == nil)
        #expect(suspect(pod(probeThreshold: 6), after: 5) == nil)
        #expect(suspect(pod(probeThreshold: 6), after: 6)?.threshold == 6)
        #expect(suspect(pod(delay: 10), after: 12) == nil)
        #expect(suspect(pod(delay: 10), after: 13.1)?.failures == 3)
        #expect(suspect(pod(period: 10), after: 29) == nil)
        #expect(suspect(pod(ready: true), after: 100) == nil)
        #expect(suspect(pod(probe: false), after: 100) == nil)
        // Ready once, unready since 00:01:00: counted from the turn.
        #expect(suspect(pod(turned: "2026-01-01T00:01:00Z"), after: 61) == nil)
        #expect(suspect(pod(turned: "2026-01-01T00:01:00Z"), after: 63)?.failures == 3)
    }

    @Test func restartsOfNewPods() {
        func pod(restarts: Int, waiting: String? = nil) -> JSONValue {
            var state: JSONValue = ["running": ["startedAt": "2026-01-01T00:00:00Z"]]
            if let waiting { state = ["waiting": ["reason": .string(waiting)]] }
            return ["status": ["containerStatuses": [["name": "web", "restartCount": .int(restarts), "state": state]]]]
        }
        #expect(RolloutWatcher.restartFailure(pod: pod(restarts: 2), name: "p", failureThreshold: 3) == nil)
        #expect(RolloutWatcher.restartFailure(pod: pod(restarts: 3), name: "p", failureThreshold: 3)?.contains("restarted 3 times") == true)
        #expect(RolloutWatcher.restartFailure(pod: pod(restarts: 1, waiting: "CrashLoopBackOff"), name: "p", failureThreshold: 3)?.contains("CrashLoopBackOff") == true)
        #expect(RolloutWatcher.restartFailure(pod: pod(restarts: 0, waiting: "ContainerCreating"), name: "p", failureThreshold: 3) == nil)
    }
}
