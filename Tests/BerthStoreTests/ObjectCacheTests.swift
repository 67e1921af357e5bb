import BerthAPI
import Foundation
import Testing

@testable import BerthStore

/// The object cache may only make reads faster, never different: every
/// test compares what a cached store returns with what the database holds.
@Suite struct ObjectCacheTests {
    @Test func listsAndGetsServeCommittedWritesAndForgetDeletes() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        for index in 0..<5 { try await store.create(configMap("cm-\(index)", data: ["v": "\(index)"])) }
        let first = try await store.list(.configMap).items
        #expect(first.count == 5)
        #expect(store.cache.count >= 5)

        // A write changes the version: the next read returns the new content.
        var changed = first[2].object
        changed["data"] = .object(["v": "changed"])
        try await store.update(changed)
        let second = try await store.list(.configMap).items
        #expect(second[2].object["data"]?["v"] == "changed")
        #expect(second[0] == first[0])
        let typed = try #require(try await store.get(ConfigMap.self, namespace: "default", name: "cm-2"))
        #expect(typed.data?["v"] == "changed")

        // A delete leaves the cache.
        try await store.delete(first[0].key)
        #expect(try await store.get(first[0].key) == nil)
        #expect(try await store.list(ConfigMap.self).map(\.metadata.name) == ["cm-1", "cm-2", "cm-3", "cm-4"])
        #expect(store.cache.entry(first[0].key) == nil)
    }

    /// A write's tree goes when a typed view of that version is read (the
    /// controllers' pattern); once the object has been read as a tree, its
    /// trees stay next to the views, for later versions too.
    @Test func aWritesTreeMakesRoomForTheTypedView() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let written = try await store.create(configMap("cm", data: ["v": "1"]))
        #expect(store.cache.entry(written.key)?.stored == written)

        let typed = try #require(try await store.get(ConfigMap.self, namespace: "default", name: "cm"))
        #expect(typed.data?["v"] == "1")
        let afterTyped = try #require(store.cache.entry(written.key))
        #expect(afterTyped.stored == nil)
        #expect(afterTyped.typed(ConfigMap.self) == typed)

        // A tree read decodes it again, equal to what was written, and it stays.
        #expect(try await store.get(written.key) == written)
        _ = try await store.list(ConfigMap.self)
        let afterBoth = try #require(store.cache.entry(written.key))
        #expect(afterBoth.stored == written)
        #expect(afterBoth.typed(ConfigMap.self) == typed)

        var tree = written.object
        tree["data"] = .object(["v": "2"])
        let second = try await store.update(tree)
        _ = try #require(try await store.get(ConfigMap.self, namespace: "default", name: "cm"))
        #expect(store.cache.entry(written.key)?.stored == second)
    }

    @Test func aRolledBackTransactionLeavesNothingBehind() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        let created = try await store.create(configMap("web", data: ["v": "1"]))
        struct Abort: Error {}
        // The aborted write takes the next resourceVersion; the write after it
        // takes the same number again with other content.
        await #expect(throws: Abort.self) {
            try await store.transaction { tx in
                var tree = created.object
                tree["data"] = .object(["v": "aborted"])
                try tx.update(tree)
                _ = try tx.get(created.key)
                throw Abort()
            }
        }
        var tree = created.object
        tree["data"] = .object(["v": "2"])
        try await store.update(tree)
        #expect(try await store.get(created.key)?.object["data"]?["v"] == "2")
        #expect(try await store.get(ConfigMap.self, namespace: "default", name: "web")?.data?["v"] == "2")
        #expect(try await store.list(.configMap).items.first?.object["data"]?["v"] == "2")
    }

    @Test func writesOfAnotherStoreOnTheSameFileAreSeen() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let reader = try Store(dataDirectory: dir.path)
        let writer = try Store(dataDirectory: dir.path)
        let created = try await writer.create(configMap("web", data: ["v": "1"]))
        #expect(try await reader.get(ConfigMap.self, namespace: "default", name: "web")?.data?["v"] == "1")
        #expect(try await reader.list(.configMap).items.count == 1)

        var tree = created.object
        tree["data"] = .object(["v": "2"])
        try await writer.update(tree)
        try await writer.create(configMap("db"))
        #expect(try await reader.get(ConfigMap.self, namespace: "default", name: "web")?.data?["v"] == "2")
        #expect(try await reader.list(.configMap).items.map(\.key.name) == ["db", "web"])

        try await writer.delete(created.key)
        #expect(try await reader.list(ConfigMap.self).map(\.metadata.name) == ["db"])
        #expect(try await reader.get(ConfigMap.self, namespace: "default", name: "web") == nil)
    }

    @Test func typedAndTreeViewsAgree() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let store = try Store(dataDirectory: dir.path)
        try await store.create(deploymentTree("web", replicas: 3))
        // Typed first (decoded from the row's text), then the tree, then typed again (from the cache).
        let typed = try #require(try await store.list(Deployment.self).first)
        let tree = try #require(try await store.list(.deployment).items.first)
        #expect(try tree.decode(Deployment.self) == typed)
        #expect(try await store.get(Deployment.self, namespace: "default", name: "web") == typed)
        #expect(typed.spec.replicas == 3)

        // A status write through the typed API is visible to both views.
        var withStatus = typed
        var status = DeploymentStatus()
        status.observedGeneration = 1
        status.replicas = 3
        withStatus.status = status
        let written = try await store.updateStatus(withStatus)
        #expect(try await store.list(Deployment.self).first == written)
        #expect(try await store.get(tree.key)?.object["status"]?["replicas"] == 3)
    }
}
