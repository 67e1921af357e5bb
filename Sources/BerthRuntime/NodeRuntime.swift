import BerthAPI

/// What the orchestrator asks of a node: Kubernetes' CRI, cut down to what a
/// kubelet for one machine needs.
///
/// A *sandbox* holds the namespaces a pod's containers share (net, ipc, uts)
/// and the pod's network address. Containers are created in a sandbox, run
/// one process tree each and are identified by runtime-assigned ids.
///
/// The orchestrator only talks to the node through this protocol, so its
/// controllers can be unit-tested against a fake node; the Linux runtime
/// (`LinuxNodeRuntime`) implements it for real and has its own root tests.
public protocol NodeRuntime: Sendable {
    /// Makes the image available locally according to the pull policy
    /// (`Always`, `IfNotPresent`, `Never`). Throws `BerthError` with code
    /// `.imageNotFound` for `Never` and a missing image (the orchestrator maps
    /// it to ErrImageNeverPull) and `.registry` for failed pulls (ErrImagePull).
    func ensureImage(_ reference: String, pullPolicy: String) async throws -> ImageSummary

    /// Creates the pod's shared namespaces and network. Idempotent per pod uid.
    func runSandbox(_ config: SandboxConfig) async throws -> SandboxStatus
    /// Stops every container in the sandbox and releases its namespaces and address.
    func removeSandbox(id: String) async throws
    func sandboxStatus(id: String) async throws -> SandboxStatus
    func listSandboxes() async throws -> [SandboxStatus]

    /// Creates (but does not start) a container inside a sandbox; returns its id.
    func createContainer(sandboxID: String, config: ContainerConfig) async throws -> String
    func startContainer(id: String) async throws
    /// SIGTERM, then SIGKILL after `gracePeriod` seconds.
    func stopContainer(id: String, gracePeriod: Int) async throws
    func removeContainer(id: String) async throws
    func containerStatus(id: String) async throws -> ContainerRuntimeStatus
    /// Every container the runtime knows, running or exited: what a restarted
    /// orchestrator matches back to its pods.
    func listContainers() async throws -> [ContainerRuntimeStatus]

    /// Runs a command in a running container with its namespaces, cgroup,
    /// seccomp profile and capabilities (exec probes, `berth exec`).
    func exec(containerID: String, command: [String], timeoutSeconds: Int) async throws -> ExecResult

    /// The container's log, in the CRI log format, for `berth logs`.
    func readLog(containerID: String, tailLines: Int?) async throws -> [LogLine]
}

// MARK: - Values crossing the seam

public struct ImageSummary: Sendable, Hashable, Codable {
    /// Normalized reference (`docker.io/library/busybox:1.36`).
    public var reference: String
    /// `sha256:…` of the image manifest (Kubernetes' imageID).
    public var digest: String
    /// Set when the pull failed and the local copy was used instead (an
    /// offline node with `Always`): what went wrong, for a Warning event.
    public var pullWarning: String?

    public init(reference: String, digest: String, pullWarning: String? = nil) {
        self.reference = reference
        self.digest = digest
        self.pullWarning = pullWarning
    }
}

public struct SandboxConfig: Sendable, Hashable, Codable {
    public var podUID: String
    public var podName: String
    public var namespace: String
    public var hostname: String
    /// Written into the sandbox's /etc/hosts besides localhost and itself.
    public var extraHosts: [String: String]
    /// hostPort publishing, when the pod asks for it.
    public var portMappings: [PortMapping]
    /// DNS for /etc/resolv.conf (nameserver, search domains, options).
    public var dns: DNSConfig?
    public var labels: [String: String]

    public init(
        podUID: String, podName: String, namespace: String, hostname: String,
        extraHosts: [String: String] = [:], portMappings: [PortMapping] = [], dns: DNSConfig? = nil,
        labels: [String: String] = [:]
    ) {
        self.podUID = podUID
        self.podName = podName
        self.namespace = namespace
        self.hostname = hostname
        self.extraHosts = extraHosts
        self.portMappings = portMappings
        self.dns = dns
        self.labels = labels
    }
}

public struct PortMapping: Sendable, Hashable, Codable {
    public var containerPort: Int
    public var hostPort: Int
    public var hostIP: String
    public var `protocol`: String

    public init(containerPort: Int, hostPort: Int, hostIP: String = "127.0.0.1", protocol: String = "TCP") {
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.hostIP = hostIP
        self.protocol = `protocol`
    }
}

public struct DNSConfig: Sendable, Hashable, Codable {
    public var nameservers: [String]
    public var searches: [String]
    public var options: [String]

    public init(nameservers: [String], searches: [String], options: [String] = ["ndots:5"]) {
        self.nameservers = nameservers
        self.searches = searches
        self.options = options
    }
}

public struct SandboxStatus: Sendable, Hashable, Codable {
    public var id: String
    public var podUID: String
    public var ready: Bool
    /// The pod's address, nil until the pod network assigns one.
    public var ip: String?
    public var labels: [String: String]

