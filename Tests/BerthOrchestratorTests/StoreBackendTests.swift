import BerthAPI
import BerthStore
import Foundation
import Logging
import ServiceLifecycle
import Testing
@testable import BerthOrchestrator

/// The controllers over the real SQLite store (BerthStore), not the memory
/// fake: the same rollout, graceful deletion through finalizers and the
/// store's cascade, unmodelled manifest fields surviving controller writes,
/// and the change feed driving the service.
@Suite struct StoreBackendTests {
    struct RealHarness {
        let dir: String
        let clock = ManualClock(start: Date())
        let store: Store
        let backend: StoreBackend
        let runtime: FakeNodeRuntime
        let orchestrator: Orchestrator

        init() async throws {
            dir = NSTemporaryDirectory() + "berth-orch-store-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            store = try Store(dataDirectory: dir)
            backend = StoreBackend(store: store)
            runtime = FakeNodeRuntime(clock: clock)
            orchestrator = Orchestrator(
                store: backend, runtime: runtime,
                configuration: OrchestratorConfiguration(nodeName: "node-1", dataDir: dir + "/data",
                                                         capacity: NodeCapacity(cpuMillis: 8000, memoryBytes: 16 << 30)),
                clock: clock, probeTransport: FakeProbeTransport())
            try await orchestrator.start()
        }

        func step() async throws {
            clock.advance(by: 1)
            try await orchestrator.settle()
        }

        @discardableResult
        func run(upTo limit: Int, until done: () async throws -> Bool) async throws -> Int? {
            try await orchestrator.settle()
            for second in 0...limit {
                if try await done() { return second }
                try await step()
            }
            return nil
        }

        func deployment() async throws -> Deployment? { try await store.get(Deployment.self, namespace: "default", name: "web") }
        func pods() async throws -> [Pod] { try await store.list(Pod.self, namespace: "default") }
        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// A Deployment as a user's manifest has it, with fields BerthAPI does not model.
    static let manifest: JSONValue = [
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": ["name": "web", "namespace": "default", "labels": ["team": "a"]],
        "spec": [
            "replicas": 3,
            "selector": ["matchLabels": ["app": "web"]],
            "strategy": ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": 1, "maxUnavailable": 0]],
            "template": [
                "metadata": ["labels": ["app": "web"]],
                "spec": [
                    "tolerations": [["key": "dedicated", "operator": "Exists"]],
                    "containers": [[
                        "name": "app", "image": "app:v1",
                        "lifecycle": ["preStop": ["exec": ["command": ["sleep", "1"]]]],
                    ]],
                ],
            ],
        ],
    ]

    @Test func rollingUpdateOnTheRealStoreKeepsUnmodelledFields() async throws {
        let h = try await RealHarness()
        defer { h.remove() }
        try await h.store.create(Self.manifest)
        let first = try await h.run(upTo: 30) { try await h.deployment()?.isComplete == true }
        #expect(first != nil)
        #expect(try await h.pods().count == 3)

        // Change the image through the tree, as the reconciler would apply it.
        var tree = try #require(try await h.store.get(ResourceKind.deployment.key(namespace: "default", name: "web"))).object
        if case .object(var root) = tree, case .object(var spec)? = root["spec"], case .object(var template)? = spec["template"],
           case .object(var podSpec)? = template["spec"], case .array(var containers)? = podSpec["containers"],
           case .object(var container) = containers[0] {
            container["image"] = "app:v2"
            containers[0] = .object(container)
            podSpec["containers"] = .array(containers)
            template["spec"] = .object(podSpec)
            spec["template"] = .object(template)
            root["spec"] = .object(spec)
            root["metadata"] = ["name": "web", "namespace": "default", "labels": ["team": "a"]]
            tree = .object(root)
        }
        try await h.store.update(tree)
        let took = try await h.run(upTo: 60) {
            let pods = try await h.pods()
            return try await h.deployment()?.isComplete == true && pods.count == 3 && pods.allSatisfy { $0.image == "app:v2" }
        }
        #expect(took != nil)
        let stored = try #require(try await h.store.get(ResourceKind.deployment.key(namespace: "default", name: "web")))
        #expect(stored.annotations[WellKnown.revisionAnnotation] == "2")
        #expect(stored.object["spec"]?["template"]?["spec"]?["tolerations"] != nil, "controller writes keep tolerations")
        #expect(stored.object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["lifecycle"] != nil)
        let events = try await h.store.events(namespace: "default")
        #expect(events.contains { $0.reason == "ScalingReplicaSet" })
        #expect(events.contains { $0.reason == "SuccessfulCreate" })

        // Rollback through the real store.
        try await h.orchestrator.rollbackDeployment(name: "web", namespace: "default", toRevision: nil)
        let back = try await h.run(upTo: 60) {
            let pods = try await h.pods()
            return try await h.deployment()?.isComplete == true && pods.count == 3 && pods.allSatisfy { $0.image == "app:v1" }
        }
        #expect(back != nil)
        #expect(try await h.deployment()?.metadata.annotations?[WellKnown.revisionAnnotation] == "3")
    }

