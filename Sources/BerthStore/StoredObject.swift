import BerthAPI
import Foundation

/// One object as the store holds it: the full Kubernetes-shaped tree
/// (`apiVersion`, `kind`, `metadata`, `spec`/`data`/…, `status`) plus the
/// server-set fields lifted out so that callers need not dig them from the
/// tree.
///
/// The tree is authoritative: its `metadata` already carries `uid`,
/// `resourceVersion` (as a string, as in Kubernetes), `generation` and
/// `creationTimestamp`. The typed fields here mirror them.
public struct StoredObject: Sendable, Hashable {
    public var key: ObjectKey
    public var uid: String
    /// The store-wide revision at which this object was last written, like
    /// an etcd modification revision. Pass it back on update for optimistic
    /// concurrency.
    public var resourceVersion: Int64
    /// Bumped only when the spec (everything except `metadata` and `status`)
    /// changes, so that controllers can compare it with
    /// `status.observedGeneration`.
    public var generation: Int64
    public var creationTimestamp: String
    /// Set when the object was deleted while it still had finalizers.
    public var deletionTimestamp: String?
    /// The full tree, with server-set metadata filled in.
    public var object: JSONValue

    public init(
        key: ObjectKey, uid: String, resourceVersion: Int64, generation: Int64,
        creationTimestamp: String, deletionTimestamp: String?, object: JSONValue
    ) {
        self.key = key
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.generation = generation
        self.creationTimestamp = creationTimestamp
        self.deletionTimestamp = deletionTimestamp
        self.object = object
    }

    /// `metadata.labels`, empty when there are none.
    public var labels: [String: String] { object.stringMap(at: "labels") }

    /// `metadata.annotations`, empty when there are none.
    public var annotations: [String: String] { object.stringMap(at: "annotations") }

    /// `metadata.ownerReferences`, empty when there are none.
    public var ownerReferences: [OwnerReference] {
        guard let refs = object["metadata"]?["ownerReferences"] else { return [] }
        return (try? refs.decode([OwnerReference].self)) ?? []
    }

    /// `metadata.finalizers`, empty when there are none.
    public var finalizers: [String] {
        object["metadata"]?["finalizers"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// `status`, if any.
    public var status: JSONValue? { object["status"] }

    /// Decodes a typed view (`Deployment`, `Pod` …) of the tree.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try object.decode(T.self)
        } catch {
            throw BerthError(
                .internal, "stored object does not decode as \(T.self)", object: key.description, cause: error)
        }
    }
}

/// The result of a list: the items and the store revision they were read
/// at. A controller lists, then watches `Store.changes(after:)` from
/// `resourceVersion` so that it misses nothing in between (Kubernetes'
/// list-then-watch).
public struct ObjectList: Sendable, Hashable {
    public var items: [StoredObject]
    public var resourceVersion: Int64

    public init(items: [StoredObject], resourceVersion: Int64) {
        self.items = items
        self.resourceVersion = resourceVersion
    }
}

/// What `apply` did.
public enum ApplyOutcome: String, Sendable, Hashable {
    case created
    case updated
    case unchanged
}

/// How `delete` treats objects that name the deleted one in their
/// `ownerReferences`.
///
/// Kubernetes' garbage collector deletes dependents asynchronously after the
/// owner is gone (`background`). Berth does the same work in the same
/// transaction as the owner's delete, so there is never a window in which
/// orphans exist and a crash cannot leave half a cascade behind. Dependents
/// that carry finalizers are only marked (deletionTimestamp), exactly as a
/// direct delete of them would.
public enum DeletePropagation: String, Sendable, Hashable {
    /// Delete dependents (recursively) with the owner. The default, as in
    /// Kubernetes.
    case background
    /// Same as `background` here: the cascade is synchronous anyway.
    case foreground
    /// Keep dependents and remove the owner from their `ownerReferences`.
    case orphan
}

extension JSONValue {
    func stringMap(at field: String) -> [String: String] {
        guard let fields = self["metadata"]?[field]?.objectValue else { return [:] }
        return fields.compactMapValues(\.stringValue)
    }
}
