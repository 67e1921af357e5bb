import BerthAPI
import Foundation

extension Kubelet {
    /// Builds the pod status from the kubelet's records, writes it when it
    /// changed, and returns the phase.
    @discardableResult
    func writeStatus(_ pod: Pod, _ state: PodState) async throws -> String {
        let now = Timestamp.formatMillis(clock.now())
        var status = pod.status ?? PodStatus()
        let initStatuses = (pod.spec.initContainers ?? []).map { containerStatus($0, state.initContainers[$0.name]) }
        let appStatuses = pod.spec.containers.map { containerStatus($0, state.containers[$0.name]) }
        status.initContainerStatuses = initStatuses.isEmpty ? nil : initStatuses
        status.containerStatuses = appStatuses
        status.podIP = state.podIP ?? status.podIP
        status.hostIP = "127.0.0.1"
        status.startTime = state.startTime.map(Timestamp.format) ?? status.startTime

        let initialized = initStatuses.allSatisfy { $0.state?.terminated?.exitCode == 0 }
        let phase = Self.phase(pod, initStatuses: initStatuses, appStatuses: appStatuses, initialized: initialized)
        status.phase = phase
        let containersReady = !appStatuses.isEmpty && appStatuses.allSatisfy(\.ready) && phase == "Running"
        var conditions = status.conditions ?? []
        // Readiness turned true when the last container's probe passed,
        // not when this write happens.
        let readySince = containersReady
            ? pod.spec.containers.compactMap { state.containers[$0.name]?.readySince }.max().map(Timestamp.formatMillis)
            : nil
        func set(_ type: String, _ value: Bool, reason: String?, since: String? = nil) {
            let text = value ? "True" : "False"
            if let index = conditions.firstIndex(where: { $0.type == type }) {
                if conditions[index].status == text && conditions[index].reason == reason { return }
                var condition = Condition(type: type, status: text, reason: reason)
                condition.lastTransitionTime = conditions[index].status == text ? conditions[index].lastTransitionTime : (since ?? now)
                conditions[index] = condition
            } else {
                var condition = Condition(type: type, status: text, reason: reason)
                condition.lastTransitionTime = since ?? now
                conditions.append(condition)
            }
        }
        let podCompleted = phase == "Succeeded" || phase == "Failed"
        set("Initialized", initialized, reason: initialized ? nil : "ContainersNotInitialized")
        set("ContainersReady", containersReady, reason: containersReady ? nil : (podCompleted ? "PodCompleted" : "ContainersNotReady"),
            since: readySince)
        set("Ready", containersReady, reason: containersReady ? nil : (podCompleted ? "PodCompleted" : "ContainersNotReady"),
            since: readySince)
        status.conditions = conditions

        if status != pod.status {
            var copy = pod
            copy.status = status
            do {
                _ = try await store.updateStatus(copy)
                Trace.mark("kubelet \(pod.name): status \(phase)\(containersReady ? " Ready" : "")")
            } catch let error as BerthError where error.code == .conflict {
                // Someone else wrote the pod (scheduler, deleter); the next pass rewrites.
            }
        }
        return phase
    }

    func containerStatus(_ container: Container, _ record: ContainerRecord?) -> ContainerStatus {
        var status = ContainerStatus(name: container.name, image: container.image)
        guard let record else {
            status.state = ContainerStatus.State(waiting: ContainerStatus.Waiting(reason: "PodInitializing"))
            return status
        }
        status.restartCount = record.attempt
        status.imageID = record.imageID
        status.containerID = record.id.map { "berth://\($0)" }
        if let terminated = record.terminated {
            status.state = ContainerStatus.State(terminated: terminated)
        } else if record.running, record.waiting == nil {
            status.state = ContainerStatus.State(running: ContainerStatus.Running(startedAt: record.startedAt.map(Timestamp.formatMillis)))
            status.ready = record.ready
            status.started = record.started
        } else {
            status.state = ContainerStatus.State(waiting: record.waiting ?? ContainerStatus.Waiting(reason: "ContainerCreating"))
            status.started = false
        }
        if let last = record.lastTerminated, record.terminated == nil || last.containerID != record.terminated?.containerID {
            status.lastState = ContainerStatus.State(terminated: last)
        }
        return status
    }

    /// Kubernetes' `getPhase`.
    static func phase(_ pod: Pod, initStatuses: [ContainerStatus], appStatuses: [ContainerStatus], initialized: Bool) -> String {
        let policy = pod.spec.restartPolicy ?? "Always"
        if !initialized {
            // An init container that failed and will not be retried fails the pod.
            if policy == "Never", initStatuses.contains(where: { ($0.state?.terminated?.exitCode ?? 0) != 0 }) {
                return "Failed"
            }
            return "Pending"
        }
        var running = 0, waiting = 0, stopped = 0, succeeded = 0
        for status in appStatuses {
            if status.state?.running != nil {
                running += 1
            } else if let terminated = status.state?.terminated {
                stopped += 1
                if terminated.exitCode == 0 { succeeded += 1 }
            } else if status.lastState?.terminated != nil {
                stopped += 1
            } else {
                waiting += 1
            }
        }
        if waiting > 0 { return "Pending" }
        if running > 0 { return "Running" }
        if stopped > 0 {
            // Containers waiting to be restarted keep the pod Running.
            if appStatuses.contains(where: { $0.state?.terminated == nil }) { return "Running" }
            if policy == "Always" { return "Running" }
            if stopped == succeeded { return "Succeeded" }
            return policy == "OnFailure" ? "Running" : "Failed"
        }
        return "Pending"
    }
}
