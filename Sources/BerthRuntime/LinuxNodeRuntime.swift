import BerthAPI
import Foundation

/// The real `NodeRuntime`: pods as sandboxes (a pause process holding net, ipc
/// and uts namespaces) and containers run by `berth-shim`, images from the
/// local `ImageStore`. Network: loopback only inside each pod for now.
public struct LinuxNodeRuntime: NodeRuntime {
    public let containers: ContainerManager
    public let images: ImageStore
    /// Pulls images that are not local (or always, for `Always`); nil keeps
    /// the node offline: only imported images run, as `berth run` does.
    public var puller: ImagePuller?

    /// Opens the node state under `dataDir` (the same one `berth run` uses) and
    /// re-adopts every sandbox and container that is still running.
    public init(dataDir: String) throws {
        let images = try ImageStore(dataDir: dataDir)
        self.images = images
        self.containers = try ContainerManager(dataDir: dataDir, images: images)
    }

    public init(containers: ContainerManager, images: ImageStore) {
        self.containers = containers
        self.images = images
    }

    // MARK: - Images

    public func ensureImage(_ reference: String, pullPolicy: String) async throws -> ImageSummary {
        if let puller {
            return try await puller.ensureImage(reference, pullPolicy: pullPolicy, fallBackToLocal: true)
        }
        return try await images.ensureLocal(reference, pullPolicy: pullPolicy)
    }

    // MARK: - Sandboxes

    /// The sandbox id is derived from the pod uid, which makes this idempotent.
    public static func sandboxID(podUID: String) -> String {
        "pod-" + podUID.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" }
    }

    public func runSandbox(_ config: SandboxConfig) async throws -> SandboxStatus {
        var labels = config.labels
        labels[Self.podUIDLabel] = config.podUID
        labels[Self.podNameLabel] = config.podName
        labels[Self.podNamespaceLabel] = config.namespace
        let id = Self.sandboxID(podUID: config.podUID)
        let record = try await containers.createSandbox(id: id, hostname: config.hostname, labels: labels)
        // Containers of this pod get the pod's /etc/hosts and resolv.conf.
        await sandboxFiles.set(id, (config.extraHosts, config.dns))
        return Self.status(record)
    }

    public func removeSandbox(id: String) async throws {
        try await containers.deleteSandbox(id: id)
        await sandboxFiles.set(id, nil)
    }

    public func sandboxStatus(id: String) async throws -> SandboxStatus {
        guard let record = await containers.record(id), record.isSandbox else {
            throw BerthError(.notFound, "no such sandbox: \(id)")
        }
        return Self.status(record)
    }

    public func listSandboxes() async throws -> [SandboxStatus] {
        await containers.sandboxes().map(Self.status)
    }

    static func status(_ r: ContainerRecord) -> SandboxStatus {
        SandboxStatus(id: r.id, podUID: r.spec.labels[podUIDLabel] ?? "", ready: r.phase == .running,
                      ip: r.phase == .running ? "127.0.0.1" : nil, labels: r.spec.labels)
    }

    static let podUIDLabel = "berth.io/pod-uid"
    static let podNameLabel = "berth.io/pod-name"
    static let podNamespaceLabel = "berth.io/pod-namespace"
    static let containerNameLabel = "berth.io/container-name"

    // MARK: - Containers

    public func createContainer(sandboxID: String, config: ContainerConfig) async throws -> String {
        var options = ContainerOptions(image: config.image)
        options.name = "\(sandboxID)_\(config.name)_\(config.attempt)"
        // Kubernetes: command replaces Entrypoint (and drops Cmd unless args are given), args replace Cmd.
        if let command = config.command {
            options.entrypoint = command
            options.command = config.args ?? []
        } else if let args = config.args {
            options.command = args
        }
        options.env = config.env
        options.workingDir = config.workingDir
        if let uid = config.runAsUser {
            options.user = config.runAsGroup.map { "\(uid):\($0)" } ?? String(uid)
        }
        options.runAsNonRoot = config.runAsNonRoot
        options.readOnlyRootfs = config.readOnlyRootfs
        options.noNewPrivileges = !config.allowPrivilegeEscalation
        options.capAdd = config.capabilitiesAdd
        options.capDrop = config.capabilitiesDrop
        options.mounts = config.mounts
        options.limits = config.limits
        var labels = config.labels
        labels[Self.containerNameLabel] = config.name
        options.labels = labels
        options.sandboxID = sandboxID
        if let sandbox = await containers.record(sandboxID) {
            options.hostname = sandbox.spec.hostname
        }
        if let files = await sandboxFiles.get(sandboxID) {
            options.extraHosts = files.0
            options.dns = files.1
        }
        return try await containers.create(options).id
    }

    public func startContainer(id: String) async throws {
        try await containers.start(id)
    }

    public func stopContainer(id: String, gracePeriod: Int) async throws {
        try await containers.stop(id, grace: .seconds(max(0, gracePeriod)))
    }

    public func removeContainer(id: String) async throws {
        try await containers.delete(id, force: true)
    }

    public func containerStatus(id: String) async throws -> ContainerRuntimeStatus {
        guard let record = await containers.record(id), !record.isSandbox else {
            throw BerthError(.notFound, "no such container: \(id)")
        }
        return Self.status(record)
    }

    public func listContainers() async throws -> [ContainerRuntimeStatus] {
        await containers.list().map(Self.status)
    }

    static func status(_ r: ContainerRecord) -> ContainerRuntimeStatus {
        let state: ContainerState
        switch r.phase {
        case .created: state = .created
        case .running: state = .running
        case .stopped: state = .exited
        }
        return ContainerRuntimeStatus(
            id: r.id, sandboxID: r.spec.sandboxID ?? "", name: r.spec.labels[containerNameLabel] ?? r.name,
            state: state, exitCode: r.phase == .stopped ? (r.exitCode ?? 255) : nil, reason: r.reason,
            message: r.error, startedAt: r.startedAt, finishedAt: r.finishedAt, imageDigest: r.spec.imageDigest,
            labels: r.spec.labels)
    }

    public func exec(containerID: String, command: [String], timeoutSeconds: Int) async throws -> ExecResult {
        try await containers.exec(containerID, command: command, timeoutSeconds: timeoutSeconds)
    }

    public func readLog(containerID: String, tailLines: Int?) async throws -> [LogLine] {
        try await containers.logs(containerID, tail: tailLines)
    }

    // MARK: - Per-sandbox files

    /// extraHosts and DNS of each sandbox, for the containers created in it
    /// (in memory: a restarted orchestrator calls runSandbox again, which is idempotent).
    private let sandboxFiles = SandboxFiles()
}

actor SandboxFiles {
    private var files: [String: ([String: String], DNSConfig?)] = [:]
    func set(_ id: String, _ value: ([String: String], DNSConfig?)?) { files[id] = value }
    func get(_ id: String) -> ([String: String], DNSConfig?)? { files[id] }
}
