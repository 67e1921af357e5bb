import BerthAPI
import Foundation
import GRDB
import Testing

@testable import BerthStore

func configMap(_ name: String, namespace: String? = "default", data: [String: String] = [:], labels: [String: String]? = nil) -> JSONValue {
    var meta: [String: JSONValue] = ["name": .string(name)]
    if let namespace { meta["namespace"] = .string(namespace) }
    if let labels { meta["labels"] = .object(labels.mapValues(JSONValue.string)) }
    return .object([
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": .object(meta),
        "data": .object(data.mapValues(JSONValue.string)),
    ])
}

func deploymentTree(_ name: String, replicas: Int = 1, image: String = "busybox") -> JSONValue {
    .object([
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": .object(["name": .string(name), "namespace": "default", "labels": .object(["app": .string(name)])]),
        "spec": .object([
            "replicas": .int(replicas),
            "selector": .object(["matchLabels": .object(["app": .string(name)])]),
            "template": .object([
                "metadata": .object(["labels": .object(["app": .string(name)])]),
                "spec": .object(["containers": .array([.object(["name": "main", "image": .string(image)])])]),
            ]),
        ]),
    ])
}

@Suite struct StoreCRUDTests {
    @Test func createGetListUpdateDelete() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)

        let created = try await store.create(configMap("web", data: ["a": "1"], labels: ["app": "web"]))
        #expect(created.generation == 1)
        #expect(created.object["metadata"]?["uid"]?.stringValue == created.uid)
        #expect(created.object["metadata"]?["resourceVersion"]?.stringValue == String(created.resourceVersion))
        #expect(created.object["metadata"]?["creationTimestamp"]?.stringValue?.hasSuffix("Z") == true)

        let key = ResourceKind.configMap.key(namespace: "default", name: "web")
        let fetched = try #require(try await store.get(key))
        #expect(fetched == created)

        try await store.create(configMap("db", labels: ["app": "db"]))
        try await store.create(configMap("other", namespace: "shop", labels: ["app": "web"]))
        let all = try await store.list(.configMap)
        #expect(all.items.map(\.key.name) == ["db", "web", "other"])
        let inDefault = try await store.list(.configMap, namespace: "default")
        #expect(inDefault.items.map(\.key.name) == ["db", "web"])
        let selected = try await store.list(.configMap, labelSelector: try LabelSelector(parsing: "app=web"))
        #expect(selected.items.map(\.key.description) == ["ConfigMap/default/web", "ConfigMap/shop/other"])
        #expect(all.resourceVersion >= created.resourceVersion)

        var changed = fetched.object
        changed["data"] = .object(["a": "2"])
        let updated = try await store.update(changed)
        #expect(updated.object["data"]?["a"]?.stringValue == "2")
        #expect(updated.resourceVersion > created.resourceVersion)
        #expect(updated.uid == created.uid)

        let deleted = try await store.delete(key)
        #expect(deleted.uid == created.uid)
        #expect(try await store.get(key) == nil)
        await #expect(throws: BerthError.self) { try await store.delete(key) }
    }

    @Test func listOfSeveralKindsIsEachKindsListInOrder() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        try await store.create(deploymentTree("web"))
        try await store.create(configMap("b", namespace: "other"))
        try await store.create(configMap("a"))
        let both = try await store.list(kinds: [.deployment, .configMap])
        let one = try await store.list(.deployment).items + store.list(.configMap).items
        #expect(both.map(\.key) == one.map(\.key))
        #expect(both.map(\.key.name) == ["web", "a", "b"])
        #expect(try await store.list(kinds: [.secret]).isEmpty)
        // A change shows at the next list (the cache is checked against the row's version).
        try await store.update(configMap("a", data: ["x": "2"]))
        let after = try await store.list(kinds: [.configMap])
        #expect(after.first { $0.key.name == "a" }?.object["data"]?["x"] == "2")
    }

    @Test func duplicateCreateIsAlreadyExists() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        try await store.create(configMap("web"))
        do {
            try await store.create(configMap("web"))
            Issue.record("second create succeeded")
        } catch let error as BerthError {
            #expect(error.code == .alreadyExists)
        }
    }

    @Test func invalidNamesAreRejected() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        for bad in ["Web", "web_1", "-web", ""] {
            do {
                try await store.create(configMap(bad))
                Issue.record("accepted name \(bad)")
            } catch let error as BerthError {
                #expect(error.code == .invalidArgument)
            }
        }
    }

    @Test func namespaceDefaultsAndClusterScope() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let cm = try await store.create(configMap("nons", namespace: nil))
        #expect(cm.key.namespace == "default")
        let ns = try await store.create(.object(["apiVersion": "v1", "kind": "Namespace", "metadata": .object(["name": "shop", "namespace": "ignored"])]))
        #expect(ns.key.namespace == "")
        #expect(ns.object["metadata"]?["namespace"] == nil)
        // The default namespace exists from the start.
        #expect(try await store.get(ResourceKind.namespace.key(name: "default")) != nil)
    }

    @Test func generateName() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let tree: JSONValue = .object(["apiVersion": "v1", "kind": "ConfigMap", "metadata": .object(["generateName": "web-"])])
        let a = try await store.create(tree)
        let b = try await store.create(tree)
        #expect(a.key.name.hasPrefix("web-") && a.key.name.count == 9)
        #expect(a.key.name != b.key.name)
    }

    @Test func typedViews() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        try await store.create(deploymentTree("web", replicas: 3))
        let deployment = try #require(try await store.get(Deployment.self, namespace: "default", name: "web"))
        #expect(deployment.spec.replicas == 3)
        #expect(deployment.metadata.generation == 1)
        var status = deployment
        status.status = DeploymentStatus()
        status.status?.replicas = 3
        let updated = try await store.updateStatus(status)
        #expect(updated.status?.replicas == 3)
        #expect(updated.metadata.generation == 1)
        let listed = try await store.list(Deployment.self, namespace: "default")
        #expect(listed.map(\.metadata.name) == ["web"])
    }

    @Test func unknownFieldsSurvive() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        var tree = deploymentTree("web")
        tree["spec"]?["template"]?["spec"]?["affinity"] = .object(["nodeAffinity": .object(["x": 1])])
        try await store.create(tree)
        let back = try #require(try await store.get(ResourceKind.deployment.key(namespace: "default", name: "web")))
        #expect(back.object["spec"]?["template"]?["spec"]?["affinity"]?["nodeAffinity"]?["x"] == .int(1))
    }
}

