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
    /// The object, decoded as `T`, or nil.
    public func get<T: StoredResource>(_ type: T.Type, namespace: String = "", name: String) async throws -> T? {
        try await get(T.resourceKind.key(namespace: namespace, name: name))?.decode(T.self)
    }

    /// Objects of `T`'s kind, decoded.
    public func list<T: StoredResource>(
        _ type: T.Type, namespace: String? = nil, labelSelector: LabelSelector? = nil
    ) async throws -> [T] {
        try await list(T.resourceKind, namespace: namespace, labelSelector: labelSelector).items.map { try $0.decode(T.self) }
    }

    @discardableResult
    public func create<T: StoredResource>(_ value: T) async throws -> T {
        let tree = try JSONValue(encoding: value)
        return try await create(tree).decode(T.self)
    }

    @discardableResult
    public func update<T: StoredResource>(_ value: T) async throws -> T {
        let tree = try JSONValue(encoding: value)
        return try await update(tree).decode(T.self)
    }

    @discardableResult
    public func updateStatus<T: StoredResource>(_ value: T) async throws -> T {
        let tree = try JSONValue(encoding: value)
        return try await updateStatus(tree).decode(T.self)
    }
}

// MARK: - Typed access in a transaction

extension StoreTransaction {
    public func get<T: StoredResource>(_ type: T.Type, namespace: String = "", name: String) throws -> T? {
        try get(T.resourceKind.key(namespace: namespace, name: name))?.decode(T.self)
    }

    public func list<T: StoredResource>(
        _ type: T.Type, namespace: String? = nil, labelSelector: LabelSelector? = nil
    ) throws -> [T] {
        try list(T.resourceKind, namespace: namespace, labelSelector: labelSelector).map { try $0.decode(T.self) }
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
