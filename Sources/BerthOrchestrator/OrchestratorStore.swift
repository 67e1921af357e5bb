import BerthAPI
import BerthStore

/// A typed cluster object the orchestrator reads and writes: the resource
/// types of BerthAPI as BerthStore knows them, with a writable `metadata`.
public protocol ClusterObject: StoredResource, Hashable {
    var metadata: ObjectMeta { get set }
}

extension Deployment: ClusterObject {}
extension ReplicaSet: ClusterObject {}
extension Pod: ClusterObject {}
extension Node: ClusterObject {}
extension ConfigMap: ClusterObject {}
extension Secret: ClusterObject {}
extension BerthAPI.Service: ClusterObject {}
extension Endpoints: ClusterObject {}
extension BerthAPI.Namespace: ClusterObject {}

/// One change seen on the store's change feed. Carries no payload the
/// controllers depend on: they re-read the object (level-triggered), so a
/// missed or duplicated change is harmless.
public struct ObjectChange: Sendable, Hashable {
    public enum ChangeType: String, Sendable, Hashable { case added, modified, deleted }
    public var type: ChangeType
    public var kind: ResourceKind
    public var namespace: String
    public var name: String
    /// Owner references of the object at the time of the change, so that a
    /// changed Pod wakes its ReplicaSet and a changed ReplicaSet its Deployment.
    public var ownerReferences: [OwnerReference]
    /// The uid of the object (so that the kubelet can clean up after a pod
    /// that is already gone from the store).
    public var uid: String?
    /// For a pod: its `spec.nodeName` at the change ("" when unbound); nil
    /// when the feed does not say. A bound pod is not the scheduler's.
    public var nodeName: String?

    public init(type: ChangeType, kind: ResourceKind, namespace: String, name: String,
                ownerReferences: [OwnerReference] = [], uid: String? = nil, nodeName: String? = nil) {
        self.nodeName = nodeName
        self.type = type
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.ownerReferences = ownerReferences
        self.uid = uid
    }
}

/// What the orchestrator needs from the object store — the seam between the
/// controllers and BerthStore, with the semantics of the Kubernetes API server:
///
/// - `create` fills uid, resourceVersion, generation 1 and creationTimestamp;
///   it throws `.alreadyExists` when the name is taken.
/// - `update` writes metadata and spec but keeps the stored status; it throws
///   `.conflict` when `metadata.resourceVersion` is stale and bumps
///   `generation` when the spec changed.
/// - `updateStatus` writes only the status (same conflict rule).
/// - `delete` removes the object now (throws `.notFound`) — unless it has
///   finalizers: then it only sets `deletionTimestamp`, and the update that
///   removes the last finalizer removes the object. Graceful pod deletion
///   rests on this (the kubelet's finalizer).
public protocol OrchestratorStore: Sendable {
    func get<T: ClusterObject>(_ type: T.Type, namespace: String, name: String) async throws -> T?
    /// All objects of a kind, in one namespace or (nil) in all of them.
    func list<T: ClusterObject>(_ type: T.Type, namespace: String?) async throws -> [T]
    /// Those whose labels match `labelSelector` (all when nil). A backend
    /// that can filter before decoding should: controllers list by selector
    /// on every reconcile.
    func list<T: ClusterObject>(_ type: T.Type, namespace: String?, labelSelector: LabelSelector?) async throws -> [T]
    /// The objects of a kind in `namespace` whose controller reference
    /// (`controller: true`) names `controllerUID`. A backend with an owner
    /// index should use it: controllers ask on every reconcile, and a walk
    /// over the whole kind made a pass over n Deployments cost n².
    func list<T: ClusterObject>(_ type: T.Type, namespace: String, controlledBy controllerUID: String) async throws -> [T]
    /// The objects of a kind in `namespace` that have no controller: what a
    /// controller may adopt.
    func listUncontrolled<T: ClusterObject>(_ type: T.Type, namespace: String) async throws -> [T]
    /// The scheduler's bind: writes the pod (its `spec.nodeName`) and then
    /// its status (PodScheduled), and records a Normal "Scheduled" event
    /// with `message` — in one transaction where the backend can, since it
    /// is on the path of every pod start.
    func bind(_ pod: Pod, message: String) async throws -> Pod
    func create<T: ClusterObject>(_ object: T) async throws -> T
    func update<T: ClusterObject>(_ object: T) async throws -> T
    func updateStatus<T: ClusterObject>(_ object: T) async throws -> T
    func delete(_ kind: ResourceKind, namespace: String, name: String) async throws
    /// The change feed. Each call returns a new stream that sees changes from now on.
    func changes() async -> AsyncStream<ObjectChange>
    /// Records an event about `object` (reason in CamelCase as in Kubernetes;
    /// type "Normal" or "Warning"). The store folds repeats into a count.
    func recordEvent(involving object: ObjectReference, reason: String, message: String, type: String) async
}

extension OrchestratorStore {
    public func list<T: ClusterObject>(_ type: T.Type, namespace: String, controlledBy controllerUID: String) async throws -> [T] {
        try await list(T.self, namespace: namespace).filter { $0.controllerRef?.uid == controllerUID }
    }

    public func listUncontrolled<T: ClusterObject>(_ type: T.Type, namespace: String) async throws -> [T] {
        try await list(T.self, namespace: namespace).filter { $0.controllerRef == nil }
    }

    public func bind(_ pod: Pod, message: String) async throws -> Pod {
        var bound = try await update(pod)
        bound.status = pod.status
        bound = try await updateStatus(bound)
        await recordEvent(involving: pod.objectReference, reason: "Scheduled", message: message, type: "Normal")
        return bound
    }

    public func list<T: ClusterObject>(_ type: T.Type, namespace: String?, labelSelector: LabelSelector?) async throws -> [T] {
        let all = try await list(T.self, namespace: namespace)
        guard let labelSelector else { return all }
        return all.filter { labelSelector.matches($0.metadata.labels ?? [:]) }
    }
}

extension ClusterObject {
    var namespace: String { metadata.namespace ?? "default" }
    var name: String { metadata.name }
    var uid: String { metadata.uid ?? "" }

    /// The reference an Event points at.
    var objectReference: ObjectReference {
        ObjectReference(apiVersion: Self.resourceKind.apiVersion, kind: Self.resourceKind.rawValue,
                        namespace: Self.resourceKind.isNamespaced ? namespace : nil, name: name, uid: metadata.uid)
    }

    /// The owner reference marked `controller: true`, if any.
    var controllerRef: OwnerReference? {
        metadata.ownerReferences?.first { $0.controller == true }
    }

    var isTerminating: Bool { metadata.deletionTimestamp != nil }
}
