import BerthAPI
import BerthStore
import Foundation
import Logging

/// The orchestrator's view of BerthStore (the SQLite store): typed reads and
/// writes, the change feed and Events.
///
/// Controllers write typed values, and BerthAPI's types do not model every
/// Kubernetes field; a plain typed update would drop fields a user's
/// manifest had (affinity, tolerations …). `update` therefore merges three
/// ways: the new typed encoding, plus whatever the stored tree holds that
/// the typed model cannot see.
public struct StoreBackend: OrchestratorStore {
    public let store: Store
    let logger: Logger

    public init(store: Store, logger: Logger = Logger(label: "berth.orchestrator.store")) {
        self.store = store
        self.logger = logger
    }


    // Reads go through the store's object cache of typed views: an object
    // whose resourceVersion has been decoded as T before is not decoded again.
    public func get<T: ClusterObject>(_ type: T.Type, namespace: String, name: String) async throws -> T? {
        try await store.get(T.self, namespace: namespace, name: name)
    }

    public func list<T: ClusterObject>(_ type: T.Type, namespace: String?) async throws -> [T] {
        try await list(T.self, namespace: namespace, labelSelector: nil)
    }

    public func list<T: ClusterObject>(_ type: T.Type, namespace: String?, labelSelector: LabelSelector?) async throws -> [T] {
        try await store.list(T.self, namespace: namespace, labelSelector: labelSelector)
    }

    public func list<T: ClusterObject>(_ type: T.Type, namespace: String, controlledBy controllerUID: String) async throws -> [T] {
        try await store.list(T.self, namespace: namespace, controlledBy: controllerUID)
    }

    public func listUncontrolled<T: ClusterObject>(_ type: T.Type, namespace: String) async throws -> [T] {
        try await store.listUncontrolled(T.self, namespace: namespace)
    }

    public func create<T: ClusterObject>(_ object: T) async throws -> T {
        try Self.decode(T.self, await store.create(JSONValue(encoding: object)))
    }

    public func update<T: ClusterObject>(_ object: T) async throws -> T {
        let key = T.resourceKind.key(namespace: object.metadata.namespace ?? "default", name: object.metadata.name)
        guard let current = try await store.get(key) else {
            throw BerthError(.notFound, "\(key) not found", object: key.description)
        }
        let incoming = try JSONValue(encoding: object)
        let projection = try JSONValue(encoding: Self.decode(T.self, current))
        let merged = Self.merge(incoming, current: current.object, projection: projection)
        return try Self.decode(T.self, await store.update(merged))
    }

    public func updateStatus<T: ClusterObject>(_ object: T) async throws -> T {
        try Self.decode(T.self, await store.updateStatus(JSONValue(encoding: object)))
    }

    public func bind(_ pod: Pod, message: String) async throws -> Pod {
        let key = ResourceKind.pod.key(namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name)
        let incoming = try JSONValue(encoding: pod)
        let reference = pod.objectReference
        let stored = try await store.transaction { tx in
            guard let current = try tx.get(key) else {
                throw BerthError(.notFound, "\(key) not found", object: key.description)
            }
            let projection = try JSONValue(encoding: Self.decode(Pod.self, current))
            let updated = try tx.update(Self.merge(incoming, current: current.object, projection: projection))
            var withStatus = updated.object
            withStatus["status"] = incoming["status"]
            let result = try tx.updateStatus(withStatus)
            try tx.recordEvent(about: reference, type: .normal, reason: "Scheduled", message: message)
            return result
        }
        return try Self.decode(Pod.self, stored)
    }

    static func decode<T: ClusterObject>(_ type: T.Type, _ stored: StoredObject) throws -> T {
        do {
            return try stored.object.decode(T.self)
        } catch {
            throw BerthError(.internal, "stored object does not decode as \(T.self)", object: stored.key.description, cause: error)
        }
    }

    public func delete(_ kind: ResourceKind, namespace: String, name: String) async throws {
        try await store.delete(kind.key(namespace: namespace, name: name))
    }

    public func changes() async -> AsyncStream<ObjectChange> {
        let feed = store.changes()
        let store = self.store
        let logger = self.logger
        let (stream, continuation) = AsyncStream<ObjectChange>.makeStream()
        let task = Task {
            do {
                for try await event in feed {
                    guard let kind = event.key.resourceKind else { continue }
                    // Only pod and ReplicaSet changes are routed by owner
                    // (Orchestrator.enqueue): the others need no read.
                    var owners: [OwnerReference] = []
                    var nodeName: String?
                    if kind == .pod || kind == .replicaSet {
                        let tree: JSONValue?
                        if let last = event.lastState {
                            tree = last
                            owners = (try? last["metadata"]?["ownerReferences"].map { try $0.decode([OwnerReference].self) }) ?? []
                        } else {
                            let stored = try? await store.get(event.key)
                            tree = stored?.object
                            owners = stored?.ownerReferences ?? []
                        }
                        if kind == .pod, let tree { nodeName = tree["spec"]?["nodeName"]?.stringValue ?? "" }
                    }
                    let type: ObjectChange.ChangeType = switch event.type {
                    case .added: .added
                    case .modified: .modified
                    case .deleted: .deleted
                    }
                    continuation.yield(ObjectChange(type: type, kind: kind, namespace: event.key.namespace, name: event.key.name,
                                                    ownerReferences: owners, uid: event.uid, nodeName: nodeName))
                }
            } catch {
                logger.error("change feed ended: \(error)")
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func recordEvent(involving object: ObjectReference, reason: String, message: String, type: String) async {
        do {
            try await store.recordEvent(about: object, type: EventType(rawValue: type) ?? .normal, reason: reason, message: message)
        } catch {
            logger.warning("could not record event \(reason) for \(object.kind)/\(object.name): \(error)")
        }
    }

    /// `incoming` plus the parts of `current` that the typed model does not
    /// see (present in `current`, absent from its typed `projection`).
    /// Fields the model sees but `incoming` lacks were removed on purpose.
    static func merge(_ incoming: JSONValue, current: JSONValue, projection: JSONValue) -> JSONValue {
        switch (incoming, current, projection) {
        case (.object(var result), .object(let currentFields), .object(let projected)):
            for (key, value) in currentFields {
                if let seen = projected[key] {
                    if let new = result[key] { result[key] = merge(new, current: value, projection: seen) }
                } else if result[key] == nil {
                    result[key] = value
                }
            }
            return .object(result)
        case (.array(let new), .array(let old), .array(let projected)) where new.count == old.count && old.count == projected.count:
            return .array(zip(new, zip(old, projected)).map { merge($0, current: $1.0, projection: $1.1) })
        default:
            return incoming
        }
    }
}
