/// The pod template and its parts, with the fields people actually write.
/// Fields not modelled here stay in the object's JSON tree (see `JSONValue`).
public struct PodTemplateSpec: Sendable, Hashable, Codable {
    public var metadata: TemplateMeta?
    public var spec: PodSpec

    public init(metadata: TemplateMeta? = nil, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// Template metadata: like `ObjectMeta` but the name is optional.
public struct TemplateMeta: Sendable, Hashable, Codable {
    public var name: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?

    public init(labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.labels = labels
        self.annotations = annotations
    }
}

public struct PodSpec: Sendable, Hashable, Codable {
    public var containers: [Container]
    public var initContainers: [Container]?
    public var volumes: [Volume]?
    /// Always, OnFailure, Never
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int?
    public var hostname: String?
    public var nodeName: String?
    public var nodeSelector: [String: String]?

    public init(containers: [Container]) {
        self.containers = containers
    }
}

public struct Container: Sendable, Hashable, Codable {
    public var name: String
    public var image: String
    /// Always, IfNotPresent, Never
    public var imagePullPolicy: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var env: [EnvVar]?
    public var envFrom: [EnvFromSource]?
    public var ports: [ContainerPort]?
    public var resources: ResourceRequirements?
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    public var volumeMounts: [VolumeMount]?
    public var securityContext: SecurityContext?

    public init(name: String, image: String) {
        self.name = name
        self.image = image
    }
}

public struct EnvVar: Sendable, Hashable, Codable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?

    public init(name: String, value: String? = nil, valueFrom: EnvVarSource? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }
}

public struct EnvVarSource: Sendable, Hashable, Codable {
    public var configMapKeyRef: KeySelector?
    public var secretKeyRef: KeySelector?
    public var fieldRef: FieldSelector?

    public init(configMapKeyRef: KeySelector? = nil, secretKeyRef: KeySelector? = nil, fieldRef: FieldSelector? = nil) {
        self.configMapKeyRef = configMapKeyRef
        self.secretKeyRef = secretKeyRef
        self.fieldRef = fieldRef
    }
}

public struct KeySelector: Sendable, Hashable, Codable {
    public var name: String
    public var key: String
    public var optional: Bool?

    public init(name: String, key: String, optional: Bool? = nil) {
        self.name = name
        self.key = key
        self.optional = optional
    }
}

public struct FieldSelector: Sendable, Hashable, Codable {
    public var fieldPath: String
    public var apiVersion: String?

    public init(fieldPath: String) {
        self.fieldPath = fieldPath
    }
}

public struct EnvFromSource: Sendable, Hashable, Codable {
    public struct Ref: Sendable, Hashable, Codable {
        public var name: String
        public var optional: Bool?
        public init(name: String, optional: Bool? = nil) {
            self.name = name
            self.optional = optional
        }
    }

    public var prefix: String?
    public var configMapRef: Ref?
    public var secretRef: Ref?

    public init(prefix: String? = nil, configMapRef: Ref? = nil, secretRef: Ref? = nil) {
        self.prefix = prefix
        self.configMapRef = configMapRef
        self.secretRef = secretRef
    }
}

public struct ContainerPort: Sendable, Hashable, Codable {
    public var name: String?
    public var containerPort: Int
    public var hostPort: Int?
    public var hostIP: String?
    /// TCP, UDP, SCTP
    public var `protocol`: String?

    public init(name: String? = nil, containerPort: Int, protocol: String? = nil) {
        self.name = name
        self.containerPort = containerPort
        self.protocol = `protocol`
    }
}

public struct ResourceRequirements: Sendable, Hashable, Codable {
    public var requests: [String: Quantity]?
    public var limits: [String: Quantity]?

    public init(requests: [String: Quantity]? = nil, limits: [String: Quantity]? = nil) {
        self.requests = requests
        self.limits = limits
    }
}

public struct Probe: Sendable, Hashable, Codable {
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var exec: ExecAction?
    public var initialDelaySeconds: Int?
    /// Kubernetes default 1.
    public var timeoutSeconds: Int?
    /// Kubernetes default 10.
    public var periodSeconds: Int?
    /// Kubernetes default 1.
    public var successThreshold: Int?
    /// Kubernetes default 3.
    public var failureThreshold: Int?
    public var terminationGracePeriodSeconds: Int?

    public init() {}
}

public struct HTTPGetAction: Sendable, Hashable, Codable {
    public struct Header: Sendable, Hashable, Codable {
        public var name: String
        public var value: String
    }

    public var path: String?
    public var port: IntOrString
    public var host: String?
    /// HTTP or HTTPS
    public var scheme: String?
    public var httpHeaders: [Header]?

    public init(path: String? = nil, port: IntOrString) {
        self.path = path
        self.port = port
    }
}

public struct TCPSocketAction: Sendable, Hashable, Codable {
    public var port: IntOrString
    public var host: String?

    public init(port: IntOrString) {
        self.port = port
    }
}

public struct ExecAction: Sendable, Hashable, Codable {
    public var command: [String]?

    public init(command: [String]) {
        self.command = command
    }
}

public struct VolumeMount: Sendable, Hashable, Codable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public var subPath: String?

    public init(name: String, mountPath: String, readOnly: Bool? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
    }
}

public struct SecurityContext: Sendable, Hashable, Codable {
    public struct Capabilities: Sendable, Hashable, Codable {
        public var add: [String]?
        public var drop: [String]?
        public init(add: [String]? = nil, drop: [String]? = nil) {
            self.add = add
            self.drop = drop
        }
    }

    public var runAsUser: Int?
    public var runAsGroup: Int?
    public var runAsNonRoot: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var privileged: Bool?
    public var capabilities: Capabilities?

    public init() {}
}

public struct Volume: Sendable, Hashable, Codable {
    public struct KeyToPath: Sendable, Hashable, Codable {
        public var key: String
        public var path: String
        public var mode: Int?
        public init(key: String, path: String, mode: Int? = nil) {
            self.key = key
            self.path = path
            self.mode = mode
        }
    }

    public struct ConfigMapSource: Sendable, Hashable, Codable {
        public var name: String
        public var items: [KeyToPath]?
        /// Kubernetes default 0644.
        public var defaultMode: Int?
        public var optional: Bool?
        public init(name: String) { self.name = name }
    }

    public struct SecretSource: Sendable, Hashable, Codable {
        public var secretName: String
        public var items: [KeyToPath]?
        public var defaultMode: Int?
        public var optional: Bool?
        public init(secretName: String) { self.secretName = secretName }
    }

    public struct EmptyDirSource: Sendable, Hashable, Codable {
        /// "" (disk) or "Memory"
        public var medium: String?
        public var sizeLimit: Quantity?
        public init() {}
    }

    public var name: String
    public var configMap: ConfigMapSource?
    public var secret: SecretSource?
    public var emptyDir: EmptyDirSource?

    public init(name: String) {
        self.name = name
    }
}