@Suite struct StoreVersioningTests {
    @Test func resourceVersionIsMonotonicAcrossObjects() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        var last = try await store.currentRevision()
        for index in 0..<20 {
            let object = try await store.create(configMap("cm-\(index)"))
            #expect(object.resourceVersion > last)
            last = object.resourceVersion
            var tree = object.object
            tree["data"] = .object(["i": .string(String(index))])
            let updated = try await store.update(tree)
            #expect(updated.resourceVersion > last)
            last = updated.resourceVersion
        }
        #expect(try await store.currentRevision() == last)
    }

    @Test func generationBumpsOnlyOnSpecChange() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let created = try await store.create(deploymentTree("web", replicas: 1))
        #expect(created.generation == 1)

        // Labels and annotations: metadata, no generation bump.
        var tree = created.object
        tree["metadata"]?["annotations"] = .object(["note": "x"])
        let relabeled = try await store.update(tree)
        #expect(relabeled.generation == 1)
        #expect(relabeled.resourceVersion > created.resourceVersion)

        // Status: no generation bump.
        var withStatus = relabeled.object
        withStatus["status"] = .object(["replicas": 1, "observedGeneration": 1])
        let statused = try await store.updateStatus(withStatus)
        #expect(statused.generation == 1)
        #expect(statused.status?["replicas"] == .int(1))

        // Spec: bump.
        var scaled = statused.object
        scaled["spec"]?["replicas"] = .int(5)
        let bumped = try await store.update(scaled)
        #expect(bumped.generation == 2)
        // update keeps status, ignores a status the caller sent.
        #expect(bumped.status?["replicas"] == .int(1))
        var sneaky = bumped.object
        sneaky["status"] = .object(["replicas": 99])
        let ignored = try await store.update(sneaky)
        #expect(ignored.status?["replicas"] == .int(1))
        #expect(ignored.resourceVersion == bumped.resourceVersion)  // nothing changed: no-op

        // updateStatus ignores a spec the caller sent.
        var sneakySpec = bumped.object
        sneakySpec["spec"]?["replicas"] = .int(7)
        sneakySpec["status"] = .object(["replicas": 5])
        let statusOnly = try await store.updateStatus(sneakySpec)
        #expect(statusOnly.object["spec"]?["replicas"] == .int(5))
        #expect(statusOnly.generation == 2)
    }

    @Test func staleResourceVersionConflicts() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let first = try await store.create(configMap("web", data: ["a": "1"]))
        var writerA = first.object
        writerA["data"] = .object(["a": "A"])
        var writerB = first.object
        writerB["data"] = .object(["a": "B"])
        try await store.update(writerA)
        do {
            try await store.update(writerB)
            Issue.record("stale update succeeded")
        } catch let error as BerthError {
            #expect(error.code == .conflict)
            #expect(error.hint?.contains("read the object again") == true)
        }
        let now = try #require(try await store.get(first.key))
        #expect(now.object["data"]?["a"] == "A")
        // Without a resourceVersion the update is unconditional.
        writerB["metadata"]?["resourceVersion"] = nil
        let forced = try await store.update(writerB)
        #expect(forced.object["data"]?["a"] == "B")
        // Delete with a stale precondition conflicts too.
        await #expect(throws: BerthError.self) {
            try await store.delete(first.key, resourceVersion: first.resourceVersion)
        }
    }

    @Test func applyReportsOutcome() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let (_, created) = try await store.apply(configMap("web", data: ["a": "1"]))
        #expect(created == .created)
        let (same, unchanged) = try await store.apply(configMap("web", data: ["a": "1"]))
        #expect(unchanged == .unchanged)
        let (changed, updated) = try await store.apply(configMap("web", data: ["a": "2"]))
        #expect(updated == .updated)
        #expect(changed.resourceVersion > same.resourceVersion)
    }
}

