import BerthAPI
import Foundation

/// The helpers of Kubernetes' `deployment/util`, on Berth's types.
enum DeploymentUtil {
    static let desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
    static let maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
    static let defaultRevisionHistoryLimit = 10
    static let defaultProgressDeadlineSeconds = 600

    static func replicas(_ deployment: Deployment) -> Int { deployment.spec.replicas ?? 1 }
    static func replicas(_ rs: ReplicaSet) -> Int { rs.spec.replicas ?? 1 }

    static func isRecreate(_ deployment: Deployment) -> Bool { deployment.spec.strategy?.type == "Recreate" }

    /// `ResolveFenceposts`: maxSurge rounds up, maxUnavailable rounds down,
    /// defaults 25% each; both zero → maxUnavailable 1.
    static func fenceposts(_ deployment: Deployment) -> (surge: Int, unavailable: Int) {
        if isRecreate(deployment) { return (0, 0) }
        let desired = replicas(deployment)
        let rolling = deployment.spec.strategy?.rollingUpdate
        let surge = (rolling?.maxSurge ?? .string("25%")).scaled(total: desired, roundUp: true) ?? 0
        var unavailable = (rolling?.maxUnavailable ?? .string("25%")).scaled(total: desired, roundUp: false) ?? 0
        if surge == 0 && unavailable == 0 { unavailable = 1 }
        return (max(0, surge), max(0, unavailable))
    }

    static func maxSurge(_ deployment: Deployment) -> Int { fenceposts(deployment).surge }

    /// `MaxUnavailable`: 0 for Recreate or zero replicas, at most `replicas`.
    static func maxUnavailable(_ deployment: Deployment) -> Int {
        let desired = replicas(deployment)
        if isRecreate(deployment) || desired == 0 { return 0 }
        return min(fenceposts(deployment).unavailable, desired)
    }

    static func revision(_ rs: ReplicaSet) -> Int {
        Int(rs.metadata.annotations?[WellKnown.revisionAnnotation] ?? "") ?? 0
    }

    static func maxRevision(_ sets: [ReplicaSet]) -> Int { sets.map(revision).max() ?? 0 }

    /// The template without the pod-template-hash label, for comparing a
    /// ReplicaSet's template with its Deployment's (`EqualIgnoreHash`).
    static func templateIgnoringHash(_ template: PodTemplateSpec) -> PodTemplateSpec {
        var copy = template
        copy.metadata?.labels?[WellKnown.podTemplateHashLabel] = nil
        if copy.metadata?.labels?.isEmpty == true { copy.metadata?.labels = nil }
        if copy.metadata == TemplateMeta() { copy.metadata = nil }
        return copy
    }

    static func equalIgnoreHash(_ lhs: PodTemplateSpec, _ rhs: PodTemplateSpec) -> Bool {
        templateIgnoringHash(lhs) == templateIgnoringHash(rhs)
    }

    static func activeCount(_ sets: [ReplicaSet]) -> Int { sets.reduce(0) { $0 + replicas($1) } }
    static func actualCount(_ sets: [ReplicaSet]) -> Int { sets.reduce(0) { $0 + ($1.status?.replicas ?? 0) } }
    static func availableCount(_ sets: [ReplicaSet]) -> Int { sets.reduce(0) { $0 + ($1.status?.availableReplicas ?? 0) } }
    static func readyCount(_ sets: [ReplicaSet]) -> Int { sets.reduce(0) { $0 + ($1.status?.readyReplicas ?? 0) } }

    /// Oldest first; ties broken by name (`ReplicaSetsByCreationTimestamp`).
    static func byCreation(_ lhs: ReplicaSet, _ rhs: ReplicaSet) -> Bool {
        let left = Timestamp.parse(lhs.metadata.creationTimestamp) ?? .distantPast
        let right = Timestamp.parse(rhs.metadata.creationTimestamp) ?? .distantPast
        if left != right { return left < right }
        return lhs.metadata.name < rhs.metadata.name
    }

    static func condition(_ conditions: [Condition]?, _ type: String) -> Condition? {
        conditions?.first { $0.type == type }
    }

    /// `SetDeploymentCondition`: keeps lastTransitionTime when the status did
    /// not change (and the reason did not either, as Kubernetes does).
    static func setCondition(_ conditions: inout [Condition]?, _ new: Condition) {
        var list = conditions ?? []
        var new = new
        if let index = list.firstIndex(where: { $0.type == new.type }) {
            let current = list[index]
            if current.status == new.status && current.reason == new.reason { return }
            if current.status == new.status { new.lastTransitionTime = current.lastTransitionTime }
            list[index] = new
        } else {
            list.append(new)
        }
        conditions = list
    }

    static func makeCondition(_ type: String, _ status: Bool, reason: String, message: String, now: Date) -> Condition {
        var condition = Condition(type: type, status: status ? "True" : "False", reason: reason, message: message)
        condition.lastUpdateTime = Timestamp.format(now)
        condition.lastTransitionTime = Timestamp.format(now)
        return condition
    }
}
