import BerthAPI
import BerthGit
@testable import BerthReconciler
import BerthStore
import Foundation
import GRDB
import Testing

/// The sync loop against a real git repository (file://), a real SQLite
/// store and libgit2; Deployment status comes from `FakeRolloutController`
/// (the end-to-end tests run the real orchestrator and runtime).
@Suite(.serialized) struct SyncTests {
    @Test func deploysUpdatesAndRecordsHistory() async throws {
        try await SyncHarness.with { h in
            let first = try await h.sync(.startup)
            #expect(first.result == .succeeded, "\(first.events) \(first.reason ?? "")")
            #expect(first.plan == PlanSummary(creates: 4))
            #expect(first.commit?.message == "v1")
            #expect(first.commit?.author.contains("Ada") == true)
            #expect(first.rollouts.map(\.result) == [.available])
            #expect(try await h.image() == "demo/web:v1")
            let configMap = try #require(try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "web-config")))
            #expect(configMap.labels[WellKnown.sourceLabel] == "shop")

            // The same commit again: a no-op, compacted into one row.
            let again = try await h.sync(.timer)
            #expect(again.result == .noop)
            let third = try await h.sync(.timer)
            #expect(third.result == .noop && third.count == 2)
            #expect(try await h.reconciler.history(source: "shop", limit: 10).count == 2)

            // v2 with a Secret change: the history diff never holds the value.
            for (name, text) in AppManifests.files(version: "v2", password: "hunter2") { try h.repo.write(name, text) }
            let v2 = try h.repo.commit("v2")
            let update = try await h.sync()
            #expect(update.result == .succeeded)
            #expect(update.commit?.sha == v2)
            #expect(update.previousCommit == first.commit?.sha)
            #expect(update.plan == PlanSummary(updates: 2, unchanged: 2))
            let secretChange = try #require(update.changes.first { $0.object.contains("Secret") })
            let rendered = try String(decoding: JSONEncoder().encode(update), as: UTF8.self)
            #expect(!rendered.contains("hunter2") && !rendered.contains("s3cret"))
            #expect(!rendered.contains(Data("hunter2".utf8).base64EncodedString()))
            #expect(secretChange.fields.contains { $0.new?.contains("redacted") == true })
            #expect(try await h.image() == "demo/web:v2")
        }
    }

