import BerthAPI

/// What a user or the orchestrator asks for (`berth run` flags, a pod's
/// container). `ContainerManager.create` resolves it against the image into a
/// `ContainerSpec`.
public struct ContainerOptions: Sendable, Hashable, Codable {
    /// An image reference, resolved through the manager's `ImageResolver`.
    public var image: String?
    /// A root filesystem directory used instead of an image (read-only lower layer).
    public var rootfs: String?
    public var name: String?
    /// Replaces the image's Entrypoint (and then also drops its Cmd, like Docker).
    public var entrypoint: [String]?
    /// Replaces the image's Cmd.
    public var command: [String]?
    /// Merged over the image's Env.
    public var env: [String: String]
    /// `uid`, `uid:gid`, `name` or `name:group`, resolved from the rootfs' /etc/passwd and /etc/group.
    public var user: String?
    public var workingDir: String?
    public var hostname: String?
    public var readOnlyRootfs: Bool
    public var capAdd: [String]
    public var capDrop: [String]
    public var noNewPrivileges: Bool
    public var mounts: [Mount]
    public var limits: ResourceLimits
    public var labels: [String: String]
    /// Pod containers join the sandbox's net, ipc and uts namespaces.
    public var sandboxID: String?
    public var extraHosts: [String: String]
    public var dns: DNSConfig?
    /// The log rotates to `container.log.1` past this size.
    public var logMaxBytes: Int64
    public var runAsNonRoot: Bool
    /// `berth run --rm`: remove the container when it exits (done by its shim,
    /// so it also happens for `-d --rm` with no Berth process around).
    public var autoRemove: Bool = false
    /// `berth run -t`: the process gets a terminal (a pty of the container's
    /// devpts) as stdin, stdout and stderr; its output is logged as stdout.
    public var tty: Bool = false

    public init(
        image: String? = nil, rootfs: String? = nil, name: String? = nil, entrypoint: [String]? = nil,
        command: [String]? = nil, env: [String: String] = [:], user: String? = nil, workingDir: String? = nil,
        hostname: String? = nil, readOnlyRootfs: Bool = false, capAdd: [String] = [], capDrop: [String] = [],
        noNewPrivileges: Bool = true, mounts: [Mount] = [], limits: ResourceLimits = ResourceLimits(),
        labels: [String: String] = [:], sandboxID: String? = nil, extraHosts: [String: String] = [:],
        dns: DNSConfig? = nil, logMaxBytes: Int64 = 10 * 1024 * 1024, runAsNonRoot: Bool = false
    ) {
        self.image = image
        self.rootfs = rootfs
        self.name = name
        self.entrypoint = entrypoint
        self.command = command
        self.env = env
        self.user = user
        self.workingDir = workingDir
        self.hostname = hostname
        self.readOnlyRootfs = readOnlyRootfs
        self.capAdd = capAdd
        self.capDrop = capDrop
        self.noNewPrivileges = noNewPrivileges
        self.mounts = mounts
        self.limits = limits
        self.labels = labels
        self.sandboxID = sandboxID
        self.extraHosts = extraHosts
        self.dns = dns
        self.logMaxBytes = logMaxBytes
        self.runAsNonRoot = runAsNonRoot
    }
}

/// An image as the container side needs it: layer directories to stack with
/// overlayfs and the config defaults. The image store provides it.
public struct ContainerImage: Sendable, Hashable, Codable {
    public var reference: String
    public var digest: String?
    /// Unpacked layer directories, lowest (base) layer first.
    public var layers: [String]
    public var env: [String]
    public var entrypoint: [String]
    public var cmd: [String]
    public var user: String?
    public var workingDir: String?

    public init(reference: String, digest: String? = nil, layers: [String], env: [String] = [],
                entrypoint: [String] = [], cmd: [String] = [], user: String? = nil, workingDir: String? = nil) {
        self.reference = reference
        self.digest = digest
        self.layers = layers
        self.env = env
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.user = user
        self.workingDir = workingDir
    }
}

/// The seam to the image store: turns a reference into layers + config, and
/// holds the layers (a lease named after the container) until released.
public protocol ImageResolver: Sendable {
    func resolveImage(_ reference: String, leaseID: String) async throws -> ContainerImage
    func releaseImage(leaseID: String) async throws
    /// The file that holds the lease, if removing it releases the lease: the
    /// shim of a `--rm` container unlinks it when the container is gone.
    func leaseFile(leaseID: String) -> String?
}

extension ImageResolver {
    public func leaseFile(leaseID: String) -> String? { nil }
}
