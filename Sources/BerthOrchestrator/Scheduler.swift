import BerthAPI
import Foundation

/// Binds pending pods to nodes whose allocatable cpu, memory and pod count
/// still fit the pod's requests (the sum over pods already bound there),
/// honouring nodeSelector. Prefers the local node (the only one that runs
/// pods), then the node with the most free memory. A pod that fits nowhere
/// stays Pending with PodScheduled=False/Unschedulable and a FailedScheduling
/// event worded as Kubernetes words it: "0/2 nodes are available: 2
/// Insufficient memory."
public struct Scheduler: Sendable {
    let store: any OrchestratorStore
    let clock: any OrchestratorClock
    let localNodeName: String

    public init(store: any OrchestratorStore, clock: any OrchestratorClock, localNodeName: String) {
        self.store = store
        self.clock = clock
        self.localNodeName = localNodeName
    }

    public enum Decision: Sendable, Equatable {
        case bound(node: String)
        case unschedulable(message: String)
        case skipped
    }

    struct Usage {
        var cpuMillis: Int64 = 0
        var memoryBytes: Int64 = 0
        var pods = 0
    }

    @discardableResult
    public func schedule(namespace: String, name: String) async throws -> Decision {
        guard var pod = try await store.get(Pod.self, namespace: namespace, name: name),
              pod.spec.nodeName?.isEmpty ?? true, PodUtil.isActive(pod) else { return .skipped }
        let nodes = try await store.list(Node.self, namespace: nil).sorted { $0.name < $1.name }
        var usage: [String: Usage] = [:]
        for other in try await store.list(Pod.self, namespace: nil) {
            guard let node = other.spec.nodeName, !node.isEmpty, !PodUtil.isTerminal(other) else { continue }
            let request = PodUtil.requests(other)
            usage[node, default: Usage()].cpuMillis += request.cpuMillis
            usage[node, default: Usage()].memoryBytes += request.memoryBytes
            usage[node, default: Usage()].pods += 1
        }
        let request = PodUtil.requests(pod)
        var reasons: [String: Int] = [:]
        var fitting: [(node: Node, freeMemory: Int64)] = []
        for node in nodes {
            let allocatable = node.status?.allocatable ?? node.status?.capacity ?? [:]
            let used = usage[node.name] ?? Usage()
            var nodeReasons: [String] = []
            if let selector = pod.spec.nodeSelector,
               !selector.allSatisfy({ node.metadata.labels?[$0.key] == $0.value }) {
                // As in Kubernetes, a node that fails a filter is not checked further.
                reasons["node(s) didn't match Pod's node affinity/selector", default: 0] += 1
                continue
            }
            if let pods = allocatable["pods"]?.value, Int64(used.pods + 1) > pods { nodeReasons.append("Too many pods") }
            if let cpu = allocatable["cpu"]?.milliValue, request.cpuMillis > 0, used.cpuMillis + request.cpuMillis > cpu {
                nodeReasons.append("Insufficient cpu")
            }
            let memory = allocatable["memory"]?.value
            if let memory, request.memoryBytes > 0, used.memoryBytes + request.memoryBytes > memory {
                nodeReasons.append("Insufficient memory")
            }
            if nodeReasons.isEmpty {
                fitting.append((node, (memory ?? Int64.max) - used.memoryBytes))
            } else {
                for reason in nodeReasons { reasons[reason, default: 0] += 1 }
            }
        }
        let now = Timestamp.formatMillis(clock.now())
        let best = fitting.first { $0.node.name == localNodeName } ?? fitting.max { $0.freeMemory < $1.freeMemory }
        guard let chosen = best?.node else {
            let detail = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            let message = "0/\(nodes.count) nodes are available" + (detail.isEmpty ? "." : ": \(detail).")
            var status = pod.status ?? PodStatus(phase: "Pending")
            status.phase = "Pending"
            var condition = Condition(type: "PodScheduled", status: "False", reason: "Unschedulable", message: message)
            let existing = status.conditions?.first { $0.type == "PodScheduled" }
            condition.lastTransitionTime = existing?.status == "False" ? existing?.lastTransitionTime : now
            if existing != condition {
                status.conditions = (status.conditions ?? []).filter { $0.type != "PodScheduled" } + [condition]
                pod.status = status
                _ = try await store.updateStatus(pod)
                await store.recordEvent(involving: pod.objectReference, reason: "FailedScheduling", message: message, type: "Warning")
            }
            return .unschedulable(message: message)
        }
        pod.spec.nodeName = chosen.name
        if chosen.name == localNodeName, !(pod.metadata.finalizers ?? []).contains(Kubelet.finalizer), PodUtil.isActive(pod) {
            // The local kubelet will run it: its finalizer goes on in the
            // bind's write rather than in a write of its own first pass.
            pod.metadata.finalizers = (pod.metadata.finalizers ?? []) + [Kubelet.finalizer]
        }
        var status = pod.status ?? PodStatus(phase: "Pending")
        var condition = Condition(type: "PodScheduled", status: "True")
        condition.lastTransitionTime = now
        status.conditions = (status.conditions ?? []).filter { $0.type != "PodScheduled" } + [condition]
        pod.status = status
        pod = try await store.bind(pod, message: "Successfully assigned \(pod.namespace)/\(pod.name) to \(chosen.name)")
        Trace.mark("scheduler: bound \(pod.name)")
        return .bound(node: chosen.name)
    }
}
