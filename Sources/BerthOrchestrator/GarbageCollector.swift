import BerthAPI
import Foundation

/// Deletes dependents whose owner is gone (background cascading deletion):
/// ReplicaSets of a deleted Deployment, Pods of a deleted ReplicaSet. An
/// owner counts as gone when no object of its kind has its name and uid.
public struct GarbageCollector: Sendable {
    let store: any OrchestratorStore
    let podDeleter: PodDeleter

    public init(store: any OrchestratorStore, clock: any OrchestratorClock, localNodeName: String) {
        self.store = store
        self.podDeleter = PodDeleter(store: store, clock: clock, localNodeName: localNodeName)
    }

    /// One full pass; returns how many objects it deleted.
    @discardableResult
    public func collect() async throws -> Int {
        var deleted = 0
        let deployments = Set(try await store.list(Deployment.self, namespace: nil).map(\.uid))
        for rs in try await store.list(ReplicaSet.self, namespace: nil) where orphaned(rs.metadata, kind: "Deployment", alive: deployments) {
            do {
                try await store.delete(.replicaSet, namespace: rs.namespace, name: rs.name)
                deleted += 1
            } catch let error as BerthError where error.code == .notFound {}
        }
        let sets = Set(try await store.list(ReplicaSet.self, namespace: nil).map(\.uid))
        for pod in try await store.list(Pod.self, namespace: nil) where !pod.isTerminating
            && orphaned(pod.metadata, kind: "ReplicaSet", alive: sets) {
            try await podDeleter.delete(pod)
            deleted += 1
        }
        return deleted
    }

    private func orphaned(_ meta: ObjectMeta, kind: String, alive: Set<String>) -> Bool {
        let owners = (meta.ownerReferences ?? []).filter { $0.kind == kind }
        guard !owners.isEmpty else { return false }
        return owners.allSatisfy { !alive.contains($0.uid) }
    }
}
