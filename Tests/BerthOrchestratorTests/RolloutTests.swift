import BerthAPI
import Foundation
import Synchronization
import Testing
@testable import BerthOrchestrator

/// Violations seen by the store observer, across writes.
final class InvariantLog: Sendable {
    let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { if $0.count < 20 { $0.append(line) } } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite struct RolloutTests {
    static let surges: [IntOrString] = [.int(0), .int(1), .string("25%")]
    static let unavailables: [IntOrString] = [.int(0), .int(1), .string("25%")]
    static let grid: [(Int, IntOrString, IntOrString)] = [1, 3, 10].flatMap { replicas in
        surges.flatMap { surge in
            unavailables.compactMap { unavailable -> (Int, IntOrString, IntOrString)? in
                if case .int(0) = surge, case .int(0) = unavailable { return nil }
                return (replicas, surge, unavailable)
            }
        }
    }

    @Test("rolling update keeps within maxSurge/maxUnavailable at every write and completes",
          arguments: grid.map { "\($0.0)|\($0.1)|\($0.2)" })
    func rollingUpdateGrid(_ spec: String) async throws {
        let parts = spec.split(separator: "|").map(String.init)
        let replicas = Int(parts[0])!
        func parse(_ text: String) -> IntOrString { Int(text).map(IntOrString.int) ?? .string(text) }
        let surge = parse(parts[1]), unavailable = parse(parts[2])
        let h = try await Harness()
        defer { h.cleanup() }
        let strategy = DeploymentStrategy(type: "RollingUpdate",
                                          rollingUpdate: .init(maxSurge: surge, maxUnavailable: unavailable))
        var deployment = try await h.store.create(makeDeployment(replicas: replicas, strategy: strategy))
        let initial = try await h.run(upTo: 60) { try await h.deployment("web")?.isComplete == true }
        #expect(initial != nil)

        // Expected bounds, computed independently of the controller.
        var maxSurge = surge.scaled(total: replicas, roundUp: true)!
        var maxUnavailable = unavailable.scaled(total: replicas, roundUp: false)!
        if maxSurge == 0 && maxUnavailable == 0 { maxUnavailable = 1 }
        maxUnavailable = min(maxUnavailable, replicas)
        maxSurge = max(0, maxSurge)
        let surgeBound = maxSurge, unavailableBound = maxUnavailable
        let log = InvariantLog()
        let writes = Mutex(0)
        await h.store.setObserver { snapshot in
            writes.withLock { $0 += 1 }
            let pods = snapshot.list(Pod.self).filter { $0.metadata.deletionTimestamp == nil }
            let ready = pods.filter(\.isReadyForTest).count
            if pods.count > replicas + surgeBound { log.add("\(pods.count) pods > \(replicas)+\(surgeBound)") }
            if ready < replicas - unavailableBound { log.add("\(ready) ready < \(replicas)-\(unavailableBound)") }
        }

        deployment = try #require(try await h.deployment("web"))
        deployment.spec.template.spec.containers[0].image = "app:v2"
        _ = try await h.store.update(deployment)
        let took = try await h.run(upTo: 300) {
            guard let d = try await h.deployment("web"), d.isComplete,
                  d.condition("Progressing")?.reason == "NewReplicaSetAvailable" else { return false }
            let pods = try await h.pods()
            return pods.count == replicas && pods.allSatisfy { $0.image == "app:v2" && $0.isReadyForTest }
        }
        #expect(took != nil, "rollout did not complete")
        #expect(log.all.isEmpty, "invariant violations: \(log.all)")
        #expect(writes.withLock { $0 } > 0)
        let final = try #require(try await h.deployment("web"))
        #expect(final.condition("Available")?.status == "True")
        #expect(final.condition("Available")?.reason == "MinimumReplicasAvailable")
        #expect(final.metadata.annotations?[WellKnown.revisionAnnotation] == "2")
        let sets = try await h.store.list(ReplicaSet.self, namespace: "default")
        #expect(sets.count == 2)
        #expect(sets.map { $0.spec.replicas ?? -1 }.sorted() == [0, replicas])
    }

    @Test func newReplicaSetNamedAfterTemplateHash() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        let deployment = try await h.store.create(makeDeployment(replicas: 2))
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        let sets = try await h.store.list(ReplicaSet.self, namespace: "default")
        let rs = try #require(sets.first)
        let hash = PodTemplateHash.compute(deployment.spec.template, collisionCount: nil)
        #expect(rs.metadata.name == "web-\(hash)")
        #expect(rs.metadata.labels?[WellKnown.podTemplateHashLabel] == hash)
        #expect(rs.spec.selector.matchLabels?[WellKnown.podTemplateHashLabel] == hash)
        #expect(rs.controllerRef?.uid == deployment.metadata.uid)
        #expect(rs.metadata.annotations?[WellKnown.revisionAnnotation] == "1")
        let pods = try await h.pods()
        #expect(pods.count == 2)
        for pod in pods {
            #expect(pod.metadata.name.hasPrefix("web-\(hash)-"))
            #expect(pod.metadata.name.count == "web-\(hash)-".count + 5)
            #expect(pod.metadata.labels?[WellKnown.podTemplateHashLabel] == hash)
            #expect(pod.controllerRef?.kind == "ReplicaSet")
            #expect(pod.controllerRef?.uid == rs.metadata.uid)
        }
        let d = try #require(try await h.deployment("web"))
        #expect(d.status?.readyReplicas == 2)
        #expect(d.status?.availableReplicas == 2)
        #expect(d.status?.unavailableReplicas == 0)
        #expect(d.status?.observedGeneration == d.metadata.generation)
    }

