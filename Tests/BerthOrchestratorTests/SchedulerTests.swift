import BerthAPI
import Foundation
import Testing
@testable import BerthOrchestrator

@Suite struct SchedulerTests {
    func podRequesting(_ name: String, memory: String, cpu: String? = nil, selector: [String: String]? = nil) -> Pod {
        makePod(name) { spec in
            var requests: [String: Quantity] = ["memory": Quantity(memory)!]
            if let cpu { requests["cpu"] = Quantity(cpu)! }
            spec.containers[0].resources = ResourceRequirements(requests: requests)
            spec.nodeSelector = selector
        }
    }

    @Test func bindsWhereRequestsFitAndExplainsWhenNothingFits() async throws {
        let sim = NodeCapacity(cpuMillis: 1000, memoryBytes: 512 << 20).node(named: "sim-1", labels: ["zone": "b"])
        let h = try await Harness(capacity: NodeCapacity(cpuMillis: 2000, memoryBytes: 1 << 30), extraNodes: [sim])
        defer { h.cleanup() }
        _ = try await h.store.create(podRequesting("big-1", memory: "600Mi"))
        try await h.step()
        _ = try await h.store.create(podRequesting("big-2", memory: "600Mi"))
        _ = try await h.store.create(podRequesting("small-sim", memory: "100Mi", selector: ["zone": "b"]))
        _ = try await h.store.create(podRequesting("cpu-hog", memory: "1Mi", cpu: "3"))
        try await h.step()

        let big1 = try #require(try await h.store.get(Pod.self, namespace: "default", name: "big-1"))
        #expect(big1.spec.nodeName == "node-1", "the local node is preferred")
        #expect(big1.status?.conditions?.first { $0.type == "PodScheduled" }?.status == "True")
        #expect(big1.status?.phase == "Running")

        let big2 = try #require(try await h.store.get(Pod.self, namespace: "default", name: "big-2"))
        #expect(big2.spec.nodeName == nil)
        #expect(big2.status?.phase == "Pending")
        let condition = try #require(big2.status?.conditions?.first { $0.type == "PodScheduled" })
        #expect(condition.status == "False")
        #expect(condition.reason == "Unschedulable")
        #expect(condition.message == "0/2 nodes are available: 2 Insufficient memory.")
        let events = await h.store.events.filter { $0.involvedObject.name == "big-2" && $0.reason == "FailedScheduling" }
        #expect(events.map(\.message) == ["0/2 nodes are available: 2 Insufficient memory."])
        #expect(events.first?.type == "Warning")

        let hog = try #require(try await h.store.get(Pod.self, namespace: "default", name: "cpu-hog"))
        #expect(hog.status?.conditions?.first { $0.type == "PodScheduled" }?.message == "0/2 nodes are available: 2 Insufficient cpu.")

        // Bound to a simulated node: scheduled, but never run here.
        let sim1 = try #require(try await h.store.get(Pod.self, namespace: "default", name: "small-sim"))
        #expect(sim1.spec.nodeName == "sim-1")
        let sandboxPods = Set(await h.runtime.sandboxes.values.map(\.podUID))
        #expect(!sandboxPods.contains(sim1.metadata.uid ?? ""))
        #expect(sandboxPods.contains(big1.metadata.uid ?? ""))

        // Room appears: the pending pod is scheduled.
        try await PodDeleter(store: h.store, clock: h.clock, localNodeName: "node-1").delete(big1)
        try await h.run(upTo: 20) {
            try await h.store.get(Pod.self, namespace: "default", name: "big-2")?.spec.nodeName == "node-1"
        }
        #expect(try await h.store.get(Pod.self, namespace: "default", name: "big-2")?.spec.nodeName == "node-1")
    }

    @Test func podCountAndSelectorReasons() async throws {
        let h = try await Harness(capacity: NodeCapacity(cpuMillis: 1000, memoryBytes: 1 << 30, pods: 1))
        defer { h.cleanup() }
        _ = try await h.store.create(makePod("one"))
        try await h.step()
        _ = try await h.store.create(makePod("two"))
        _ = try await h.store.create(podRequesting("picky", memory: "1Mi", selector: ["disk": "ssd"]))
        try await h.step()
        let two = try await h.store.get(Pod.self, namespace: "default", name: "two")
        #expect(two?.status?.conditions?.first { $0.type == "PodScheduled" }?.message == "0/1 nodes are available: 1 Too many pods.")
        let picky = try await h.store.get(Pod.self, namespace: "default", name: "picky")
        #expect(picky?.status?.conditions?.first { $0.type == "PodScheduled" }?.message?.hasPrefix("0/1 nodes are available: 1 node(s) didn't match") == true)
    }

    @Test func localNodeReportsCapacity() async throws {
        let capacity = NodeCapacity.detect()
        #expect(capacity.cpuMillis >= 1000)
        #expect(capacity.memoryBytes > 64 << 20)
        let node = capacity.node(named: "here")
        #expect(node.status?.allocatable?["memory"]?.value == capacity.memoryBytes)
        #expect(node.status?.allocatable?["cpu"]?.milliValue == capacity.cpuMillis)
        #expect(NodeCapacity.parseCPUMax("150000 100000\n") == 1500)
        #expect(NodeCapacity.parseCPUMax("max 100000\n") == nil)
        let total = NodeCapacity.parseMemTotal("MemTotal:       16315672 kB\nMemFree: 1 kB\n")
        #expect(total == Int64(16_707_248_128))
        // Berth's own cgroup, when limited, caps the capacity.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: "\(root)/proc/self", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/cg/berth.slice/svc", withIntermediateDirectories: true)
        try "MemTotal: 8388608 kB\n".write(toFile: "\(root)/proc/meminfo", atomically: true, encoding: .utf8)
        try "0::/berth.slice/svc\n".write(toFile: "\(root)/proc/self/cgroup", atomically: true, encoding: .utf8)
        try "1073741824\n".write(toFile: "\(root)/cg/berth.slice/memory.max", atomically: true, encoding: .utf8)
        try "max\n".write(toFile: "\(root)/cg/berth.slice/svc/memory.max", atomically: true, encoding: .utf8)
        try "50000 100000\n".write(toFile: "\(root)/cg/berth.slice/svc/cpu.max", atomically: true, encoding: .utf8)
        let limited = NodeCapacity.detect(procRoot: "\(root)/proc", cgroupRoot: "\(root)/cg")
        #expect(limited.memoryBytes == 1 << 30)
        #expect(limited.cpuMillis == 500)
    }
}

@Suite struct GarbageCollectionTests {
    @Test func deletingADeploymentCascadesToReplicaSetsAndPods() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makeDeployment(replicas: 3, readinessDelay: nil))
        _ = try await h.store.create(makeDeployment("other", replicas: 1, readinessDelay: nil))
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        #expect(await h.runtime.liveContainers().count == 4)
        try await h.store.delete(.deployment, namespace: "default", name: "web")
        try await h.run(upTo: 10) { try await h.pods().count == 1 }
        #expect(try await h.store.list(ReplicaSet.self, namespace: "default").count == 1)
        #expect(try await h.pods().map { $0.metadata.labels?["app"] } == ["other"])
        #expect(await h.runtime.liveContainers().count == 1)
    }

    @Test func podsOfAGoneReplicaSetAreCollected() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        var orphan = makePod("orphan")
        orphan.metadata.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "no-such-uid")]
        _ = try await h.store.create(orphan)
        _ = try await h.store.create(makePod("standalone"))
        try await h.step()
        try await h.step()
        let names = try await h.pods().map(\.metadata.name)
        #expect(names == ["standalone"])
    }
}
