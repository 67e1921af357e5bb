/// The image configuration blob: what to run and the diff_ids of the layers.
public struct OCIImage: Sendable, Hashable, Codable {
    public var created: String?
    public var author: String?
    public var architecture: String?
    public var os: String?
    public var config: OCIImageConfig?
    public var rootfs: OCIRootFS
    public var history: [OCIHistory]?

    public init(created: String?, architecture: String, os: String, config: OCIImageConfig?, rootfs: OCIRootFS, history: [OCIHistory]? = nil) {
        self.created = created
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }
}

public struct OCIRootFS: Sendable, Hashable, Codable {
    public var type: String
    /// sha256 of each *uncompressed* layer tar, lowest first.
    public var diffIDs: [OCIDigest]

    public init(diffIDs: [OCIDigest]) {
        self.type = "layers"
        self.diffIDs = diffIDs
    }

    enum CodingKeys: String, CodingKey {
        case type
        case diffIDs = "diff_ids"
    }
}

public struct OCIHistory: Sendable, Hashable, Codable {
    public var created: String?
    public var createdBy: String?
    public var comment: String?
    public var emptyLayer: Bool?

    public init(created: String?, createdBy: String?, comment: String? = nil, emptyLayer: Bool? = nil) {
        self.created = created
        self.createdBy = createdBy
        self.comment = comment
        self.emptyLayer = emptyLayer
    }

    enum CodingKeys: String, CodingKey {
        case created, comment
        case createdBy = "created_by"
        case emptyLayer = "empty_layer"
    }
}

/// The process defaults an image carries (the `config` object of the image
/// configuration): what the container side combines with a pod's
/// `command`, `args`, `env`, `workingDir` and `securityContext`.
public struct OCIImageConfig: Sendable, Hashable, Codable {
    public var user: String?
    /// `"80/tcp"`, `"53/udp"`.
    public var exposedPorts: [String]?
    /// `KEY=value`, in order.
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var volumes: [String]?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?

    public init(
        user: String? = nil, exposedPorts: [String]? = nil, env: [String]? = nil, entrypoint: [String]? = nil,
        cmd: [String]? = nil, volumes: [String]? = nil, workingDir: String? = nil, labels: [String: String]? = nil,
        stopSignal: String? = nil
    ) {
        self.user = user
        self.exposedPorts = exposedPorts
        self.env = env
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.volumes = volumes
        self.workingDir = workingDir
        self.labels = labels
        self.stopSignal = stopSignal
    }

    enum CodingKeys: String, CodingKey {
        case user = "User"
        case exposedPorts = "ExposedPorts"
        case env = "Env"
        case entrypoint = "Entrypoint"
        case cmd = "Cmd"
        case volumes = "Volumes"
        case workingDir = "WorkingDir"
        case labels = "Labels"
        case stopSignal = "StopSignal"
    }

    /// `ExposedPorts` and `Volumes` are JSON objects whose values are always
    /// `{}`; only the keys carry meaning.
    private struct EmptyObject: Codable, Hashable {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        exposedPorts = try c.decodeIfPresent([String: EmptyObject].self, forKey: .exposedPorts)?.keys.sorted()
        env = try c.decodeIfPresent([String].self, forKey: .env)
        entrypoint = try c.decodeIfPresent([String].self, forKey: .entrypoint)
        cmd = try c.decodeIfPresent([String].self, forKey: .cmd)
        volumes = try c.decodeIfPresent([String: EmptyObject].self, forKey: .volumes)?.keys.sorted()
        workingDir = try c.decodeIfPresent(String.self, forKey: .workingDir)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        stopSignal = try c.decodeIfPresent(String.self, forKey: .stopSignal)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(user, forKey: .user)
        try c.encodeIfPresent(exposedPorts.map { Dictionary(uniqueKeysWithValues: $0.map { ($0, EmptyObject()) }) }, forKey: .exposedPorts)
        try c.encodeIfPresent(env, forKey: .env)
        try c.encodeIfPresent(entrypoint, forKey: .entrypoint)
        try c.encodeIfPresent(cmd, forKey: .cmd)
        try c.encodeIfPresent(volumes.map { Dictionary(uniqueKeysWithValues: $0.map { ($0, EmptyObject()) }) }, forKey: .volumes)
        try c.encodeIfPresent(workingDir, forKey: .workingDir)
        try c.encodeIfPresent(labels, forKey: .labels)
        try c.encodeIfPresent(stopSignal, forKey: .stopSignal)
    }
}
