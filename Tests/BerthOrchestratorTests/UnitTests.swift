import BerthAPI
import Foundation
import Testing
@testable import BerthOrchestrator

@Suite struct WorkQueueTests {
    @Test func duplicatesMergeAndKeysInProcessingAreRequeuedAfterDone() async throws {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        await queue.add("a")
        await queue.add("b")
        await queue.add("a")
        #expect(await queue.readyCount == 2)
        let first = await queue.tryGet()
        #expect(first == "a")
        await queue.add("a")  // while processing: not handed out twice
        #expect(await queue.tryGet() == "b")
        #expect(await queue.tryGet() == nil)
        await queue.done("a")
        #expect(await queue.tryGet() == "a")
        await queue.done("a")
        await queue.done("b")
        #expect(await queue.tryGet() == nil)
    }

    @Test func addAfterWaitsForTheClock() async throws {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        await queue.addAfter("x", delay: 5)
        await queue.addAfter("x", delay: 10)  // keeps the earlier time
        #expect(await queue.tryGet() == nil)
        clock.advance(by: 4.9)
        #expect(await queue.tryGet() == nil)
        clock.advance(by: 0.2)
        #expect(await queue.tryGet() == "x")
        await queue.done("x")
        #expect(await queue.delayedCount == 0)
    }

    @Test func perItemExponentialBackoffAndForget() async throws {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        var delays: [Double] = []
        for _ in 0..<5 { delays.append(await queue.rateLimitDelay(for: "k")) }
        #expect(delays.map { ($0 * 1000).rounded() } == [5, 10, 20, 40, 80])
        for _ in 0..<30 { _ = await queue.rateLimitDelay(for: "k") }
        clock.advance(by: 100)
        #expect(await queue.rateLimitDelay(for: "k") == 1000)
        #expect(await queue.numRequeues("k") == 36)
        await queue.forget("k")
        clock.advance(by: 100)
        #expect(await queue.rateLimitDelay(for: "k") == 0.005)
    }

    @Test func overallTokenBucketLimitsBursts() async throws {
        let clock = ManualClock()
        let queue = WorkQueue<Int>(clock: clock)
        var last = 0.0
        for key in 0..<110 { last = await queue.rateLimitDelay(for: key) }
        // 100 burst, then 10 per second: the 110th waits about a second.
        #expect(last > 0.9 && last <= 1.0)
    }

    @Test func getWaitsForWorkWithTheSystemClock() async throws {
        let queue = WorkQueue<String>(clock: SystemClock())
        let start = Date()
        await queue.addAfter("later", delay: 0.2)
        let key = await queue.get(deadline: Date().addingTimeInterval(5))
        #expect(key == "later")
        #expect(Date().timeIntervalSince(start) >= 0.19)
        let none = await queue.get(deadline: Date().addingTimeInterval(0.1))
        #expect(none == nil)
    }
}

@Suite struct PodTemplateHashTests {
    @Test func fnvAndSafeEncoding() {
        var hasher = FNV1a32()
        hasher.combine(Array("a".utf8))
        #expect(hasher.value == 0xe40c292c)
        #expect(PodTemplateHash.safeEncode("123") == "567")
    }

    @Test func hashDependsOnTemplateAndCollisionCount() {
        let template = makeDeployment().spec.template
        var other = template
        other.spec.containers[0].image = "app:v2"
        let hash = PodTemplateHash.compute(template, collisionCount: nil)
        #expect(hash == PodTemplateHash.compute(template, collisionCount: nil))
        #expect(hash != PodTemplateHash.compute(other, collisionCount: nil))
        #expect(hash != PodTemplateHash.compute(template, collisionCount: 1))
        let alphabet = Set("bcdfghjklmnpqrstvwxz2456789")
        #expect(!hash.isEmpty && hash.allSatisfy(alphabet.contains))
        #expect(hash.count <= 10)
    }

    @Test func fenceposts() {
        func d(_ replicas: Int, _ surge: IntOrString, _ unavailable: IntOrString) -> Deployment {
            makeDeployment(replicas: replicas, strategy: DeploymentStrategy(
                type: "RollingUpdate", rollingUpdate: .init(maxSurge: surge, maxUnavailable: unavailable)))
        }
        #expect(DeploymentUtil.fenceposts(d(10, .string("25%"), .string("25%"))) == (3, 2))
        #expect(DeploymentUtil.fenceposts(d(1, .int(0), .int(0))) == (0, 1))
        #expect(DeploymentUtil.fenceposts(d(3, .string("10%"), .string("10%"))) == (1, 0))
        #expect(DeploymentUtil.fenceposts(makeDeployment(replicas: 4)) == (1, 1))
        #expect(DeploymentUtil.maxUnavailable(d(2, .int(0), .int(5))) == 2)
        #expect(DeploymentUtil.maxUnavailable(makeDeployment(replicas: 4, strategy: DeploymentStrategy(type: "Recreate"))) == 0)
    }
}

@Suite struct PodDeletionOrderTests {
    func pod(_ name: String, node: String? = "n", phase: String = "Running", ready: Bool = true,
             readySince: Int = 0, restarts: Int = 0, created: Int = 0) -> Pod {
        var pod = makePod(name)
        pod.spec.nodeName = node
        pod.metadata.creationTimestamp = Timestamp.format(Date(timeIntervalSince1970: TimeInterval(1_700_000_000 + created)))
        var status = PodStatus(phase: phase)
        var condition = Condition(type: "Ready", status: ready ? "True" : "False")
        condition.lastTransitionTime = Timestamp.format(Date(timeIntervalSince1970: TimeInterval(1_700_000_000 + readySince)))
        status.conditions = [condition]
        var container = ContainerStatus(name: "app", image: "x")
        container.restartCount = restarts
        status.containerStatuses = [container]
        pod.status = status
        return pod
    }

    @Test func kubernetesPreferenceOrder() {
        let pods = [
            pod("old-ready", created: 0),
            pod("unscheduled", node: nil, phase: "Pending", ready: false),
            pod("new-ready", created: 50),
            pod("pending", phase: "Pending", ready: false),
            pod("not-ready", ready: false),
            pod("restarty", restarts: 5),
            pod("recently-ready", readySince: 100),
            pod("unknown", phase: "Unknown", ready: false),
        ]
        let order = pods.sorted(by: PodUtil.deleteFirst).map(\.metadata.name)
        #expect(order == ["unscheduled", "pending", "unknown", "not-ready", "recently-ready", "restarty", "new-ready", "old-ready"])
    }

    @Test func replicaSetScaleDownDeletesNotReadyFirst() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makeDeployment(replicas: 3, readinessDelay: 0))
        try await h.run(upTo: 20) { try await h.deployment("web")?.isComplete == true }
        // One pod loses readiness (its probe port is per pod here: make all fail, then restore two).
        let victim = try #require(try await h.pods().first)
        var status = try #require(victim.status)
        status.conditions = status.conditions?.map { condition in
            var copy = condition
            if copy.type == "Ready" { copy.status = "False" }
            return copy
        }
        var copy = victim
        copy.status = status
        _ = try await h.store.updateStatus(copy)
        let rs = try #require(try await h.store.list(ReplicaSet.self, namespace: "default").first)
        var scaled = rs
        scaled.spec.replicas = 2
        _ = try await h.store.update(scaled)
        _ = try await ReplicaSetController(store: h.store, clock: h.clock, localNodeName: "node-1")
            .reconcile(namespace: "default", name: rs.metadata.name)
        let terminating = try await h.pods().filter { $0.metadata.deletionTimestamp != nil }.map(\.metadata.name)
        #expect(terminating == [victim.metadata.name])
    }
}
