/// Kubernetes' `metadata`. Server-set fields (uid, resourceVersion,
/// generation, creationTimestamp) are optional because manifests never carry
/// them; the store fills them in.
public struct ObjectMeta: Sendable, Hashable, Codable {
    public var name: String
    public var namespace: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var ownerReferences: [OwnerReference]?
    public var generateName: String?
    /// Kubernetes finalizers: while any is left, a delete only sets
    /// `deletionTimestamp` (the kubelet holds one on running pods so that
    /// deletion waits for containers to stop gracefully).
    public var finalizers: [String]?

    public init(
        name: String,
        namespace: String? = nil,
        labels: [String: String]? = nil,
        annotations: [String: String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

public struct OwnerReference: Sendable, Hashable, Codable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = true) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = controller
    }
}

/// The identity of an object in the cluster: kind (with its group), namespace
/// and name. Cluster-scoped kinds (Namespace, Node) have an empty namespace.
public struct ObjectKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var apiVersion: String
    public var kind: String
    public var namespace: String
    public var name: String

    public init(apiVersion: String, kind: String, namespace: String, name: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// `Deployment/default/web`, or `Namespace/shop` for cluster-scoped kinds.
    public var description: String {
        namespace.isEmpty ? "\(kind)/\(name)" : "\(kind)/\(namespace)/\(name)"
    }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name)
    }
}

/// Well-known labels and annotations that Berth sets or reads.
public enum WellKnown {
    /// Records which git source owns an object; prune only ever deletes
    /// objects that carry it.
    public static let sourceLabel = "berth.dev/source"
    /// Orders applies further within one kind, like Argo CD's sync waves.
    public static let syncWaveAnnotation = "berth.dev/sync-wave"
    /// Kubernetes' label on ReplicaSets and Pods.
    public static let podTemplateHashLabel = "pod-template-hash"
    /// Kubernetes' revision annotation on Deployments and ReplicaSets.
    public static let revisionAnnotation = "deployment.kubernetes.io/revision"
}
