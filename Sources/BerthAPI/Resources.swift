// The kinds Berth serves. Each is a typed view of an object's JSON tree.

/// A status condition (Available, Progressing, Ready …).
public struct Condition: Sendable, Hashable, Codable {
    public var type: String
    /// "True", "False", "Unknown"
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastUpdateTime: String?
    public var lastTransitionTime: String?

    public init(type: String, status: String, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }
}

// MARK: - v1 Namespace, ConfigMap, Secret

public struct Namespace: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "Namespace"
    public var metadata: ObjectMeta

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

public struct ConfigMap: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "ConfigMap"
    public var metadata: ObjectMeta
    public var data: [String: String]?
    /// base64, as in Kubernetes
    public var binaryData: [String: String]?
    public var immutable: Bool?

    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
    }
}

/// A Secret. `data` holds base64 text, as in Kubernetes; `stringData` is
/// write-only and is folded into `data` when manifests are normalized.
/// Values must never be printed: use `redacted()` for anything a person sees.
public struct Secret: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "Secret"
    public var metadata: ObjectMeta
    public var type: String?
    public var data: [String: String]?
    public var stringData: [String: String]?
    public var immutable: Bool?

    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
    }
}

// MARK: - v1 Pod

public struct Pod: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "Pod"
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct PodStatus: Sendable, Hashable, Codable {
    /// Pending, Running, Succeeded, Failed, Unknown
    public var phase: String?
    public var conditions: [Condition]?
    public var hostIP: String?
    public var podIP: String?
    public var startTime: String?
    public var reason: String?
    public var message: String?
    public var containerStatuses: [ContainerStatus]?
    public var initContainerStatuses: [ContainerStatus]?

    public init(phase: String? = nil) { self.phase = phase }
}

public struct ContainerStatus: Sendable, Hashable, Codable {
    public struct Waiting: Sendable, Hashable, Codable {
        public var reason: String?
        public var message: String?
        public init(reason: String? = nil, message: String? = nil) {
            self.reason = reason
            self.message = message
        }
    }

    public struct Running: Sendable, Hashable, Codable {
        public var startedAt: String?
        public init(startedAt: String? = nil) { self.startedAt = startedAt }
    }

    public struct Terminated: Sendable, Hashable, Codable {
        public var exitCode: Int
        public var signal: Int?
        public var reason: String?
        public var message: String?
        public var startedAt: String?
        public var finishedAt: String?
        public var containerID: String?
        public init(exitCode: Int, reason: String? = nil) {
            self.exitCode = exitCode
            self.reason = reason
        }
    }

    public struct State: Sendable, Hashable, Codable {
        public var waiting: Waiting?
        public var running: Running?
        public var terminated: Terminated?
        public init(waiting: Waiting? = nil, running: Running? = nil, terminated: Terminated? = nil) {
            self.waiting = waiting
            self.running = running
            self.terminated = terminated
        }
    }

    public var name: String
    public var state: State?
    public var lastState: State?
    public var ready: Bool
    public var started: Bool?
    public var restartCount: Int
    public var image: String
    public var imageID: String?
    public var containerID: String?

    public init(name: String, image: String, ready: Bool = false, restartCount: Int = 0) {
        self.name = name
        self.image = image
        self.ready = ready
        self.restartCount = restartCount
    }
}

// MARK: - apps/v1 Deployment, ReplicaSet

public struct DeploymentStrategy: Sendable, Hashable, Codable {
    public struct RollingUpdate: Sendable, Hashable, Codable {
        public var maxSurge: IntOrString?
        public var maxUnavailable: IntOrString?
        public init(maxSurge: IntOrString? = nil, maxUnavailable: IntOrString? = nil) {
            self.maxSurge = maxSurge
            self.maxUnavailable = maxUnavailable
        }
    }

    /// RollingUpdate (default) or Recreate
    public var type: String?
    public var rollingUpdate: RollingUpdate?

    public init(type: String? = nil, rollingUpdate: RollingUpdate? = nil) {
        self.type = type
        self.rollingUpdate = rollingUpdate
    }
}

public struct DeploymentSpec: Sendable, Hashable, Codable {
    public var replicas: Int?
    public var selector: LabelSelector
    public var template: PodTemplateSpec
    public var strategy: DeploymentStrategy?
    public var minReadySeconds: Int?
    public var progressDeadlineSeconds: Int?
    public var revisionHistoryLimit: Int?
    public var paused: Bool?

    public init(replicas: Int? = nil, selector: LabelSelector, template: PodTemplateSpec) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }
}

public struct DeploymentStatus: Sendable, Hashable, Codable {
    public var observedGeneration: Int?
    public var replicas: Int?
    public var updatedReplicas: Int?
    public var readyReplicas: Int?
    public var availableReplicas: Int?
    public var unavailableReplicas: Int?
    public var conditions: [Condition]?
    public var collisionCount: Int?

    public init() {}
}

public struct Deployment: Sendable, Hashable, Codable {
    public var apiVersion = "apps/v1"
    public var kind = "Deployment"
    public var metadata: ObjectMeta
    public var spec: DeploymentSpec
    public var status: DeploymentStatus?