@Suite struct StoreDeleteTests {
    func owned(_ name: String, by owner: StoredObject) -> JSONValue {
        var tree = configMap(name)
        tree["metadata"]?["ownerReferences"] = try? JSONValue(encoding: [
            OwnerReference(apiVersion: owner.key.apiVersion, kind: owner.key.kind, name: owner.key.name, uid: owner.uid),
        ])
        return tree
    }

    @Test func cascadeDeletesDependentsRecursively() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let root = try await store.create(deploymentTree("web"))
        let child = try await store.create(owned("child", by: root))
        let grandchild = try await store.create(owned("grandchild", by: child))
        let bystander = try await store.create(configMap("bystander"))
        #expect(try await store.dependents(ofUID: root.uid).map(\.key.name) == ["child"])

        try await store.delete(root.key)
        #expect(try await store.get(child.key) == nil)
        #expect(try await store.get(grandchild.key) == nil)
        #expect(try await store.get(bystander.key) != nil)
    }

    @Test func orphanKeepsDependentsAndDropsTheReference() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let root = try await store.create(deploymentTree("web"))
        let child = try await store.create(owned("child", by: root))
        try await store.delete(root.key, propagation: .orphan)
        let kept = try #require(try await store.get(child.key))
        #expect(kept.ownerReferences.isEmpty)
    }

    @Test func finalizersDelayRemoval() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        var tree = configMap("guarded")
        tree["metadata"]?["finalizers"] = .array(["berth.dev/containers"])
        let created = try await store.create(tree)
        let marked = try await store.delete(created.key)
        #expect(marked.deletionTimestamp != nil)
        let stillThere = try #require(try await store.get(created.key))
        #expect(stillThere.deletionTimestamp != nil)
        var released = stillThere.object
        released["metadata"]?["finalizers"] = nil
        try await store.update(released)
        #expect(try await store.get(created.key) == nil)
    }

    @Test func deletingNamespaceDeletesItsObjects() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let ns = try await store.create(.object(["apiVersion": "v1", "kind": "Namespace", "metadata": .object(["name": "shop"])]))
        try await store.create(configMap("a", namespace: "shop"))
        try await store.create(configMap("b", namespace: "default"))
        try await store.delete(ns.key)
        #expect(try await store.list(.configMap, namespace: "shop").items.isEmpty)
        #expect(try await store.list(.configMap, namespace: "default").items.count == 1)
    }
}

