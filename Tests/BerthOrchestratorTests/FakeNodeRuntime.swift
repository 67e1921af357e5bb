import BerthAPI
import BerthRuntime
import Foundation
@testable import BerthOrchestrator

/// A deterministic `NodeRuntime` for unit tests: containers run on the
/// manual clock and behave as their image is told to (run, exit after N
/// seconds with a code, be OOM-killed); images can be missing or fail to
/// pull; exec results are scripted. The real counterpart is the Linux runtime.
actor FakeNodeRuntime: NodeRuntime {
    enum Behaviour: Sendable, Equatable {
        case run
        case exit(after: TimeInterval, code: Int)
        case oom(after: TimeInterval)
    }

    struct FakeContainer: Sendable {
        var status: ContainerRuntimeStatus
        var config: ContainerConfig
        var startedAt: Date?
        var behaviour: Behaviour
    }

    let clock: ManualClock
    var behaviours: [String: Behaviour] = [:]
    var missingImages: Set<String> = []
    var brokenImages: Set<String> = []
    var execExitCodes: [String: Int] = [:]
    private(set) var sandboxes: [String: SandboxStatus] = [:]
    private(set) var containers: [String: FakeContainer] = [:]
    private(set) var starts: [(name: String, image: String, at: Date)] = []
    private(set) var creates = 0
    private(set) var pulls: [(image: String, at: Date)] = []
    private(set) var stops: [(id: String, grace: Int)] = []
    private var counter = 0

    init(clock: ManualClock) { self.clock = clock }

    /// While set, `stopContainer` waits (as a real stop waits out the grace
    /// period) until `releaseStops()`.
    private(set) var holdStops = false
    private var heldStops: [CheckedContinuation<Void, Never>] = []
    func setHoldStops(_ hold: Bool) { holdStops = hold }
    var heldStopCount: Int { heldStops.count }
    func releaseStops() {
        holdStops = false
        heldStops.forEach { $0.resume() }
        heldStops = []
    }

    var sequences: [String: [Behaviour]] = [:]
    func setBehaviour(_ image: String, _ behaviour: Behaviour) { behaviours[image] = behaviour }
    /// Each new container of `image` takes the next behaviour; the last one sticks.
    func setBehaviours(_ image: String, _ list: [Behaviour]) { sequences[image] = list }
    private func nextBehaviour(_ image: String) -> Behaviour {
        if var list = sequences[image], let first = list.first {
            if list.count > 1 { list.removeFirst(); sequences[image] = list }
            return first
        }
        return behaviours[image] ?? .run
    }
    func setMissing(_ image: String) { missingImages.insert(image) }
    func setBroken(_ image: String) { brokenImages.insert(image) }
    func setRepaired(_ image: String) { brokenImages.remove(image) }
    /// When `ensureImage` was asked for `image`.
    func pullTimes(of image: String) -> [Date] { pulls.filter { $0.image == image }.map(\.at) }
    func setExitCode(container: String, _ code: Int) { execExitCodes[container] = code }
    func startTimes(of name: String) -> [Date] { starts.filter { $0.name == name }.map(\.at) }
    func configs(named name: String) -> [ContainerConfig] { containers.values.map(\.config).filter { $0.name == name } }
    func liveContainers() -> [ContainerRuntimeStatus] {
        containers.keys.compactMap { try? advance($0) }.filter { $0.state == .running }
    }

    func ensureImage(_ reference: String, pullPolicy: String) async throws -> ImageSummary {
        // `Never` is the kubelet's local lookup, not a pull.
        if pullPolicy != "Never" { pulls.append((reference, clock.now())) }
        if brokenImages.contains(reference) { throw BerthError(.registry, "pull of \(reference) failed: connection refused") }
        if missingImages.contains(reference) && pullPolicy == "Never" {
            throw BerthError(.imageNotFound, "image \(reference) is not present")
        }
        if missingImages.contains(reference) { throw BerthError(.registry, "\(reference): not found in registry") }
        return ImageSummary(reference: reference, digest: "sha256:\(reference.utf8.count)")
    }

    func runSandbox(_ config: SandboxConfig) async throws -> SandboxStatus {
        if let existing = sandboxes.values.first(where: { $0.podUID == config.podUID }) { return existing }
        counter += 1
        let sandbox = SandboxStatus(id: "sb-\(counter)", podUID: config.podUID, ready: true, ip: "10.88.0.\(counter % 250 + 2)",
                                    labels: config.labels)
        sandboxes[sandbox.id] = sandbox
        return sandbox
    }

    func removeSandbox(id: String) async throws {
        for (cid, container) in containers where container.status.sandboxID == id { containers[cid] = nil }
        sandboxes[id] = nil
    }

    func sandboxStatus(id: String) async throws -> SandboxStatus {
        guard let sandbox = sandboxes[id] else { throw BerthError(.notFound, "sandbox \(id)") }
        return sandbox
    }

    func listSandboxes() async throws -> [SandboxStatus] { Array(sandboxes.values) }

    func createContainer(sandboxID: String, config: ContainerConfig) async throws -> String {
        guard sandboxes[sandboxID] != nil else { throw BerthError(.notFound, "sandbox \(sandboxID)") }
        counter += 1
        creates += 1
        let id = "c-\(counter)"
        containers[id] = FakeContainer(
            status: ContainerRuntimeStatus(id: id, sandboxID: sandboxID, name: config.name, state: .created, labels: config.labels),
            config: config, startedAt: nil, behaviour: nextBehaviour(config.image))
        return id
    }

    func startContainer(id: String) async throws {
        guard var container = containers[id] else { throw BerthError(.notFound, "container \(id)") }
        let now = clock.now()
        container.status.state = .running
        container.startedAt = now
        container.status.startedAt = Timestamp.format(now)
        containers[id] = container
        starts.append((container.config.name, container.config.image, now))
    }

    /// Applies the behaviour up to the clock's now.
    private func advance(_ id: String) throws -> ContainerRuntimeStatus {
        guard var container = containers[id] else { throw BerthError(.notFound, "container \(id)") }
        if container.status.state == .running, let started = container.startedAt {
            switch container.behaviour {
            case .run: break
            case .exit(let after, let code):
                if clock.now() >= started.addingTimeInterval(after) {
                    container.status.state = .exited
                    container.status.exitCode = code
                    container.status.reason = code == 0 ? "Completed" : "Error"
                    container.status.finishedAt = Timestamp.format(started.addingTimeInterval(after))
                }
            case .oom(let after):
                if clock.now() >= started.addingTimeInterval(after) {
                    container.status.state = .exited
                    container.status.exitCode = 137
                    container.status.reason = "OOMKilled"
                    container.status.finishedAt = Timestamp.format(started.addingTimeInterval(after))
                }
            }
            containers[id] = container
        }
        return container.status
    }

    func stopContainer(id: String, gracePeriod: Int) async throws {
        if holdStops { await withCheckedContinuation { heldStops.append($0) } }
        _ = try advance(id)
        guard var container = containers[id] else { throw BerthError(.notFound, "container \(id)") }
        stops.append((id, gracePeriod))
        if container.status.state != .exited {
            container.status.state = .exited
            container.status.exitCode = 137
            container.status.reason = "Error"
            container.status.finishedAt = Timestamp.format(clock.now())
            containers[id] = container
        }
    }

    func removeContainer(id: String) async throws { containers[id] = nil }

    func containerStatus(id: String) async throws -> ContainerRuntimeStatus { try advance(id) }

    func listContainers() async throws -> [ContainerRuntimeStatus] {
        try containers.keys.sorted().map { try advance($0) }
    }

    func exec(containerID: String, command: [String], timeoutSeconds: Int) async throws -> ExecResult {
        let status = try advance(containerID)
        guard status.state == .running else { throw BerthError(.runtime, "container \(containerID) is not running") }
        return ExecResult(exitCode: execExitCodes[status.name] ?? 0, stdout: "", stderr: "")
    }

    func readLog(containerID: String, tailLines: Int?) async throws -> [LogLine] { [] }
}

/// Scripted probe outcomes by port (default: success).
actor FakeProbeTransport: ProbeTransport {
    var outcomes: [Int: Bool] = [:]
    private(set) var calls: [(host: String, port: Int, path: String)] = []

    func set(port: Int, healthy: Bool) { outcomes[port] = healthy }

    func httpGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) async -> ProbeOutcome {
        calls.append((host, port, path))
        return outcomes[port] ?? true ? .success : .failure("HTTP probe failed with statuscode: 500")
    }

    func tcpConnect(host: String, port: Int, timeout: TimeInterval) async -> ProbeOutcome {
        calls.append((host, port, ""))
        return outcomes[port] ?? true ? .success : .failure("dial tcp \(host):\(port): connect: connection refused")
    }
}
