import BerthAPI
import Foundation
@testable import BerthOrchestrator

/// An in-memory `OrchestratorStore` for unit tests of controller logic, with
/// the API server semantics the controllers rely on (uid, resourceVersion
/// conflicts, generation on spec change, update keeps status). The real
/// counterpart is BerthStore (SQLite). `onWrite` sees every committed state,
/// so invariants can be checked after each single write of a rollout.
actor MemoryStore: OrchestratorStore {
    struct Key: Hashable, Comparable {
        var kind: String
        var namespace: String
        var name: String
        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name) }
    }

    private(set) var objects: [Key: JSONValue] = [:]
    private(set) var events: [Event] = []
    private var version = 0
    private var uidCounter = 0
    private var continuations: [AsyncStream<ObjectChange>.Continuation] = []
    let clock: any OrchestratorClock
    private var observer: (@Sendable (MemoryStore.Snapshot) -> Void)?

    init(clock: any OrchestratorClock) { self.clock = clock }

    func setObserver(_ observer: @escaping @Sendable (MemoryStore.Snapshot) -> Void) { self.observer = observer }

    struct Snapshot: Sendable {
        var objects: [Key: JSONValue]
        func list<T: ClusterObject>(_ type: T.Type) -> [T] {
            objects.filter { $0.key.kind == T.resourceKind.rawValue }.sorted { $0.key < $1.key }.compactMap { try? $0.value.decode(T.self) }
        }
    }

    private func key<T: ClusterObject>(_ object: T) -> Key {
        Key(kind: T.resourceKind.rawValue, namespace: T.resourceKind.isNamespaced ? (object.metadata.namespace ?? "default") : "",
            name: object.metadata.name)
    }

    private func commit(_ key: Key, _ value: JSONValue?, _ type: ObjectChange.ChangeType, owners: [OwnerReference]) {
        objects[key] = value
        observer?(Snapshot(objects: objects))
        if let kind = ResourceKind(rawValue: key.kind) {
            let change = ObjectChange(type: type, kind: kind, namespace: key.namespace, name: key.name, ownerReferences: owners)
            continuations.forEach { $0.yield(change) }
        }
    }

    func get<T: ClusterObject>(_ type: T.Type, namespace: String, name: String) async throws -> T? {
        let key = Key(kind: T.resourceKind.rawValue, namespace: T.resourceKind.isNamespaced ? namespace : "", name: name)
        return try objects[key]?.decode(T.self)
    }

    func list<T: ClusterObject>(_ type: T.Type, namespace: String?) async throws -> [T] {
        try objects.filter { $0.key.kind == T.resourceKind.rawValue && (namespace == nil || $0.key.namespace == namespace) }
            .sorted { $0.key < $1.key }.map { try $0.value.decode(T.self) }
    }

    func create<T: ClusterObject>(_ object: T) async throws -> T {
        let key = key(object)
        if objects[key] != nil { throw BerthError(.alreadyExists, "\(key.kind) \(key.name) already exists") }
        var copy = object
        if T.resourceKind.isNamespaced && copy.metadata.namespace == nil { copy.metadata.namespace = "default" }
        uidCounter += 1
        version += 1
        copy.metadata.uid = "uid-\(uidCounter)"
        copy.metadata.resourceVersion = String(version)
        copy.metadata.generation = 1
        copy.metadata.creationTimestamp = Timestamp.format(clock.now())
        commit(key, try JSONValue(encoding: copy), .added, owners: copy.metadata.ownerReferences ?? [])
        return copy
    }

    private func spec(_ value: JSONValue) -> JSONValue {
        guard case .object(var fields) = value else { return value }
        fields["metadata"] = nil
        fields["status"] = nil
        return .object(fields)
    }

    private func checkVersion<T: ClusterObject>(_ object: T, _ key: Key) throws -> JSONValue {
        guard let stored = objects[key] else { throw BerthError(.notFound, "\(key.kind) \(key.name) not found") }
        let current = stored["metadata"]?["resourceVersion"]?.stringValue
        if let given = object.metadata.resourceVersion, given != current {
            throw BerthError(.conflict, "\(key.kind) \(key.name): resourceVersion \(given) is stale (now \(current ?? "?"))")
        }
        return stored
    }

    func update<T: ClusterObject>(_ object: T) async throws -> T {
        let key = key(object)
        let stored = try checkVersion(object, key)
        let old = try stored.decode(T.self)
        var new = try JSONValue(encoding: object)
        // Keep status.
        if case .object(var fields) = new {
            fields["status"] = stored["status"]
            new = .object(fields)
        }
        var copy = try new.decode(T.self)
        version += 1
        copy.metadata.uid = old.metadata.uid
        copy.metadata.creationTimestamp = old.metadata.creationTimestamp
        copy.metadata.resourceVersion = String(version)
        copy.metadata.generation = (old.metadata.generation ?? 1) + (spec(new) != spec(stored) ? 1 : 0)
        copy.metadata.deletionTimestamp = old.metadata.deletionTimestamp
        if old.metadata.deletionTimestamp != nil, (copy.metadata.finalizers ?? []).isEmpty {
            commit(key, nil, .deleted, owners: copy.metadata.ownerReferences ?? [])
            return copy
        }
        commit(key, try JSONValue(encoding: copy), .modified, owners: copy.metadata.ownerReferences ?? [])
        return copy
    }

    func updateStatus<T: ClusterObject>(_ object: T) async throws -> T {
        let key = key(object)
        let stored = try checkVersion(object, key)
        guard case .object(var fields) = stored else { throw BerthError(.internal, "bad object") }
        fields["status"] = try JSONValue(encoding: object)["status"]
        version += 1
        var copy = try JSONValue.object(fields).decode(T.self)
        copy.metadata.resourceVersion = String(version)
        commit(key, try JSONValue(encoding: copy), .modified, owners: copy.metadata.ownerReferences ?? [])
        return copy
    }

    func delete(_ kind: ResourceKind, namespace: String, name: String) async throws {
        let key = Key(kind: kind.rawValue, namespace: kind.isNamespaced ? namespace : "", name: name)
        guard let stored = objects[key] else { throw BerthError(.notFound, "\(kind.rawValue) \(name) not found") }
        if let finalizers = stored["metadata"]?["finalizers"]?.arrayValue, !finalizers.isEmpty {
            // Finalizers: only mark the object.
            guard case .object(var fields) = stored, case .object(var meta)? = fields["metadata"] else { return }
            if meta["deletionTimestamp"] != nil { return }
            version += 1
            meta["deletionTimestamp"] = .string(Timestamp.format(clock.now()))
            meta["resourceVersion"] = .string(String(version))
            fields["metadata"] = .object(meta)
            let owners = (try? stored["metadata"]?["ownerReferences"]?.decode([OwnerReference].self)) ?? []
            commit(key, .object(fields), .modified, owners: owners)
            return
        }
        let owners = (try? stored["metadata"]?["ownerReferences"]?.decode([OwnerReference].self)) ?? []
        commit(key, nil, .deleted, owners: owners)
    }

    func changes() async -> AsyncStream<ObjectChange> {
        let (stream, continuation) = AsyncStream<ObjectChange>.makeStream()
        continuations.append(continuation)
        return stream
    }

    func recordEvent(involving object: ObjectReference, reason: String, message: String, type: String) async {
        let now = Timestamp.format(clock.now())
        events.append(Event(metadata: ObjectMeta(name: "\(object.name).\(events.count)", namespace: object.namespace),
                            involvedObject: object, reason: reason, message: message, type: type, count: 1,
                            firstTimestamp: now, lastTimestamp: now))
    }

    // Conveniences for tests.
    /// Removes an object regardless of finalizers (a forced delete).
    func forceRemove(_ kind: ResourceKind, namespace: String, name: String) {
        let key = Key(kind: kind.rawValue, namespace: kind.isNamespaced ? namespace : "", name: name)
        commit(key, nil, .deleted, owners: [])
    }

    func put<T: ClusterObject>(_ object: T) async throws -> T {
        if var existing = try await get(T.self, namespace: object.metadata.namespace ?? "default", name: object.metadata.name) {
            let meta = existing.metadata
            existing = object
            existing.metadata.uid = meta.uid
            existing.metadata.resourceVersion = meta.resourceVersion
            return try await update(existing)
        }
        return try await create(object)
    }
}