    /// Adoption through the store's owner index (`listUncontrolled`): an
    /// orphan ReplicaSet the selector matches is adopted and used, one that
    /// another object controls is left alone, and an orphan Pod is adopted
    /// by the ReplicaSet instead of a new one being created.
    @Test func orphansAreAdoptedAndOthersLeftAlone() async throws {
        let h = try await RealHarness()
        defer { h.remove() }
        let deployment = makeDeployment("web", replicas: 2, readinessDelay: nil)
        var orphan = ReplicaSet(metadata: ObjectMeta(name: "web-orphan", namespace: "default", labels: ["app": "web"]),
                                spec: ReplicaSetSpec(replicas: 2, selector: deployment.spec.selector,
                                                     template: deployment.spec.template))
        orphan.metadata.annotations = [WellKnown.revisionAnnotation: "1"]
        try await h.backend.create(orphan)
        // Controlled by another Deployment (whose selector it does not match), though web's selector matches it.
        let other = try await h.backend.create(makeDeployment("other", replicas: 0, readinessDelay: nil))
        var theirs = orphan
        theirs.metadata.name = "web-theirs"
        theirs.spec.replicas = 0
        theirs.metadata.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: "other",
                                                          uid: other.metadata.uid ?? "")]
        try await h.backend.create(theirs)
        var loose = Pod(metadata: ObjectMeta(name: "web-loose", namespace: "default", labels: ["app": "web"]),
                        spec: deployment.spec.template.spec, status: PodStatus(phase: "Pending"))
        loose.metadata.annotations = [:]
        try await h.backend.create(loose)

        try await h.backend.create(deployment)
        let done = try await h.run(upTo: 30) { try await h.deployment()?.isComplete == true }
        #expect(done != nil)
        let uid = try #require(try await h.deployment()?.metadata.uid)

        let sets = try await h.store.list(ReplicaSet.self, namespace: "default").filter { $0.metadata.name.hasPrefix("web-") }
        #expect(sets.map(\.metadata.name).sorted() == ["web-orphan", "web-theirs"], "no new ReplicaSet: the orphan's template is the Deployment's")
        let adopted = try #require(sets.first { $0.metadata.name == "web-orphan" })
        #expect(adopted.metadata.ownerReferences?.first { $0.controller == true }?.uid == uid)
        let left = try #require(sets.first { $0.metadata.name == "web-theirs" })
        #expect(left.metadata.ownerReferences?.map(\.uid) == [other.metadata.uid ?? ""])

        let pods = try await h.pods()
        #expect(pods.count == 2)
        let pod = try #require(pods.first { $0.metadata.name == "web-loose" }, "the orphan Pod counts toward the replicas")
        #expect(pod.metadata.ownerReferences?.first { $0.controller == true }?.uid == adopted.metadata.uid)
        #expect(try await h.store.list(ReplicaSet.self, namespace: "default", controlledBy: uid).map(\.metadata.name) == ["web-orphan"])
    }

    @Test func deletingADeploymentStopsPodsGracefullyThroughFinalizers() async throws {
        let h = try await RealHarness()
        defer { h.remove() }
        var deployment = makeDeployment(replicas: 2, readinessDelay: nil)
        deployment.spec.template.spec.terminationGracePeriodSeconds = 9
        try await h.store.create(deployment)
        try await h.run(upTo: 30) { try await h.deployment()?.isComplete == true }
        #expect(try await h.pods().allSatisfy { $0.metadata.finalizers == [Kubelet.finalizer] })
        // The store cascades (background propagation); pods are only marked.
        try await h.store.delete(ResourceKind.deployment.key(namespace: "default", name: "web"))
        let marked = try await h.pods()
        #expect(marked.count == 2)
        #expect(marked.allSatisfy { $0.metadata.deletionTimestamp != nil })
        #expect(await h.runtime.liveContainers().count == 2)
        try await h.run(upTo: 10) { try await h.pods().isEmpty }
        #expect(try await h.pods().isEmpty)
        #expect(await h.runtime.stops.map(\.grace) == [9, 9])
        #expect(await h.runtime.liveContainers().isEmpty)
        #expect(await h.runtime.sandboxes.isEmpty)
    }

    @Test func serviceRunsOnTheRealChangeFeed() async throws {
        let dir = NSTemporaryDirectory() + "berth-orch-feed-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(dataDirectory: dir)
        let runtime = FakeNodeRuntime(clock: ManualClock())
        let orchestrator = Orchestrator(
            store: StoreBackend(store: store), runtime: runtime,
            configuration: OrchestratorConfiguration(nodeName: "node-1", dataDir: dir + "/data",
                                                     capacity: NodeCapacity(cpuMillis: 8000, memoryBytes: 16 << 30),
                                                     resyncInterval: 3600),
            probeTransport: FakeProbeTransport())
        let group = ServiceGroup(configuration: .init(services: [orchestrator], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        try await Task.sleep(for: .milliseconds(200))
        try await store.create(makeDeployment(replicas: 2, readinessDelay: nil))
        var complete = false
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(100))
            if try await store.get(Deployment.self, namespace: "default", name: "web")?.isComplete == true {
                complete = true
                break
            }
        }
        #expect(complete)
        // A pod deleted by a user goes through the kubelet's graceful path.
        let victim = try #require(try await store.list(Pod.self, namespace: "default").first)
        try await store.delete(ResourceKind.pod.key(namespace: "default", name: victim.metadata.name))
        var replaced = false
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(100))
            let pods = try await store.list(Pod.self, namespace: "default")
            if pods.count == 2, !pods.contains(where: { $0.metadata.name == victim.metadata.name }),
               pods.allSatisfy({ $0.status?.conditions?.first { $0.type == "Ready" }?.status == "True" }) {
                replaced = true
                break
            }
        }
        #expect(replaced, "the deleted pod was stopped, removed and replaced")
        await group.triggerGracefulShutdown()
        try await task.value
    }
}