    @Test func recreateStopsOldPodsBeforeStartingNew() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        var deployment = try await h.store.create(makeDeployment(replicas: 3, strategy: DeploymentStrategy(type: "Recreate")))
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        let log = InvariantLog()
        await h.store.setObserver { snapshot in
            let images = Set(snapshot.list(Pod.self).map(\.image))
            if images.count > 1 { log.add("old and new pods coexist: \(images.sorted())") }
        }
        deployment = try #require(try await h.deployment("web"))
        deployment.spec.template.spec.containers[0].image = "app:v2"
        _ = try await h.store.update(deployment)
        let took = try await h.run(upTo: 60) {
            let pods = try await h.pods()
            return try await h.deployment("web")?.isComplete == true && pods.count == 3 && pods.allSatisfy { $0.image == "app:v2" }
        }
        #expect(took != nil)
        #expect(log.all.isEmpty, "\(log.all)")
    }

    @Test func progressDeadlineExceeded() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        var deployment = makeDeployment(replicas: 2)
        deployment.spec.progressDeadlineSeconds = 30
        deployment = try await h.store.create(deployment)
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        await h.runtime.setBroken("app:broken")
        deployment = try #require(try await h.deployment("web"))
        deployment.spec.template.spec.containers[0].image = "app:broken"
        _ = try await h.store.update(deployment)
        for _ in 0..<10 { try await h.step() }
        let during = try #require(try await h.deployment("web"))
        #expect(during.condition("Progressing")?.status == "True")
        #expect(["NewReplicaSetCreated", "ReplicaSetUpdated"].contains(during.condition("Progressing")?.reason ?? ""))
        let broken = try await h.pods().filter { $0.image == "app:broken" }
        #expect(!broken.isEmpty)
        #expect(broken.allSatisfy { ["ErrImagePull", "ImagePullBackOff"].contains($0.status?.containerStatuses?.first?.state?.waiting?.reason ?? "") })
        let took = try await h.run(upTo: 60) {
            try await h.deployment("web")?.condition("Progressing")?.reason == "ProgressDeadlineExceeded"
        }
        let after = try #require(try await h.deployment("web"))
        #expect(took != nil)
        #expect(after.condition("Progressing")?.status == "False")
        // Old pods keep serving: availability within maxUnavailable.
        #expect(after.condition("Available")?.status == "True")
        let events = await h.store.events.filter { $0.reason == "ProgressDeadlineExceeded" }
        #expect(events.count == 1)
    }

    @Test func rollbackToRevision() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makeDeployment(replicas: 2))
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        for image in ["app:v2", "app:v3"] {
            var deployment = try #require(try await h.deployment("web"))
            deployment.spec.template.spec.containers[0].image = image
            _ = try await h.store.update(deployment)
            let done = try await h.run(upTo: 60) {
                let pods = try await h.pods()
                return try await h.deployment("web")?.isComplete == true && pods.allSatisfy { $0.image == image }
            }
            #expect(done != nil)
        }
        #expect(try await h.deployment("web")?.metadata.annotations?[WellKnown.revisionAnnotation] == "3")

        let revision = try await h.orchestrator.rollbackDeployment(name: "web", namespace: "default", toRevision: 1)
        #expect(revision == 1)
        let done = try await h.run(upTo: 60) {
            let pods = try await h.pods()
            return try await h.deployment("web")?.isComplete == true && pods.count == 2 && pods.allSatisfy { $0.image == "app:v1" }
        }
        #expect(done != nil)
        let d = try #require(try await h.deployment("web"))
        #expect(d.spec.template.spec.containers[0].image == "app:v1")
        #expect(d.spec.template.metadata?.labels?[WellKnown.podTemplateHashLabel] == nil)
        #expect(d.metadata.annotations?[WellKnown.revisionAnnotation] == "4")
        let sets = try await h.store.list(ReplicaSet.self, namespace: "default")
        #expect(sets.count == 3, "the v1 set is reused, not copied")
        let v1 = try #require(sets.first { $0.spec.template.spec.containers[0].image == "app:v1" })
        #expect(v1.metadata.annotations?[WellKnown.revisionAnnotation] == "4")

        // nil = previous revision (3 → app:v3).
        try await h.orchestrator.rollbackDeployment(name: "web", namespace: "default", toRevision: nil)
        let again = try await h.run(upTo: 60) {
            let pods = try await h.pods()
            return try await h.deployment("web")?.isComplete == true && pods.allSatisfy { $0.image == "app:v3" }
        }
        #expect(again != nil)
        await #expect(throws: BerthError.self) {
            try await h.orchestrator.rollbackDeployment(name: "web", namespace: "default", toRevision: 42)
        }
    }

    @Test func revisionHistoryLimitDeletesOldestIdleSets() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        var deployment = makeDeployment(replicas: 1, readinessDelay: nil)
        deployment.spec.revisionHistoryLimit = 1
        _ = try await h.store.create(deployment)
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        for version in 2...4 {
            var d = try #require(try await h.deployment("web"))
            d.spec.template.spec.containers[0].image = "app:v\(version)"
            _ = try await h.store.update(d)
            try await h.run(upTo: 60) {
                let pods = try await h.pods()
                return try await h.deployment("web")?.isComplete == true && pods.allSatisfy { $0.image == "app:v\(version)" }
            }
        }
        try await h.step()
        let sets = try await h.store.list(ReplicaSet.self, namespace: "default")
        let images = sets.map { $0.spec.template.spec.containers[0].image }.sorted()
        #expect(images == ["app:v3", "app:v4"])
    }

    @Test func pausedDeploymentDoesNotRollOutButScales() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makeDeployment(replicas: 2, readinessDelay: nil))
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        var d = try #require(try await h.deployment("web"))
        d.spec.paused = true
        d.spec.template.spec.containers[0].image = "app:v2"
        d.spec.replicas = 4
        _ = try await h.store.update(d)
        for _ in 0..<10 { try await h.step() }
        let pods = try await h.pods()
        #expect(pods.count == 4)
        #expect(pods.allSatisfy { $0.image == "app:v1" })
        #expect(try await h.deployment("web")?.condition("Progressing")?.reason == "DeploymentPaused")
        d = try #require(try await h.deployment("web"))
        d.spec.paused = false
        _ = try await h.store.update(d)
        let done = try await h.run(upTo: 60) {
            let pods = try await h.pods()
            return try await h.deployment("web")?.isComplete == true && pods.count == 4 && pods.allSatisfy { $0.image == "app:v2" }
        }
        #expect(done != nil)
    }

    @Test func proportionalScalingDuringRollout() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        // New pods never become ready: the rollout stalls with old and new sets active.
        let strategy = DeploymentStrategy(type: "RollingUpdate", rollingUpdate: .init(maxSurge: .int(3), maxUnavailable: .int(2)))
        _ = try await h.store.create(makeDeployment(replicas: 10, strategy: strategy))
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        await h.runtime.setBroken("app:v2")
        var d = try #require(try await h.deployment("web"))
        d.spec.template.spec.containers[0].image = "app:v2"
        _ = try await h.store.update(d)
        for _ in 0..<5 { try await h.step() }
        var sets = try await h.store.list(ReplicaSet.self, namespace: "default")
        let oldBefore = try #require(sets.first { $0.spec.template.spec.containers[0].image == "app:v1" }?.spec.replicas)
        let newBefore = try #require(sets.first { $0.spec.template.spec.containers[0].image == "app:v2" }?.spec.replicas)
        #expect(oldBefore == 8 && newBefore == 5, "old \(oldBefore) new \(newBefore)")
        d = try #require(try await h.deployment("web"))
        d.spec.replicas = 20
        _ = try await h.store.update(d)
        for _ in 0..<3 { try await h.step() }
        sets = try await h.store.list(ReplicaSet.self, namespace: "default")
        let oldAfter = try #require(sets.first { $0.spec.template.spec.containers[0].image == "app:v1" }?.spec.replicas)
        let newAfter = try #require(sets.first { $0.spec.template.spec.containers[0].image == "app:v2" }?.spec.replicas)
        // 13 → 23 (20 + surge 3): the 10 extra are split in proportion 8:5 (Kubernetes gives 6 and 4).
        #expect(oldAfter + newAfter == 23)
        #expect(oldAfter == 14 && newAfter == 9, "old \(oldAfter) new \(newAfter)")
    }
}