@Suite struct StoreTransactionTests {
    @Test func manyObjectsAndOwnRowsCommitTogether() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let history = StoreMigration("test-v1-history") { db in
            try db.execute(sql: "CREATE TABLE history (id INTEGER PRIMARY KEY, summary TEXT NOT NULL)")
        }
        let store = try Store(dataDirectory: dir.path, options: .init(extraMigrations: [history]))
        try await store.create(configMap("doomed"))
        try await store.transaction { tx in
            try tx.create(configMap("a"))
            try tx.create(configMap("b"))
            try tx.delete(ResourceKind.configMap.key(namespace: "default", name: "doomed"))
            try tx.database.execute(sql: "INSERT INTO history (summary) VALUES ('created 2, deleted 1')")
        }
        #expect(try await store.list(.configMap).items.map(\.key.name) == ["a", "b"])
        let rows = try await store.read { db in try String.fetchAll(db, sql: "SELECT summary FROM history") }
        #expect(rows == ["created 2, deleted 1"])
    }

    @Test func errorRollsEverythingBack() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let history = StoreMigration("test-v1-history") { db in
            try db.execute(sql: "CREATE TABLE history (id INTEGER PRIMARY KEY, summary TEXT NOT NULL)")
        }
        let store = try Store(dataDirectory: dir.path, options: .init(extraMigrations: [history]))
        try await store.create(configMap("existing"))
        let before = try await store.currentRevision()
        do {
            try await store.transaction { tx in
                try tx.create(configMap("new"))
                try tx.database.execute(sql: "INSERT INTO history (summary) VALUES ('should vanish')")
                try tx.delete(ResourceKind.configMap.key(namespace: "default", name: "existing"))
                try tx.create(configMap("existing"))  // fine: it was deleted above
                try tx.create(configMap("new"))  // alreadyExists: rolls back everything
            }
            Issue.record("transaction did not fail")
        } catch let error as BerthError {
            #expect(error.code == .alreadyExists)
        }
        #expect(try await store.list(.configMap).items.map(\.key.name) == ["existing"])
        #expect(try await store.currentRevision() == before)
        let count = try await store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM history") }
        #expect(count == 0)
        #expect(try await store.changes(after: before, limit: 100).isEmpty)
    }
}

@Suite struct StoreChangeFeedTests {
    @Test func feedDeliversAddedModifiedDeletedInOrder() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let start = try await store.currentRevision()
        let feed = store.changes(after: start)
        let writer = Task {
            let object = try await store.create(configMap("web"))
            var tree = object.object
            tree["data"] = .object(["k": "v"])
            try await store.update(tree)
            try await store.delete(object.key)
        }
        var events: [ChangeEvent] = []
        for try await event in feed {
            events.append(event)
            if events.count == 3 { break }
        }
        try await writer.value
        #expect(events.map(\.type) == [.added, .modified, .deleted])
        #expect(events.allSatisfy { $0.key.name == "web" })
        #expect(events.map(\.resourceVersion) == events.map(\.resourceVersion).sorted())
        #expect(events[2].lastState?["data"]?["k"] == "v")
    }

    @Test func feedFromNowSkipsThePast() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        try await store.create(configMap("old"))
        let feed = store.changes()
        // Give the subscriber time to read the current revision.
        try await Task.sleep(for: .milliseconds(200))
        try await store.create(configMap("new"))
        var first: ChangeEvent?
        for try await event in feed {
            first = event
            break
        }
        #expect(first?.key.name == "new")
    }

    @Test func feedSeesWritesFromAnotherStoreOnTheSameFile() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let watcher = try Store(dataDirectory: dir.path, options: .init(pollInterval: .milliseconds(50)))
        let writer = try Store(dataDirectory: dir.path)
        let start = try await watcher.currentRevision()
        let feed = watcher.changes(after: start)
        try await writer.create(configMap("from-elsewhere"))
        var seen: ChangeEvent?
        for try await event in feed {
            seen = event
            break
        }
        #expect(seen?.key.name == "from-elsewhere")
    }
}