    @Test func failedRolloutRollsBackFromHistoryEvenWithGitDown() async throws {
        try await SyncHarness.with { h in
            let good = try await h.sync(.startup)
            #expect(good.result == .succeeded)
            for (name, text) in AppManifests.files(version: "broken", greeting: "broken") { try h.repo.write(name, text) }
            try h.repo.write("extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-v3\ndata: { a: b }\n")
            let bad = try h.repo.commit("v3 broken")
            // Hold the controller so that git can go away between apply and the verdict.
            await h.controller.pause(true)
            let id = try await h.reconciler.sync(source: "shop", trigger: .webhook)
            var applied = false
            for _ in 0..<300 where !applied {
                applied = try await h.image() == "demo/web:broken"
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(applied)
            try FileManager.default.moveItem(atPath: h.repo.path, toPath: h.repo.path + ".gone")
            await h.controller.pause(false)
            let record = try await h.waitFor(id)
            #expect(record.result == .rolledBack, "\(record.events)")
            #expect(record.rolledBackTo == good.commit?.sha)
            #expect(record.rolledBackToSync == good.id)
            #expect(record.reason?.contains("ProgressDeadlineExceeded") == true)
            #expect(record.rollouts.contains { $0.result == .failed && !$0.rollback })
            #expect(record.rollouts.contains { $0.result == .available && $0.rollback })
            #expect(try await h.image() == "demo/web:v1")
            let greeting = try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "web-config"))?.object["data"]?["greeting"]
            #expect(greeting == "hello")
            #expect(try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "only-in-v3")) == nil)
            let status = try await h.reconciler.status(source: "shop")
            #expect(status.failedCommit == bad)
            #expect(status.deployedCommit == good.commit?.sha)

            // Git back: the failed commit is not retried (the last good one is held) …
            try FileManager.default.moveItem(atPath: h.repo.path + ".gone", toPath: h.repo.path)
            let held = try await h.sync(.timer)
            #expect(held.result == .noop, "\(held.events)")
            #expect(try await h.image() == "demo/web:v1")
            // … until --force, which retries (and fails and rolls back again) …
            let forced = try await h.sync(.manual, force: true)
            #expect(forced.result == .rolledBack)
            // … or a newer commit, which deploys.
            for (name, text) in AppManifests.files(version: "v4") { try h.repo.write(name, text) }
            try h.repo.remove("extra.yaml")
            try h.repo.commit("v4")
            let fixed = try await h.sync(.webhook)
            #expect(fixed.result == .succeeded)
            #expect(try await h.image() == "demo/web:v4")
            #expect(try await h.reconciler.status(source: "shop").failedCommit == nil)
        }
    }

    @Test func firstFailureWithoutHistoryIsRecordedNotRolledBack() async throws {
        try await SyncHarness.with(rolloutTimeout: .seconds(10)) { h in
            for (name, text) in AppManifests.files(version: "broken") { try h.repo.write(name, text) }
            try h.repo.commit("broken from the start")
            let record = try await h.sync(.startup)
            #expect(record.result == .failed)
            #expect(record.reason?.contains("rollout failed") == true)
            #expect(record.reason?.contains("not rolled back: no earlier successful sync") == true, "\(record.reason ?? "")")
            #expect(record.rolledBackTo == nil)
            #expect(record.resultText.hasPrefix("failed: rollout failed"))
            let status = try await h.reconciler.status(source: "shop")
            #expect(status.failedCommit == record.commit?.sha)
        }
    }

    @Test func invalidManifestsApplyNothing() async throws {
        try await SyncHarness.with { h in
            try await h.sync(.startup)
            try h.repo.write("config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: changed\n")
            try h.repo.write("broken.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: many\n")
            try h.repo.commit("bad yaml")
            let record = try await h.sync()
            #expect(record.result == .failed)
            #expect(record.reason?.contains("invalid manifests") == true)
            #expect(record.warnings.contains { $0.contains("broken.yaml:") })
            let greeting = try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "web-config"))?.object["data"]?["greeting"]
            #expect(greeting == "hello")
        }
    }

    /// An admission check (in `berth serve`, the API's NodePort check) that
    /// refuses one object fails the whole sync with the manifest's file:line,
    /// and nothing of that commit is applied.
    @Test func admissionRefusalAppliesNothing() async throws {
        try await SyncHarness.with(admissionChecks: [RefuseGreeting(word: "forbidden")]) { h in
            let first = try await h.sync(.startup)
            #expect(first.result == .succeeded, "\(first.reason ?? "")")
            try h.repo.write("config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: forbidden\n")
            for (name, text) in AppManifests.files(version: "v2") where name != "config.yaml" { try h.repo.write(name, text) }
            try h.repo.commit("v2 with a refused ConfigMap")
            let record = try await h.sync()
            #expect(record.result == .failed)
            #expect(record.reason?.contains("refused by admission") == true, "\(record.reason ?? "")")
            #expect(record.reason?.contains("config.yaml:") == true, "\(record.reason ?? "")")
            #expect(record.reason?.contains("greeting may not be forbidden") == true)
            let greeting = try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "web-config"))?.object["data"]?["greeting"]
            #expect(greeting == "hello")
            #expect(try await h.image() == "demo/web:v1")
        }
    }

    @Test func prunesOnlyOwnedObjectsAndSelfHeals() async throws {
        try await SyncHarness.with { h in
            try await h.sync(.startup)
            // Made by hand: never pruned.
            try await h.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "by-hand"], "data": ["x": "y"]])
            try h.repo.remove("config.yaml")
            try h.repo.commit("drop the config map")
            let pruned = try await h.sync()
            #expect(pruned.plan?.deletes == 1)
            #expect(try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "web-config")) == nil)
            #expect(try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "by-hand")) != nil)

            // `berth scale` and a deleted Service: drift, reported, then reverted.
            var deployment = try #require(try await h.store.get(ResourceKind.deployment.key(namespace: "default", name: "web"))).object
            deployment["spec"]?["replicas"] = 5
            deployment["metadata"]?["resourceVersion"] = nil
            try await h.store.update(deployment)
            try await h.store.delete(ResourceKind.service.key(namespace: "default", name: "web"))
            let drift = try await h.reconciler.drift(source: "shop")
            #expect(drift.missing == [ResourceKind.service.key(namespace: "default", name: "web").description])
            #expect(drift.changed.count == 1)
            #expect(drift.changed.first?.diff.contains("-  replicas: 5") == true, "\(drift.changed.first?.diff ?? "")")
            #expect(drift.changed.first?.diff.contains("+  replicas: 2") == true)
            #expect(drift.extra.isEmpty)
            #expect(try await h.reconciler.status(source: "shop").driftCount == 2)
            let offline = try await h.reconciler.drift(source: "shop", offline: true)
            #expect(offline.count == 2 && offline.offline)

            let healed = try await h.sync(.timer)
            #expect(healed.result == .succeeded && healed.driftCorrected, "\(healed.events)")
            #expect(healed.plan == PlanSummary(creates: 1, updates: 1, unchanged: 1))
            #expect(try await h.reconciler.drift(source: "shop").hasDrift == false)
            #expect(try await h.reconciler.status(source: "shop").driftCount == 0)
        }
    }

    @Test func selfHealAndPruneCanBeOff() async throws {
        try await SyncHarness.with(prune: false, selfHeal: false) { h in
            try await h.sync(.startup)
            var deployment = try #require(try await h.store.get(ResourceKind.deployment.key(namespace: "default", name: "web"))).object
            deployment["spec"]?["replicas"] = 7
            deployment["metadata"]?["resourceVersion"] = nil
            try await h.store.update(deployment)
            let record = try await h.sync(.timer)
            #expect(record.result == .noop)
            #expect(record.warnings.contains { $0.contains("selfHeal: false") })
            #expect(try await h.store.get(ResourceKind.deployment.key(namespace: "default", name: "web"))?.object["spec"]?["replicas"] == 7)
            try h.repo.remove("config.yaml")
            try h.repo.commit("drop")
            let kept = try await h.sync()
            #expect(kept.warnings.contains { $0.contains("prune: false") })
            #expect(try await h.store.get(ResourceKind.configMap.key(namespace: "default", name: "web-config")) != nil)
        }
    }

    @Test func manualRollbackPinsUntilResume() async throws {
        try await SyncHarness.with { h in
            let v1 = try await h.sync(.startup)
            for (name, text) in AppManifests.files(version: "v2") { try h.repo.write(name, text) }
            try h.repo.commit("v2")
            try await h.sync()
            #expect(try await h.image() == "demo/web:v2")
            let (target, id) = try await h.reconciler.rollback(source: "shop", to: v1.commit.map { String($0.sha.prefix(8)) })
            #expect(target.id == v1.id)
            let pinned = try await h.waitFor(id)
            #expect(pinned.result == .succeeded, "\(pinned.events)")
            #expect(try await h.image() == "demo/web:v1")
            #expect(try await h.reconciler.status(source: "shop").pinned)
            let timer = try await h.sync(.timer)
            #expect(timer.result == .noop)
            #expect(try await h.image() == "demo/web:v1")
            let resumed = try await h.waitFor(try await h.reconciler.resume(source: "shop"))
            #expect(resumed.result == .succeeded)
            #expect(try await h.image() == "demo/web:v2")
            #expect(try await h.reconciler.status(source: "shop").pinned == false)
        }
    }

    @Test func webhooksQueueCollapseAndRefuse() async throws {
        try await SyncHarness.with { h in
            try await h.sync(.startup)
            let other = await h.signedWebhook(h.pushPayload(ref: "refs/heads/dev"))
            #expect(other.status == 202 && other.body["ignored"] != nil)
            let bad = await h.signedWebhook(h.pushPayload(), secret: "wrong")
            #expect(bad.status == 401)
            #expect(bad.body == ["error": "unauthorized"])
            let ping = await h.signedWebhook(["zen": "hi", "repository": ["clone_url": .string(h.repo.url)]], event: "ping")
            #expect(ping.status == 200)
            let unknown = await WebhookHandler(reconciler: h.reconciler).handle(provider: .github, headers: [:], body: Data("{}".utf8), sourceName: "nope")
            #expect(unknown.status == 404)

            // Two deliveries before the sync starts collapse into one sync id.
            for (name, text) in AppManifests.files(version: "v2") { try h.repo.write(name, text) }
            try h.repo.commit("v2")
            await h.controller.pause(true)
            let first = await h.signedWebhook(h.pushPayload())
            #expect(first.status == 202)
            let id = try #require(first.body["sync"]?.intValue)
            await h.controller.pause(false)
            let record = try await h.waitFor(Int64(id))
            #expect(record.result == .succeeded)
            #expect(record.triggers.contains(.webhook))
            let replay = await h.signedWebhook(h.pushPayload())
            #expect(replay.status == 202)
            let replayed = try await h.waitFor(Int64(try #require(replay.body["sync"]?.intValue)))
            #expect(replayed.result == .noop)
            let metrics = h.reconciler.metrics.render()
            #expect(metrics.contains("berth_webhook_requests_total{provider=\"github\",result=\"unauthorized\"} 1"), "\(metrics)")
            #expect(metrics.contains("berth_sync_total{source=\"shop\",result=\"succeeded\"} 2"))
        }
    }

    @Test func webhookWithoutSecretIsForbidden() async throws {
        try await SyncHarness.with(secret: nil) { h in
            let response = await h.signedWebhook(h.pushPayload())
            #expect(response.status == 403)
        }
    }

    @Test func interruptedSyncConvergesAfterRestart() async throws {
        try await SyncHarness.with { h in
            try await h.sync(.startup)
            // A row left `applied` as by kill -9 mid-rollout.
            let left = try await h.store.transaction { tx in
                var record = try HistoryStore.insert(tx.database, source: "shop", trigger: .webhook, forced: false)
                record.state = .applied
                record.objectSet = "whatever"
                try HistoryStore.save(tx.database, record)
                return record.id
            }
            let marked = try await h.store.transaction { tx in try HistoryStore.markInterrupted(tx.database) }
            #expect(marked.map(\.id) == [left])
            let next = try await h.sync(.startup)
            #expect(next.result == .succeeded || next.result == .noop, "\(next.events)")
            #expect(next.events.contains { $0.contains("interrupted") })
        }
    }

    @Test func retentionKeepsTheNewestRowsAndNeededObjects() async throws {
        let directory = NSTemporaryDirectory() + "berth-retention-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(dataDirectory: directory, options: Store.Options(extraMigrations: Reconciler.migrations))
        try await store.transaction { tx in
            let db = tx.database
            for index in 0..<12 {
                var record = try HistoryStore.insert(db, source: "s", trigger: .timer, forced: false)
                record.state = .finished
                record.result = index == 0 ? .succeeded : .failed
                if index == 0 {
                    record.objectSet = try HistoryStore.putObjectSet(db, [("h1", ["kind": "ConfigMap"])])
                }
                try HistoryStore.save(db, record)
            }
            _ = try HistoryStore.putObjectSet(db, [("h2", ["kind": "Secret"])])
            try HistoryStore.applyRetention(db, source: "s", retention: 5)
        }
        let (rows, blobs) = try await store.read { db in
            (try HistoryStore.records(db, source: "s", limit: 100), try String.fetchAll(db, sql: "SELECT hash FROM reconciler_blob"))
        }
        // 5 newest plus the last good one (needed for rollback).
        #expect(rows.count == 6)
        #expect(rows.last?.result == .succeeded)
        #expect(blobs == ["h1"])
    }

    @Test func objectSetMembersAreWrittenAsJSONEncoderWouldAndReadBack() throws {
        for members in [[], ["0a1b2c"], ["ff00", "abc123", "0"], ["not hex \"quoted\"", "ff"]] {
            let text = try HistoryStore.membersText(members)
            #expect(text == String(decoding: try JSONEncoder().encode(members), as: UTF8.self))
            #expect(try HistoryStore.decode([String].self, text) == members)
        }
    }

    /// `lastDeployed` reads the newest deployed row with `json_extract`; it
    /// must name the row `deployedRecords` (which decodes) puts first.
    @Test func lastDeployedHeadMatchesTheDecodedRows() async throws {
        let directory = NSTemporaryDirectory() + "berth-last-deployed-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(dataDirectory: directory, options: Store.Options(extraMigrations: Reconciler.migrations))
        @Sendable func row(_ db: Database, source: String = "s", result: SyncResult, sha: String, deployed: String? = nil, set: String?) throws {
            var record = try HistoryStore.insert(db, source: source, trigger: .timer, forced: false)
            record.state = .finished
            record.result = result
            record.commit = CommitInfo(sha: sha, author: "Ada", message: "m", time: Date(timeIntervalSince1970: 0))
            record.deployedCommit = deployed
            if let set { record.objectSet = try HistoryStore.putObjectSet(db, [(set, ["kind": .string(set)])]) }
            try HistoryStore.save(db, record)
        }
        let empty = try await store.read { db in try HistoryStore.lastDeployed(db, source: "s") }
        #expect(empty == nil)
        try await store.transaction { tx in
            let db = tx.database
            try row(db, result: .succeeded, sha: "aaa", set: "h1")
            try row(db, result: .succeeded, sha: "bbb", deployed: "ccc", set: "h2")   // held another commit
            try row(db, source: "other", result: .succeeded, sha: "ddd", set: "h3")
            try row(db, result: .failed, sha: "eee", set: "h4")
            try row(db, result: .noop, sha: "fff", set: nil)                          // applied nothing
        }
        let (head, decoded) = try await store.read { db in
            (try HistoryStore.lastDeployed(db, source: "s"), try HistoryStore.deployedRecords(db, source: "s", limit: 10).first)
        }
        let first = try #require(decoded)
        #expect(head == HistoryStore.DeployedHead(id: first.id, commit: "ccc", objectSet: try #require(first.objectSet)))
        #expect(first.commit?.sha == "bbb")
    }
}

/// Refuses ConfigMaps whose `greeting` is one word; a stand-in for the real
/// NodePort check, which the Services end-to-end tests drive through the API.
struct RefuseGreeting: AdmissionCheck {
    let word: String
    func admit(_ object: JSONValue, kind: ResourceKind) async throws {
        guard kind == .configMap, object["data"]?["greeting"] == .string(word) else { return }
        throw BerthError(.invalidArgument, "data.greeting may not be \(word)", object: "ConfigMap/web-config")
    }
}
