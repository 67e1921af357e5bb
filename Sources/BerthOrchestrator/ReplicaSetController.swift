import BerthAPI
import Foundation
import Logging

/// Kubernetes' ReplicaSet controller: creates Pods `<rs>-<5 chars>` from the
/// template until the active count matches `replicas`, deletes the pods
/// `PodUtil.deleteFirst` prefers when there are too many, and reports
/// replicas / readyReplicas / availableReplicas.
public struct ReplicaSetController: Sendable {
    let store: any OrchestratorStore
    let clock: any OrchestratorClock
    let podDeleter: PodDeleter
    let logger: Logger
    /// Kubernetes' burst of creations per pass (`burstReplicas`).
    var burst = 500

    public init(store: any OrchestratorStore, clock: any OrchestratorClock, localNodeName: String,
                logger: Logger = Logger(label: "berth.replicaset")) {
        self.store = store
        self.clock = clock
        self.podDeleter = PodDeleter(store: store, clock: clock, localNodeName: localNodeName)
        self.logger = logger
    }

    public func reconcile(namespace: String, name: String) async throws -> ReconcileResult {
        guard var rs = try await store.get(ReplicaSet.self, namespace: namespace, name: name) else { return .done }
        let pods = try await claimPods(rs)
        let active = pods.filter(PodUtil.isActive)
        let desired = rs.isTerminating ? 0 : DeploymentUtil.replicas(rs)
        let diff = active.count - desired

        // The pods as they are after this pass (created ones are not ready),
        // for the status.
        var current = active
        if diff < 0 {
            for _ in 0..<min(-diff, burst) {
                let pod = try await createPod(rs)
                current.append(pod)
                Trace.mark("replicaset \(rs.name): created \(pod.name)")
                await store.recordEvent(involving: rs.objectReference, reason: "SuccessfulCreate",
                                        message: "Created pod: \(pod.name)", type: "Normal")
            }
        } else if diff > 0 {
            for pod in active.sorted(by: PodUtil.deleteFirst).prefix(diff) {
                try await podDeleter.delete(pod)
                current.removeAll { $0.uid == pod.uid }
                await store.recordEvent(involving: rs.objectReference, reason: "SuccessfulDelete",
                                        message: "Deleted pod: \(pod.name)", type: "Normal")
            }
        }

        let now = clock.now()
        let minReady = rs.spec.minReadySeconds ?? 0
        var status = rs.status ?? ReplicaSetStatus()
        status.replicas = current.count
        status.fullyLabeledReplicas = current.filter { pod in
            (rs.spec.template.metadata?.labels ?? [:]).allSatisfy { pod.metadata.labels?[$0.key] == $0.value }
        }.count
        status.readyReplicas = current.filter(PodUtil.isReady).count
        status.availableReplicas = current.filter { PodUtil.isAvailable($0, minReadySeconds: minReady, now: now) }.count
        status.observedGeneration = rs.metadata.generation
        if status != rs.status {
            rs.status = status
            rs = try await store.updateStatus(rs)
            Trace.mark("replicaset \(rs.name): status replicas \(status.replicas) ready \(status.readyReplicas ?? 0) available \(status.availableReplicas ?? 0)")
        }
        // A ready pod becomes available after minReadySeconds: look again then.
        if minReady > 0, (status.readyReplicas ?? 0) > (status.availableReplicas ?? 0) {
            return .requeueAfter(TimeInterval(minReady) / 2 + 0.5)
        }
        return .done
    }

    /// Pods this set controls, adopting orphans its selector matches. Only
    /// pods the selector matches are read: an owned pod whose labels no
    /// longer match is not the set's (Kubernetes releases it).
    func claimPods(_ rs: ReplicaSet) async throws -> [Pod] {
        var owned = try await store.list(Pod.self, namespace: rs.namespace, controlledBy: rs.uid)
            .filter { rs.spec.selector.matches($0.metadata.labels ?? [:]) }
        for var pod in try await store.listUncontrolled(Pod.self, namespace: rs.namespace) {
            guard !rs.isTerminating, PodUtil.isActive(pod), rs.spec.selector.matches(pod.metadata.labels ?? [:]) else { continue }
            pod.metadata.ownerReferences = (pod.metadata.ownerReferences ?? [])
                + [OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.name, uid: rs.uid)]
            owned.append(try await store.update(pod))
        }
        return owned
    }

    func createPod(_ rs: ReplicaSet) async throws -> Pod {
        let template = rs.spec.template
        var meta = ObjectMeta(name: "", namespace: rs.namespace, labels: template.metadata?.labels,
                              annotations: template.metadata?.annotations)
        meta.generateName = "\(rs.name)-"
        meta.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.name, uid: rs.uid)]
        var pod = Pod(metadata: meta, spec: template.spec, status: PodStatus(phase: "Pending"))
        // generateName as the API server does it: retry on the rare clash.
        for _ in 0..<8 {
            pod.metadata.name = "\(rs.name)-\(PodTemplateHash.randomSuffix())"
            do {
                return try await store.create(pod)
            } catch let error as BerthError where error.code == .alreadyExists {
                continue
            }
        }
        throw BerthError(.conflict, "could not find a free pod name for ReplicaSet \(rs.name)")
    }
}

/// Deletes pods as the API server does. A pod the kubelet runs carries its
/// finalizer, so the store only sets deletionTimestamp and the kubelet
/// removes the pod once its containers have stopped (honouring
/// terminationGracePeriodSeconds); any other pod — not scheduled, or on a
/// simulated node — goes at once.
public struct PodDeleter: Sendable {
    let store: any OrchestratorStore
    let clock: any OrchestratorClock
    let localNodeName: String

    public init(store: any OrchestratorStore, clock: any OrchestratorClock, localNodeName: String) {
        self.store = store
        self.clock = clock
        self.localNodeName = localNodeName
    }

    public func delete(_ pod: Pod) async throws {
        guard !pod.isTerminating else { return }
        do {
            try await store.delete(.pod, namespace: pod.namespace, name: pod.name)
        } catch let error as BerthError where error.code == .notFound {
            return
        }
    }
}
