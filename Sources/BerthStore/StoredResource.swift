import BerthAPI
import Foundation

/// A typed view of a kind the store holds, so that callers can write
/// `store.get(Deployment.self, namespace: "default", name: "web")` instead of
/// building keys and decoding trees.
///
/// Writing through a typed value replaces the tree with the type's encoding:
/// fields the type does not model are dropped. That is right for objects a
/// controller creates and owns (ReplicaSets, Pods, Endpoints); to change an
/// object that came from a user's manifest, edit its tree
/// (`StoredObject.object`) instead, or use `updateStatus`, which only
/// touches `status`.
public protocol StoredResource: Codable, Sendable {
    static var resourceKind: ResourceKind { get }
    var metadata: ObjectMeta { get }
}

extension Namespace: StoredResource { public static var resourceKind: ResourceKind { .namespace } }
extension ConfigMap: StoredResource { public static var resourceKind: ResourceKind { .configMap } }
extension Secret: StoredResource { public static var resourceKind: ResourceKind { .secret } }
extension Service: StoredResource { public static var resourceKind: ResourceKind { .service } }
extension Pod: StoredResource { public static var resourceKind: ResourceKind { .pod } }
extension Deployment: StoredResource { public static var resourceKind: ResourceKind { .deployment } }
extension ReplicaSet: StoredResource { public static var resourceKind: ResourceKind { .replicaSet } }
extension Endpoints: StoredResource { public static var resourceKind: ResourceKind { .endpoints } }
extension Node: StoredResource { public static var resourceKind: ResourceKind { .node } }

extension ResourceKind {
    /// The store key of an object of this kind. Cluster-scoped kinds ignore
    /// `namespace`.
    public func key(namespace: String = "", name: String) -> ObjectKey {
        ObjectKey(apiVersion: apiVersion, kind: rawValue, namespace: isNamespaced ? namespace : "", name: name)
    }
}

extension ObjectKey {
    /// The kind, if Berth knows it.
    public var resourceKind: ResourceKind? { ResourceKind(apiVersion: apiVersion, kind: kind) }
}

// MARK: - Typed access on Store

extension Store {
    /// The object, decoded as `T`, or nil. Served from the object cache
    /// when the stored version has been decoded as `T` before.
    public func get<T: StoredResource>(_ type: T.Type, namespace: String = "", name: String) async throws -> T? {
        let key = T.resourceKind.key(namespace: namespace, name: name)
        let cache = self.cache
        return try await read { db in try ObjectRows.fetch(T.self, db, key, cache: cache, fill: true) }
    }

    /// Objects of `T`'s kind, decoded (each only once per resourceVersion).
    public func list<T: StoredResource>(
        _ type: T.Type, namespace: String? = nil, labelSelector: LabelSelector? = nil
    ) async throws -> [T] {
        let kind = T.resourceKind, cache = self.cache
        let values = try await read { db in
            try ObjectRows.fetchAll(T.self, db, apiVersion: kind.apiVersion, kind: kind.rawValue, namespace: namespace,
                                    cache: cache, fill: true)
        }
        guard let labelSelector else { return values }
        return values.filter { labelSelector.matches($0.metadata.labels ?? [:]) }
    }

    /// The objects of `T`'s kind in `namespace` that the object with
    /// `controllerUID` controls (their owner reference to it says
    /// `controller: true`), from the owner index.
    public func list<T: StoredResource>(_ type: T.Type, namespace: String, controlledBy controllerUID: String) async throws -> [T] {
        let kind = T.resourceKind, cache = self.cache
        return try await read { db in
            try ObjectRows.fetchControlled(T.self, db, apiVersion: kind.apiVersion, kind: kind.rawValue, namespace: namespace,
                                           controller: controllerUID, cache: cache, fill: true)
        }
    }

    /// The objects of `T`'s kind in `namespace` that no object controls:
    /// the candidates a controller may adopt.
    public func listUncontrolled<T: StoredResource>(_ type: T.Type, namespace: String) async throws -> [T] {
        let kind = T.resourceKind, cache = self.cache
        return try await read { db in
            try ObjectRows.fetchControlled(T.self, db, apiVersion: kind.apiVersion, kind: kind.rawValue, namespace: namespace,
                                           controller: nil, cache: cache, fill: true)
        }
    }

    @discardableResult
    public func create<T: StoredResource>(_ value: T) async throws -> T {
        let tree = try JSONValue(encoding: value)
        return try typed(try await create(tree))
    }

    @discardableResult
    public func update<T: StoredResource>(_ value: T) async throws -> T {
        let tree = try JSONValue(encoding: value)
        return try typed(try await update(tree))
    }

    @discardableResult
    public func updateStatus<T: StoredResource>(_ value: T) async throws -> T {
        let tree = try JSONValue(encoding: value)
        return try typed(try await updateStatus(tree))
    }

    /// The typed view of a write's result, kept in the cache for the next read.
    private func typed<T: StoredResource>(_ stored: StoredObject) throws -> T {
        let value = try stored.decode(T.self)
        cache.putTyped(value, key: stored.key, resourceVersion: stored.resourceVersion)
        return value
    }
}

// MARK: - Typed access in a transaction

extension StoreTransaction {
    public func get<T: StoredResource>(_ type: T.Type, namespace: String = "", name: String) throws -> T? {
        try ObjectRows.fetch(T.self, database, T.resourceKind.key(namespace: namespace, name: name), cache: cache, fill: false)
    }

    public func list<T: StoredResource>(
        _ type: T.Type, namespace: String? = nil, labelSelector: LabelSelector? = nil
    ) throws -> [T] {
        let kind = T.resourceKind
        let values = try ObjectRows.fetchAll(T.self, database, apiVersion: kind.apiVersion, kind: kind.rawValue,
                                             namespace: namespace, cache: cache, fill: false)
        guard let labelSelector else { return values }
        return values.filter { labelSelector.matches($0.metadata.labels ?? [:]) }
    }

    @discardableResult
    public func create<T: StoredResource>(_ value: T) throws -> T {
        try create(try JSONValue(encoding: value)).decode(T.self)
    }

    @discardableResult
    public func update<T: StoredResource>(_ value: T) throws -> T {
        try update(try JSONValue(encoding: value)).decode(T.self)
    }

    @discardableResult
    public func updateStatus<T: StoredResource>(_ value: T) throws -> T {
        try updateStatus(try JSONValue(encoding: value)).decode(T.self)
    }
}
