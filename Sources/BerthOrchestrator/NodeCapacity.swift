import BerthAPI
import Foundation

/// The local machine's capacity, as the kubelet reports it: CPUs online and
/// MemTotal, lowered to the limits of Berth's own cgroup (cpu.max,
/// memory.max) when those are smaller — so that a Berth confined to 2 GiB
/// does not schedule 8 GiB of pods.
public struct NodeCapacity: Sendable, Hashable {
    public var cpuMillis: Int64
    public var memoryBytes: Int64
    public var pods: Int64

    public init(cpuMillis: Int64, memoryBytes: Int64, pods: Int64 = 110) {
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.pods = pods
    }

    /// Reads /proc and /sys/fs/cgroup (cgroup v2 unified hierarchy).
    public static func detect(procRoot: String = "/proc", cgroupRoot: String = "/sys/fs/cgroup") -> NodeCapacity {
        let cpus = Int64(max(1, ProcessInfo.processInfo.activeProcessorCount))
        var cpuMillis = cpus * 1000
        var memory: Int64 = 0
        if let meminfo = try? String(contentsOfFile: "\(procRoot)/meminfo", encoding: .utf8) {
            memory = parseMemTotal(meminfo) ?? 0
        }
        if memory == 0 { memory = Int64(ProcessInfo.processInfo.physicalMemory) }
        if let cgroup = try? String(contentsOfFile: "\(procRoot)/self/cgroup", encoding: .utf8),
           let line = cgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) {
            var path = String(line.dropFirst(3))
            // Walk up: a parent's limit binds us too.
            while true {
                let dir = cgroupRoot + (path == "/" ? "" : path)
                if let text = try? String(contentsOfFile: "\(dir)/memory.max", encoding: .utf8),
                   let limit = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
                    memory = min(memory, limit)
                }
                if let text = try? String(contentsOfFile: "\(dir)/cpu.max", encoding: .utf8),
                   let limit = parseCPUMax(text) {
                    cpuMillis = min(cpuMillis, limit)
                }
                if path == "/" || path.isEmpty { break }
                path = (path as NSString).deletingLastPathComponent
            }
        }
        return NodeCapacity(cpuMillis: cpuMillis, memoryBytes: memory)
    }

    static func parseMemTotal(_ text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Int64(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// "max 100000" → nil; "200000 100000" → 2000 millicores.
    static func parseCPUMax(_ text: String) -> Int64? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let quota = Int64(fields[0]), let period = Int64(fields[1]), period > 0 else { return nil }
        return quota * 1000 / period
    }

    /// A Node object with this capacity as both capacity and allocatable.
    public func node(named name: String, labels: [String: String] = [:]) -> Node {
        var status = NodeStatus()
        let resources: [String: Quantity] = [
            "cpu": Quantity(nanoValue: Int128(cpuMillis) * 1_000_000),
            "memory": Quantity(nanoValue: Int128(memoryBytes) * 1_000_000_000, format: .binarySI),
            "pods": Quantity(nanoValue: Int128(pods) * 1_000_000_000),
        ]
        status.capacity = resources
        status.allocatable = resources
        var condition = Condition(type: "Ready", status: "True", reason: "KubeletReady", message: "berth is posting ready status")
        condition.lastTransitionTime = nil
        status.conditions = [condition]
        let nodeLabels = labels.merging(["kubernetes.io/hostname": name, "kubernetes.io/os": "linux"]) { $1 }
        return Node(metadata: ObjectMeta(name: name, labels: nodeLabels), status: status)
    }
}
