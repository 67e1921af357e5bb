import BerthAPI
import BerthStore
import Foundation
import Testing
@testable import BerthOrchestrator

/// bench/rollout/run: the control plane's own cost of a rolling update —
/// controllers, scheduler, kubelet logic and the real SQLite store — with
/// a fake node (containers start instantly) and a manual clock, so the
/// number measures Berth, not images or processes. Skipped unless
/// BERTH_BENCH=1.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["BERTH_BENCH"] == "1"))
struct RolloutBench {
    @Test func rollingUpdateOfManyReplicas() async throws {
        let replicas = Int(ProcessInfo.processInfo.environment["BERTH_BENCH_REPLICAS"] ?? "") ?? 50
        let dir = NSTemporaryDirectory() + "berth-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(start: Date())
        let store = try Store(dataDirectory: dir)
        let runtime = FakeNodeRuntime(clock: clock)
        let orchestrator = Orchestrator(
            store: StoreBackend(store: store), runtime: runtime,
            configuration: OrchestratorConfiguration(nodeName: "node-1", dataDir: dir + "/data",
                                                     capacity: NodeCapacity(cpuMillis: 64_000, memoryBytes: 256 << 30, pods: 1000)),
            clock: clock, probeTransport: FakeProbeTransport())
        try await orchestrator.start()

        func rollout(to image: String) async throws -> (seconds: Double, steps: Int, reconciles: Int, writes: Int64) {
            let startRevision = try await store.currentRevision()
            let start = Date()
            var reconciles = 0
            var steps = 0
            while steps < 600 {
                reconciles += try await orchestrator.settle()
                let d = try await store.get(Deployment.self, namespace: "default", name: "web")
                let pods = try await store.list(Pod.self, namespace: "default")
                if d?.isComplete == true, pods.count == replicas, pods.allSatisfy({ $0.image == image && $0.isReadyForTest }) { break }
                clock.advance(by: 1)
                steps += 1
            }
            return (Date().timeIntervalSince(start), steps, reconciles, try await store.currentRevision() - startRevision)
        }

        try await store.create(makeDeployment(replicas: replicas, readinessDelay: 1))
        let create = try await rollout(to: "app:v1")
        var d = try #require(try await store.get(Deployment.self, namespace: "default", name: "web"))
        d.spec.template.spec.containers[0].image = "app:v2"
        try await store.update(d)
        let update = try await rollout(to: "app:v2")
        print(String(format: "rollout-bench replicas=%d create: wall=%.2fs virtual=%ds reconciles=%d store-writes=%lld",
                     replicas, create.seconds, create.steps, create.reconciles, create.writes))
        print(String(format: "rollout-bench replicas=%d rolling-update(25%%/25%%): wall=%.2fs virtual=%ds reconciles=%d store-writes=%lld",
                     replicas, update.seconds, update.steps, update.reconciles, update.writes))
        #expect(update.steps < 600)
        // Where the time goes: the store's basic operations at this size.
        var t = Date()
        for _ in 0..<10 { _ = try await store.list(Pod.self, namespace: "default") }
        let listMs = Date().timeIntervalSince(t) * 100
        let pod = try #require(try await store.list(Pod.self, namespace: "default").first)
        t = Date()
        for _ in 0..<10 { _ = try await store.get(Pod.self, namespace: "default", name: pod.metadata.name) }
        let getMs = Date().timeIntervalSince(t) * 100
        t = Date()
        for index in 0..<10 {
            var copy = try #require(try await store.get(Pod.self, namespace: "default", name: pod.metadata.name))
            copy.status?.message = "bench \(index)"
            _ = try await store.updateStatus(copy)
        }
        let writeMs = Date().timeIntervalSince(t) * 100
        print(String(format: "rollout-bench store: list %d pods %.1fms, get %.1fms, get+updateStatus %.1fms",
                     replicas, listMs, getMs, writeMs))
    }
}
