import BerthAPI
import BerthRuntime
import Foundation
@testable import BerthOrchestrator

/// One orchestrator over a memory store, a fake node and a manual clock.
struct Harness {
    let clock = ManualClock()
    let store: MemoryStore
    let runtime: FakeNodeRuntime
    let transport = FakeProbeTransport()
    let orchestrator: Orchestrator
    let dataDir: String

    init(capacity: NodeCapacity = NodeCapacity(cpuMillis: 64_000, memoryBytes: 256 << 30, pods: 1000),
         extraNodes: [Node] = [], runtime: FakeNodeRuntime? = nil, store: MemoryStore? = nil, dataDir: String? = nil) async throws {
        self.store = store ?? MemoryStore(clock: clock)
        self.runtime = runtime ?? FakeNodeRuntime(clock: clock)
        self.dataDir = dataDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("berth-orch-\(UUID().uuidString)").path
        orchestrator = Orchestrator(
            store: self.store, runtime: self.runtime,
            configuration: OrchestratorConfiguration(nodeName: "node-1", dataDir: self.dataDir, capacity: capacity, extraNodes: extraNodes),
            clock: clock, probeTransport: transport)
        try await orchestrator.start()
    }

    /// Moves the clock and lets every controller settle.
    func step(_ seconds: TimeInterval = 1) async throws {
        clock.advance(by: seconds)
        try await orchestrator.settle()
    }

    /// Steps until `done` holds or `limit` seconds passed; returns seconds taken.
    @discardableResult
    func run(upTo limit: Int, until done: () async throws -> Bool) async throws -> Int? {
        try await orchestrator.settle()
        for second in 0...limit {
            if try await done() { return second }
            try await step()
        }
        return nil
    }

    func pods(_ namespace: String = "default") async throws -> [Pod] {
        try await store.list(Pod.self, namespace: namespace)
    }

    func deployment(_ name: String) async throws -> Deployment? {
        try await store.get(Deployment.self, namespace: "default", name: name)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: dataDir) }
}

func makeDeployment(_ name: String = "web", replicas: Int = 3, image: String = "app:v1",
                    strategy: DeploymentStrategy? = nil, readinessDelay: Int? = 2) -> Deployment {
    var container = Container(name: "app", image: image)
    container.ports = [ContainerPort(name: "http", containerPort: 8080)]
    if let readinessDelay {
        var probe = Probe()
        probe.httpGet = HTTPGetAction(path: "/healthz", port: .string("http"))
        probe.initialDelaySeconds = readinessDelay
        probe.periodSeconds = 1
        container.readinessProbe = probe
    }
    let template = PodTemplateSpec(metadata: TemplateMeta(labels: ["app": name]), spec: PodSpec(containers: [container]))
    var spec = DeploymentSpec(replicas: replicas, selector: LabelSelector(matchLabels: ["app": name]), template: template)
    spec.strategy = strategy
    return Deployment(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec)
}

extension Deployment {
    func condition(_ type: String) -> Condition? { status?.conditions?.first { $0.type == type } }
    var isComplete: Bool {
        let desired = spec.replicas ?? 1
        return status?.updatedReplicas == desired && status?.replicas == desired && status?.availableReplicas == desired
            && (status?.observedGeneration ?? 0) >= (metadata.generation ?? 0)
    }
}

extension Pod {
    var isReadyForTest: Bool { status?.conditions?.first { $0.type == "Ready" }?.status == "True" }
    var image: String { spec.containers.first?.image ?? "" }
}
