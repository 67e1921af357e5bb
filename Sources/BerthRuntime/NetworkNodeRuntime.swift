import BerthAPI

/// `LinuxNodeRuntime` with the pod network plugged in: every sandbox gets a
/// veth on the bridge and an address (CNI ADD), loses them on removal (CNI
/// DEL), reports its IP, and — under Kubernetes' default ClusterFirst policy —
/// gets the cluster DNS in resolv.conf when the orchestrator passes none.
///
/// A decorator rather than a change inside `LinuxNodeRuntime`, so that the
/// container runtime stays usable (and testable) without a bridge.
public struct NetworkNodeRuntime: NodeRuntime {
    public let base: LinuxNodeRuntime
    public let network: NetworkManager

    public init(base: LinuxNodeRuntime, network: NetworkManager) {
        self.base = base
        self.network = network
    }

    /// Brings the bridge up and collects what a crash left behind: addresses
    /// and veths of sandboxes that are no longer running.
    @discardableResult
    public func start() async throws -> [String] {
        let live = Set(await base.containers.sandboxes().filter { $0.phase == .running }.map(\.id))
        return try await network.start(liveSandboxes: live)
    }

    // MARK: - Sandboxes (networked)

    public func runSandbox(_ config: SandboxConfig) async throws -> SandboxStatus {
        var config = config
        if config.dns == nil { config.dns = network.config.dnsConfig(namespace: config.namespace) }
        var status = try await base.runSandbox(config)
        guard let pid = await base.containers.record(status.id)?.pid else {
            throw BerthError(.runtime, "sandbox \(status.id) has no running pause process to attach the network to")
        }
        do {
            let attachment = try await network.attach(sandboxID: status.id, namespace: config.namespace,
                                                      netnsPath: "/proc/\(pid)/ns/net", portMappings: config.portMappings)
            status.ip = attachment.ip.description
        } catch {
            try? await base.removeSandbox(id: status.id)
            throw error
        }
        return status
    }

    public func removeSandbox(id: String) async throws {
        try await base.removeSandbox(id: id)
        try await network.detach(sandboxID: id)
    }

    public func sandboxStatus(id: String) async throws -> SandboxStatus {
        var status = try await base.sandboxStatus(id: id)
        status.ip = try await network.address(sandboxID: id)?.description
        return status
    }

    public func listSandboxes() async throws -> [SandboxStatus] {
        var result: [SandboxStatus] = []
        for var s in try await base.listSandboxes() {
            s.ip = try await network.address(sandboxID: s.id)?.description
            result.append(s)
        }
        return result
    }

    // MARK: - Everything else is the base runtime's

    public func ensureImage(_ reference: String, pullPolicy: String) async throws -> ImageSummary {
        try await base.ensureImage(reference, pullPolicy: pullPolicy)
    }

    public func createContainer(sandboxID: String, config: ContainerConfig) async throws -> String {
        try await base.createContainer(sandboxID: sandboxID, config: config)
    }

    public func startContainer(id: String) async throws { try await base.startContainer(id: id) }

    public func stopContainer(id: String, gracePeriod: Int) async throws {
        try await base.stopContainer(id: id, gracePeriod: gracePeriod)
    }

    public func removeContainer(id: String) async throws { try await base.removeContainer(id: id) }

    public func containerStatus(id: String) async throws -> ContainerRuntimeStatus {
        try await base.containerStatus(id: id)
    }

    public func listContainers() async throws -> [ContainerRuntimeStatus] { try await base.listContainers() }

    public func exec(containerID: String, command: [String], timeoutSeconds: Int) async throws -> ExecResult {
        try await base.exec(containerID: containerID, command: command, timeoutSeconds: timeoutSeconds)
    }

    public func readLog(containerID: String, tailLines: Int?) async throws -> [LogLine] {
        try await base.readLog(containerID: containerID, tailLines: tailLines)
    }
}