@Suite struct StoreFileTests {
    @Test func survivesReopen() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let uid: String
        let revision: Int64
        do {
            let store = try Store(dataDirectory: dir.path)
            uid = try await store.create(configMap("durable", data: ["x": "1"])).uid
            revision = try await store.currentRevision()
        }
        let reopened = try Store(dataDirectory: dir.path)
        let back = try #require(try await reopened.get(ResourceKind.configMap.key(namespace: "default", name: "durable")))
        #expect(back.uid == uid)
        #expect(try await reopened.currentRevision() == revision)
        let next = try await reopened.create(configMap("after"))
        #expect(next.resourceVersion > revision)
    }

    @Test func readOnlyOpenerReadsWhileWriterWrites() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let writer = try Store(dataDirectory: dir.path)
        try await writer.create(configMap("one"))
        let reader = try Store(dataDirectory: dir.path, options: .init(readOnly: true))
        #expect(try await reader.list(.configMap).items.count == 1)
        try await writer.create(configMap("two"))
        #expect(try await reader.list(.configMap).items.count == 2)
        await #expect(throws: BerthError.self) { try await reader.create(configMap("three")) }
    }

    @Test func notASQLiteFileIsStoreCorrupt() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try Data("this is definitely not sqlite, just some text in a file\n".utf8).write(to: URL(fileURLWithPath: dir.dbPath))
        do {
            _ = try Store(dataDirectory: dir.path)
            Issue.record("opened a text file as a store")
        } catch let error as BerthError {
            #expect(error.code == .storeCorrupt)
            #expect(error.message.contains(dir.dbPath))
            #expect(error.hint?.contains("restore a backup") == true)
        }
    }

    @Test func damagedSQLiteFileIsStoreCorrupt() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        do {
            let store = try Store(dataDirectory: dir.path)
            for index in 0..<50 { try await store.create(configMap("cm-\(index)", data: ["pad": String(repeating: "x", count: 500)])) }
            let pool = store.pool
            try await Store.offload { try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) } }
        }
        // Keep SQLite's header, scribble over the pages after it.
        let handle = try #require(FileHandle(forUpdatingAtPath: dir.dbPath))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0xAB, count: 8192))
        try handle.close()
        do {
            let store = try Store(dataDirectory: dir.path)
            _ = try await store.list(.configMap)
            Issue.record("read a damaged store")
        } catch let error as BerthError {
            #expect(error.code == .storeCorrupt)
        }
    }

    @Test func newerSchemaIsStoreTooNew() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let future = StoreMigration("store-v99-from-the-future") { db in
            try db.execute(sql: "CREATE TABLE future (x)")
        }
        _ = try Store(dataDirectory: dir.path, options: .init(extraMigrations: [future]))
        do {
            _ = try Store(dataDirectory: dir.path)
            Issue.record("opened a store migrated by a newer binary")
        } catch let error as BerthError {
            #expect(error.code == .storeTooNew)
            #expect(error.message.contains("store-v99-from-the-future"))
        }
    }
}