    public init(metadata: ObjectMeta, spec: DeploymentSpec, status: DeploymentStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct ReplicaSetSpec: Sendable, Hashable, Codable {
    public var replicas: Int?
    public var minReadySeconds: Int?
    public var selector: LabelSelector
    public var template: PodTemplateSpec

    public init(replicas: Int? = nil, selector: LabelSelector, template: PodTemplateSpec) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }
}

public struct ReplicaSetStatus: Sendable, Hashable, Codable {
    public var replicas: Int
    public var fullyLabeledReplicas: Int?
    public var readyReplicas: Int?
    public var availableReplicas: Int?
    public var observedGeneration: Int?
    public var conditions: [Condition]?

    public init(replicas: Int = 0) { self.replicas = replicas }
}

public struct ReplicaSet: Sendable, Hashable, Codable {
    public var apiVersion = "apps/v1"
    public var kind = "ReplicaSet"
    public var metadata: ObjectMeta
    public var spec: ReplicaSetSpec
    public var status: ReplicaSetStatus?

    public init(metadata: ObjectMeta, spec: ReplicaSetSpec, status: ReplicaSetStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

// MARK: - v1 Service, Endpoints

public struct ServicePort: Sendable, Hashable, Codable {
    public var name: String?
    /// TCP (default), UDP, SCTP
    public var `protocol`: String?
    public var port: Int
    public var targetPort: IntOrString?
    public var nodePort: Int?

    public init(name: String? = nil, port: Int, targetPort: IntOrString? = nil, nodePort: Int? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }
}

public struct ServiceSpec: Sendable, Hashable, Codable {
    /// ClusterIP (default) or NodePort
    public var type: String?
    public var selector: [String: String]?
    public var ports: [ServicePort]?
    public var clusterIP: String?
    public var clusterIPs: [String]?
    public var sessionAffinity: String?

    public init(type: String? = nil, selector: [String: String]? = nil, ports: [ServicePort]? = nil) {
        self.type = type
        self.selector = selector
        self.ports = ports
    }
}

public struct Service: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "Service"
    public var metadata: ObjectMeta
    public var spec: ServiceSpec

    public init(metadata: ObjectMeta, spec: ServiceSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct EndpointAddress: Sendable, Hashable, Codable {
    public struct TargetRef: Sendable, Hashable, Codable {
        public var kind: String
        public var namespace: String?
        public var name: String
        public var uid: String?
        public init(kind: String, namespace: String?, name: String, uid: String?) {
            self.kind = kind
            self.namespace = namespace
            self.name = name
            self.uid = uid
        }
    }

    public var ip: String
    public var nodeName: String?
    public var targetRef: TargetRef?

    public init(ip: String, nodeName: String? = nil, targetRef: TargetRef? = nil) {
        self.ip = ip
        self.nodeName = nodeName
        self.targetRef = targetRef
    }
}

public struct EndpointPort: Sendable, Hashable, Codable {
    public var name: String?
    public var port: Int
    public var `protocol`: String?

    public init(name: String? = nil, port: Int, protocol: String? = "TCP") {
        self.name = name
        self.port = port
        self.protocol = `protocol`
    }
}

public struct EndpointSubset: Sendable, Hashable, Codable {
    public var addresses: [EndpointAddress]?
    public var notReadyAddresses: [EndpointAddress]?
    public var ports: [EndpointPort]?

    public init(addresses: [EndpointAddress]? = nil, notReadyAddresses: [EndpointAddress]? = nil, ports: [EndpointPort]? = nil) {
        self.addresses = addresses
        self.notReadyAddresses = notReadyAddresses
        self.ports = ports
    }
}

public struct Endpoints: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "Endpoints"
    public var metadata: ObjectMeta
    public var subsets: [EndpointSubset]?

    public init(metadata: ObjectMeta, subsets: [EndpointSubset]? = nil) {
        self.metadata = metadata
        self.subsets = subsets
    }
}

// MARK: - v1 Event, Node

public struct ObjectReference: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String
    public var namespace: String?
    public var name: String
    public var uid: String?

    public init(apiVersion: String? = nil, kind: String, namespace: String?, name: String, uid: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

public struct Event: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "Event"
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String
    public var message: String
    /// Normal or Warning
    public var type: String
    public var count: Int
    public var firstTimestamp: String
    public var lastTimestamp: String
    public var source: [String: String]?

    public init(
        metadata: ObjectMeta, involvedObject: ObjectReference, reason: String, message: String,
        type: String, count: Int, firstTimestamp: String, lastTimestamp: String
    ) {
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
        self.count = count
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
    }
}

public struct NodeStatus: Sendable, Hashable, Codable {
    public var capacity: [String: Quantity]?
    public var allocatable: [String: Quantity]?
    public var conditions: [Condition]?
    public var addresses: [[String: String]]?

    public init() {}
}

public struct Node: Sendable, Hashable, Codable {
    public var apiVersion = "v1"
    public var kind = "Node"
    public var metadata: ObjectMeta
    public var status: NodeStatus?

    public init(metadata: ObjectMeta, status: NodeStatus? = nil) {
        self.metadata = metadata
        self.status = status
    }
}
