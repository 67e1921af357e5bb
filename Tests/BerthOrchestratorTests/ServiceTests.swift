import BerthAPI
import Foundation
import ServiceLifecycle
import Logging
import Testing
@testable import BerthOrchestrator

@Suite struct OrchestratorServiceTests {
    /// The production path: workers on the system clock, fed by the store's
    /// change feed, run as a swift-service-lifecycle Service.
    @Test func runsAsAServiceOnTheChangeFeed() async throws {
        let clock = ManualClock()
        let store = MemoryStore(clock: SystemClock())
        let runtime = FakeNodeRuntime(clock: clock)
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("berth-svc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let orchestrator = Orchestrator(
            store: store, runtime: runtime,
            configuration: OrchestratorConfiguration(nodeName: "node-1", dataDir: dataDir,
                                                     capacity: NodeCapacity(cpuMillis: 4000, memoryBytes: 8 << 30),
                                                     resyncInterval: 3600),
            probeTransport: FakeProbeTransport())
        let group = ServiceGroup(configuration: .init(services: [orchestrator], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        _ = try await store.create(makeDeployment(replicas: 2, readinessDelay: nil))
        var complete = false
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(100))
            if try await store.get(Deployment.self, namespace: "default", name: "web")?.isComplete == true {
                complete = true
                break
            }
        }
        #expect(complete, "the deployment became available without any resync, through the feed alone")
        #expect(try await store.get(Node.self, namespace: "", name: "node-1") != nil)
        await group.triggerGracefulShutdown()
        try await task.value
        // Shutting down leaves the containers running for the next start to adopt.
        #expect(await runtime.liveContainers().count == 2)
    }
}