@Suite struct StoreEventTests {
    let pod = ObjectReference(apiVersion: "v1", kind: "Pod", namespace: "default", name: "web-1", uid: "u1")

    @Test func sameReasonAndMessageIsCountedNotRepeated() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        try await store.recordEvent(about: pod, type: .warning, reason: "BackOff", message: "Back-off restarting", now: t0)
        try await store.recordEvent(about: pod, type: .warning, reason: "BackOff", message: "Back-off restarting", now: t0 + 10)
        let third = try await store.recordEvent(about: pod, type: .warning, reason: "BackOff", message: "Back-off restarting", now: t0 + 20)
        try await store.recordEvent(about: pod, reason: "Pulled", message: "image pulled", now: t0 + 5)
        #expect(third.count == 3)
        #expect(third.firstTimestamp == "2027-01-15T08:00:00Z")
        #expect(third.lastTimestamp == "2027-01-15T08:00:20Z")
        let events = try await store.events(namespace: "default", involving: ResourceKind.pod.key(namespace: "default", name: "web-1"))
        #expect(events.map(\.reason) == ["Pulled", "BackOff"])
        #expect(events.map(\.count) == [1, 3])
    }

    @Test func retentionKeepsNewestPerObjectAndDropsOld() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(
            dataDirectory: dir.path, options: .init(eventRetention: EventRetention(maxPerObject: 3, maxAge: .seconds(600))))
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let other = ObjectReference(kind: "Pod", namespace: "default", name: "other")
        try await store.recordEvent(about: other, reason: "Old", message: "ancient", now: t0)
        for index in 0..<5 {
            try await store.recordEvent(about: pod, reason: "R\(index)", message: "m", now: t0 + Double(index))
        }
        let kept = try await store.events(involving: ResourceKind.pod.key(namespace: "default", name: "web-1"))
        #expect(kept.map(\.reason) == ["R2", "R3", "R4"])
        #expect(try await store.events().count == 4)
        // 11 minutes later everything above is past maxAge.
        try await store.recordEvent(about: pod, reason: "Fresh", message: "m", now: t0 + 660)
        #expect(try await store.events().map(\.reason) == ["Fresh"])
    }
}

@Suite struct LabelSelectorParsingTests {
    @Test func parsesKubernetesSyntax() throws {
        let selector = try LabelSelector(parsing: "app=web, tier!=db,env in (prod, staging),release,!canary")
        #expect(selector.matches(["app": "web", "env": "prod", "release": "1"]))
        #expect(!selector.matches(["app": "web", "env": "prod", "release": "1", "canary": "y"]))
        #expect(!selector.matches(["app": "web", "env": "dev", "release": "1"]))
        #expect(!selector.matches(["app": "web", "tier": "db", "env": "prod", "release": "1"]))
        #expect(!selector.matches(["app": "api", "env": "prod", "release": "1"]))
        #expect(try LabelSelector(parsing: "").matches([:]))
    }
}

@Suite struct JSONCodingTests {
    @Test func roundTripsEveryKindOfValue() throws {
        let value: JSONValue = [
            "s": "quote \" backslash \\ slash / newline \n tab \t ctrl \u{01} unicode é 日本 🚀",
            "i": -42, "big": .int(Int.max), "d": 1.5, "e": 2.5e-8, "t": true, "f": false, "n": .null,
            "a": [1, "two", [3], ["four": 4]], "empty": [:], "emptyArray": [],
        ]
        let text = JSONCoding.encode(value)
        #expect(try JSONCoding.decode(text) == value)
        // Foundation agrees on what it means.
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value)
        // And we read what Foundation writes, escapes included.
        let foundation = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        #expect(try JSONCoding.decode(foundation) == value)
        #expect(try JSONCoding.decode(#"{"x":"\u00e9\ud83d\ude80"}"#) == ["x": "é🚀"])
    }

    @Test func rejectsGarbage() {
        for bad in ["", "{", "{\"a\":}", "[1,]", "tru", "\"open", "{\"a\":1} x"] {
            #expect(throws: BerthError.self) { try JSONCoding.decode(bad) }
        }
    }
}

