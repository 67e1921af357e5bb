import BerthAPI
import Foundation

/// Pod predicates shared by the controllers, the scheduler and the kubelet.
enum PodUtil {
    static func isTerminal(_ pod: Pod) -> Bool {
        pod.status?.phase == "Succeeded" || pod.status?.phase == "Failed"
    }

    /// Not finished and not being deleted (`FilterActivePods`).
    static func isActive(_ pod: Pod) -> Bool { !isTerminal(pod) && !pod.isTerminating }

    static func readyCondition(_ pod: Pod) -> Condition? {
        pod.status?.conditions?.first { $0.type == "Ready" }
    }

    static func isReady(_ pod: Pod) -> Bool { readyCondition(pod)?.status == "True" }

    /// Ready for at least `minReadySeconds` (`IsPodAvailable`).
    static func isAvailable(_ pod: Pod, minReadySeconds: Int, now: Date) -> Bool {
        guard let condition = readyCondition(pod), condition.status == "True" else { return false }
        if minReadySeconds == 0 { return true }
        guard let since = Timestamp.parse(condition.lastTransitionTime) else { return false }
        return since.addingTimeInterval(TimeInterval(minReadySeconds)) <= now
    }

    static func restarts(_ pod: Pod) -> Int {
        (pod.status?.containerStatuses ?? []).map(\.restartCount).max() ?? 0
    }

    static func phaseRank(_ pod: Pod) -> Int {
        switch pod.status?.phase {
        case "Pending", nil: return 0
        case "Unknown": return 1
        case "Running": return 2
        default: return 3
        }
    }

    /// Kubernetes' `ActivePods.Less`: the pod to delete first sorts first —
    /// unscheduled before scheduled, Pending before Unknown before Running,
    /// not ready before ready, ready for less time before more, more restarts
    /// before fewer, newer before older.
    static func deleteFirst(_ lhs: Pod, _ rhs: Pod) -> Bool {
        let lScheduled = lhs.spec.nodeName?.isEmpty == false
        let rScheduled = rhs.spec.nodeName?.isEmpty == false
        if lScheduled != rScheduled { return !lScheduled }
        if phaseRank(lhs) != phaseRank(rhs) { return phaseRank(lhs) < phaseRank(rhs) }
        let lReady = isReady(lhs), rReady = isReady(rhs)
        if lReady != rReady { return !lReady }
        if lReady && rReady {
            let lSince = Timestamp.parse(readyCondition(lhs)?.lastTransitionTime) ?? .distantPast
            let rSince = Timestamp.parse(readyCondition(rhs)?.lastTransitionTime) ?? .distantPast
            if lSince != rSince { return lSince > rSince }
        }
        if restarts(lhs) != restarts(rhs) { return restarts(lhs) > restarts(rhs) }
        let lCreated = Timestamp.parse(lhs.metadata.creationTimestamp) ?? .distantPast
        let rCreated = Timestamp.parse(rhs.metadata.creationTimestamp) ?? .distantPast
        if lCreated != rCreated { return lCreated > rCreated }
        return lhs.metadata.name > rhs.metadata.name
    }

    /// Requests of one container; limits stand in for missing requests, as
    /// Kubernetes' defaulting does.
    static func requests(_ container: Container) -> (cpuMillis: Int64, memoryBytes: Int64) {
        let requests = container.resources?.requests ?? [:]
        let limits = container.resources?.limits ?? [:]
        let cpu = (requests["cpu"] ?? limits["cpu"])?.milliValue ?? 0
        let memory = (requests["memory"] ?? limits["memory"])?.value ?? 0
        return (cpu, memory)
    }

    /// The pod's effective request: the larger of the app containers' sum
    /// and the largest init container (they run one at a time).
    static func requests(_ pod: Pod) -> (cpuMillis: Int64, memoryBytes: Int64) {
        var cpu: Int64 = 0, memory: Int64 = 0
        for container in pod.spec.containers {
            let request = requests(container)
            cpu += request.cpuMillis
            memory += request.memoryBytes
        }
        for container in pod.spec.initContainers ?? [] {
            let request = requests(container)
            cpu = max(cpu, request.cpuMillis)
            memory = max(memory, request.memoryBytes)
        }
        return (cpu, memory)
    }
}