@Suite struct MinReadySecondsTests {
    @Test func availabilityWaitsForMinReadySeconds() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        var deployment = makeDeployment(replicas: 2, readinessDelay: nil)
        deployment.spec.minReadySeconds = 10
        _ = try await h.store.create(deployment)
        try await h.run(upTo: 5) {
            let pods = try await h.pods()
            return pods.count == 2 && pods.allSatisfy(\.isReadyForTest)
        }
        let readyAt = h.clock.now()
        try await h.step()  // statuses propagate pod → ReplicaSet → Deployment on the next passes
        try await h.step()
        let d = try #require(try await h.deployment("web"))
        #expect(d.status?.readyReplicas == 2)
        #expect(d.status?.availableReplicas == 0)
        #expect(d.status?.unavailableReplicas == 2)
        #expect(d.condition("Available")?.status == "False")
        #expect(d.condition("Available")?.reason == "MinimumReplicasUnavailable")
        let rs = try #require(try await h.store.list(ReplicaSet.self, namespace: "default").first)
        #expect(rs.spec.minReadySeconds == 10)
        try await h.run(upTo: 20) { try await h.deployment("web")?.status?.availableReplicas == 2 }
        let waited = h.clock.now().timeIntervalSince(readyAt)
        #expect(waited >= 10 && waited <= 12, "available \(waited)s after ready")
        #expect(try await h.deployment("web")?.condition("Available")?.status == "True")
    }
}