    public init(id: String, podUID: String, ready: Bool, ip: String?, labels: [String: String] = [:]) {
        self.id = id
        self.podUID = podUID
        self.ready = ready
        self.ip = ip
        self.labels = labels
    }
}

public struct Mount: Sendable, Hashable, Codable {
    public var hostPath: String
    public var containerPath: String
    public var readOnly: Bool

    public init(hostPath: String, containerPath: String, readOnly: Bool) {
        self.hostPath = hostPath
        self.containerPath = containerPath
        self.readOnly = readOnly
    }
}

/// Resource limits, already resolved to numbers (cgroups enforce them).
public struct ResourceLimits: Sendable, Hashable, Codable {
    /// Bytes; nil for no limit.
    public var memoryBytes: Int64?
    /// CPU quota in millicores; nil for no quota.
    public var cpuMillis: Int64?
    /// Relative weight from the CPU request, in millicores.
    public var cpuRequestMillis: Int64?
    public var pidsLimit: Int64?

    public init(memoryBytes: Int64? = nil, cpuMillis: Int64? = nil, cpuRequestMillis: Int64? = nil, pidsLimit: Int64? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuMillis = cpuMillis
        self.cpuRequestMillis = cpuRequestMillis
        self.pidsLimit = pidsLimit
    }
}

public struct ContainerConfig: Sendable, Hashable, Codable {
    public var name: String
    public var image: String
    /// Replaces the image's Entrypoint when set (Kubernetes `command`).
    public var command: [String]?
    /// Replaces the image's Cmd when set (Kubernetes `args`).
    public var args: [String]?
    /// Merged over the image's Env.
    public var env: [String: String]
    public var workingDir: String?
    /// uid, or nil for the image's user.
    public var runAsUser: Int?
    public var runAsGroup: Int?
    public var runAsNonRoot: Bool
    public var readOnlyRootfs: Bool
    /// false sets no_new_privs (the default, as `allowPrivilegeEscalation` unset → Docker's default).
    public var allowPrivilegeEscalation: Bool
    public var capabilitiesAdd: [String]
    public var capabilitiesDrop: [String]
    public var mounts: [Mount]
    public var limits: ResourceLimits
    public var labels: [String: String]
    /// The restart counter, so that a restarted container gets a new log file.
    public var attempt: Int

    public init(
        name: String, image: String, command: [String]? = nil, args: [String]? = nil,
        env: [String: String] = [:], workingDir: String? = nil, runAsUser: Int? = nil, runAsGroup: Int? = nil,
        runAsNonRoot: Bool = false, readOnlyRootfs: Bool = false, allowPrivilegeEscalation: Bool = false,
        capabilitiesAdd: [String] = [], capabilitiesDrop: [String] = [], mounts: [Mount] = [],
        limits: ResourceLimits = ResourceLimits(), labels: [String: String] = [:], attempt: Int = 0
    ) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.workingDir = workingDir
        self.runAsUser = runAsUser
        self.runAsGroup = runAsGroup
        self.runAsNonRoot = runAsNonRoot
        self.readOnlyRootfs = readOnlyRootfs
        self.allowPrivilegeEscalation = allowPrivilegeEscalation
        self.capabilitiesAdd = capabilitiesAdd
        self.capabilitiesDrop = capabilitiesDrop
        self.mounts = mounts
        self.limits = limits
        self.labels = labels
        self.attempt = attempt
    }
}

public enum ContainerState: String, Sendable, Hashable, Codable {
    case created, running, exited
}

public struct ContainerRuntimeStatus: Sendable, Hashable, Codable {
    public var id: String
    public var sandboxID: String
    public var name: String
    public var state: ContainerState
    public var exitCode: Int?
    /// "OOMKilled", "Error", "Completed", or nil.
    public var reason: String?
    public var message: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var imageDigest: String?
    public var labels: [String: String]

    public init(
        id: String, sandboxID: String, name: String, state: ContainerState, exitCode: Int? = nil,
        reason: String? = nil, message: String? = nil, startedAt: String? = nil, finishedAt: String? = nil,
        imageDigest: String? = nil, labels: [String: String] = [:]
    ) {
        self.id = id
        self.sandboxID = sandboxID
        self.name = name
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
        self.message = message
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.imageDigest = imageDigest
        self.labels = labels
    }
}

public struct ExecResult: Sendable, Hashable, Codable {
    public var exitCode: Int
    public var stdout: String
    public var stderr: String

    public init(exitCode: Int, stdout: String, stderr: String) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }
}

public struct LogLine: Sendable, Hashable, Codable {
    /// RFC 3339 with nanoseconds.
    public var time: String
    /// stdout or stderr
    public var stream: String
    public var text: String

    public init(time: String, stream: String, text: String) {
        self.time = time
        self.stream = stream
        self.text = text
    }
}