@Suite struct StoreOwnerIndexTests {
    func configMap(_ name: String, namespace: String = "default", owners: [(StoredObject, Bool)]) -> JSONValue {
        var tree = BerthStoreTests.configMap(name, namespace: namespace)
        if !owners.isEmpty {
            tree["metadata"]?["ownerReferences"] = try? JSONValue(encoding: owners.map { owner, controller in
                OwnerReference(apiVersion: owner.key.apiVersion, kind: owner.key.kind, name: owner.key.name,
                               uid: owner.uid, controller: controller)
            })
        }
        return tree
    }

    func names(_ values: [ConfigMap]) -> [String] { values.map(\.metadata.name) }

    @Test func controlledAndUncontrolledFollowTheControllerReference() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let owner = try await store.create(deploymentTree("web"))
        let other = try await store.create(deploymentTree("api"))
        _ = try await store.create(configMap("controlled", owners: [(owner, true)]))
        _ = try await store.create(configMap("referenced", owners: [(owner, false)]))
        _ = try await store.create(configMap("free", owners: []))
        _ = try await store.create(configMap("elsewhere", namespace: "kube-system", owners: [(owner, true)]))
        _ = try await store.create(configMap("theirs", owners: [(other, true), (owner, false)]))

        #expect(names(try await store.list(ConfigMap.self, namespace: "default", controlledBy: owner.uid)) == ["controlled"])
        #expect(names(try await store.list(ConfigMap.self, namespace: "default", controlledBy: other.uid)) == ["theirs"])
        #expect(names(try await store.listUncontrolled(ConfigMap.self, namespace: "default")) == ["free", "referenced"])
        #expect(names(try await store.list(ConfigMap.self, namespace: "kube-system", controlledBy: owner.uid)) == ["elsewhere"])

        // Adoption and release move an object between the two lists.
        _ = try await store.update(configMap("free", owners: [(owner, true)]))
        _ = try await store.update(configMap("controlled", owners: []))
        #expect(names(try await store.list(ConfigMap.self, namespace: "default", controlledBy: owner.uid)) == ["free"])
        #expect(names(try await store.listUncontrolled(ConfigMap.self, namespace: "default")) == ["controlled", "referenced"])
        // The typed views come from the current version, not a stale cached one.
        let adopted = try #require(try await store.list(ConfigMap.self, namespace: "default", controlledBy: owner.uid).first)
        #expect(adopted.metadata.ownerReferences?.first?.uid == owner.uid)
    }

    /// A store written before the index knew controllers is backfilled from
    /// the stored objects when it is opened.
    @Test func upgradeBackfillsTheControllerColumn() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        var ownerUID = ""
        do {
            let store = try Store(dataDirectory: dir.path)
            let owner = try await store.create(deploymentTree("web"))
            ownerUID = owner.uid
            _ = try await store.create(configMap("controlled", owners: [(owner, true)]))
            _ = try await store.create(configMap("referenced", owners: [(owner, false)]))
        }
        // Back to the first schema, as an older Berth left it.
        let queue = try DatabaseQueue(path: dir.dbPath)
        try await queue.write { db in
            try db.execute(sql: """
                DROP INDEX owner_reference_by_dependent;
                DROP INDEX object_by_kind_namespace_uid;
                CREATE INDEX object_by_kind_namespace ON object (kind, namespace);
                ALTER TABLE owner_reference DROP COLUMN controller;
                CREATE INDEX owner_reference_by_dependent ON owner_reference (dependent_uid);
                DELETE FROM grdb_migrations WHERE identifier = 'store-v2-owner-controller';
                """)
        }
        try queue.close()

        let store = try Store(dataDirectory: dir.path)
        #expect(names(try await store.list(ConfigMap.self, namespace: "default", controlledBy: ownerUID)) == ["controlled"])
        #expect(names(try await store.listUncontrolled(ConfigMap.self, namespace: "default")) == ["referenced"])
    }
}
