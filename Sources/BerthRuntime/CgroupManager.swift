import BerthAPI
import Foundation

/// Where one container's cgroups live: one directory per v1 controller, or a
/// single directory on a v2 (unified) hierarchy. Persisted in state.json so a
/// restarted Berth removes exactly what it created.
public struct CgroupPaths: Sendable, Hashable, Codable {
    public var version: Int
    /// controller name → absolute directory (v2: the key "unified").
    public var directories: [String: String]

    /// `cgroup.procs` files the shim writes the container's pid into before it runs.
    public var procsFiles: [String] { directories.values.sorted().map { $0 + "/cgroup.procs" } }

    /// The file whose `oom_kill` counter tells an OOM kill apart from a plain SIGKILL.
    public var oomFile: String? {
        if version == 2 { return directories["unified"].map { $0 + "/memory.events" } }
        return directories["memory"].map { $0 + "/memory.oom_control" }
    }
}

/// Creates, limits and removes container cgroups, on v1 ("hybrid" included)
/// and v2. Berth's cgroups are made *beneath the cgroup Berth itself runs in*
/// for every controller (…/berth/<id>), because a nested Berth (in a CI job,
/// in a systemd unit) may only write below its own cgroup.
public enum CgroupManager {
    /// The v1 controllers Berth uses; cpuacct only for accounting.
    static let v1Controllers = ["memory", "cpu", "pids", "devices"]

    /// Device nodes a container may use: the ones its /dev has. `c *:* m`
    /// lets it mknod character devices it still cannot open; block devices
    /// are not even mknod-able (stricter than Docker, which allows `b *:* m`).
    static let deviceAllowList = [
        "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
        "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
    ]

    struct Hierarchy {
        var mountPoint: String
        var root: String
        var controllers: Set<String>
    }

    // MARK: - Discovery

    static var isUnified: Bool { FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") }

    static func hierarchies() -> [Hierarchy] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        var result: [Hierarchy] = []
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let fstype = String(right[0])
            if fstype == "cgroup" {
                let options = Set(right[2].split(separator: ",").map(String.init))
                result.append(Hierarchy(mountPoint: String(left[4]), root: String(left[3]), controllers: options))
            } else if fstype == "cgroup2" {
                result.append(Hierarchy(mountPoint: String(left[4]), root: String(left[3]), controllers: ["unified"]))
            }
        }
        return result
    }

    /// controller (or "unified") → this process's cgroup path, from /proc/self/cgroup.
    static func ownPaths() -> [String: String] {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return [:] }
        var paths: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[1].isEmpty {
                paths["unified"] = String(parts[2])
            } else {
                for c in parts[1].split(separator: ",") { paths[String(c)] = String(parts[2]) }
            }
        }
        return paths
    }

    static func directory(for controller: String, hierarchies: [Hierarchy], own: [String: String]) -> String? {
        guard let h = hierarchies.first(where: { $0.controllers.contains(controller) }),
              let path = own[controller] else { return nil }
        var relative = path
        if h.root != "/" && relative.hasPrefix(h.root) { relative = String(relative.dropFirst(h.root.count)) }
        return (h.mountPoint + "/" + relative).replacingOccurrences(of: "//", with: "/")
    }

    // MARK: - Lifecycle

    /// Creates `…/berth/<name>` under Berth's own cgroup and writes the limits.
    public static func create(name: String, limits: ResourceLimits) throws -> CgroupPaths {
        let hs = hierarchies()
        let own = ownPaths()
        if isUnified {
            guard let base = directory(for: "unified", hierarchies: hs, own: own) else {
                throw BerthError(.runtime, "no cgroup v2 hierarchy found in /proc/self/mountinfo")
            }
            let parent = base + "/berth"
            try makeDirectory(parent)
            // Delegate controllers to children (fails harmlessly where not allowed).
            try? write(base + "/cgroup.subtree_control", "+memory +cpu +pids")
            try? write(parent + "/cgroup.subtree_control", "+memory +cpu +pids")
            let dir = parent + "/" + name
            try makeDirectory(dir)
            let paths = CgroupPaths(version: 2, directories: ["unified": dir])
            do { try applyV2(dir, limits) } catch { remove(paths); throw error }
            return paths
        }
        var dirs: [String: String] = [:]
        // Creating a v1 cgroup costs milliseconds each: only controllers with
        // something to enforce, plus devices (always: the device allowlist).
        var wanted = ["devices"]
        if limits.memoryBytes != nil { wanted.append("memory") }
        if limits.cpuMillis != nil || limits.cpuRequestMillis != nil { wanted.append("cpu") }
        if limits.pidsLimit != nil { wanted.append("pids") }
        for controller in v1Controllers where wanted.contains(controller) {
            guard let base = directory(for: controller, hierarchies: hs, own: own) else { continue }
            try makeDirectory(base + "/berth")
            let dir = base + "/berth/" + name
            try makeDirectory(dir)
            dirs[controller] = dir
        }
        let paths = CgroupPaths(version: 1, directories: dirs)
        do { try applyV1(dirs, limits) } catch { remove(paths); throw error }
        return paths
    }

    static func applyV1(_ dirs: [String: String], _ limits: ResourceLimits) throws {
        if let mem = dirs["memory"], let bytes = limits.memoryBytes {
            try write(mem + "/memory.limit_in_bytes", String(bytes))
            // No swap beyond the limit, so that the limit is the limit (as Kubernetes).
            if FileManager.default.fileExists(atPath: mem + "/memory.memsw.limit_in_bytes") {
                try? write(mem + "/memory.memsw.limit_in_bytes", String(bytes))
            }
        }
        if let cpu = dirs["cpu"] {
            if let millis = limits.cpuMillis {
                try write(cpu + "/cpu.cfs_period_us", "100000")
                try write(cpu + "/cpu.cfs_quota_us", String(max(1000, millis * 100)))
            }
            if let request = limits.cpuRequestMillis {
                try write(cpu + "/cpu.shares", String(max(2, request * 1024 / 1000)))
            }
        }
        if let pids = dirs["pids"], let max = limits.pidsLimit {
            try write(pids + "/pids.max", String(max))
        }
        if let dev = dirs["devices"] {
            try write(dev + "/devices.deny", "a")
            for rule in deviceAllowList { try write(dev + "/devices.allow", rule) }
        }
    }

    /// v2 has no devices.allow: device access there needs a BPF_CGROUP_DEVICE
    /// program, which Berth does not load yet (the shim's /dev only holds the
    /// standard nodes, and CAP_MKNOD + seccomp still apply).
    static func applyV2(_ dir: String, _ limits: ResourceLimits) throws {
        if let bytes = limits.memoryBytes {
            try write(dir + "/memory.max", String(bytes))
            try? write(dir + "/memory.swap.max", "0")
        }
        if let millis = limits.cpuMillis { try write(dir + "/cpu.max", "\(max(1000, millis * 100)) 100000") }
        if let request = limits.cpuRequestMillis {
            let shares = max(2, request * 1024 / 1000)
            try write(dir + "/cpu.weight", String(1 + ((shares - 2) * 9999) / 262_142))
        }
        if let max = limits.pidsLimit { try write(dir + "/pids.max", String(max)) }
    }

    /// Kills whatever is left and removes the directories (retrying while the
    /// kernel finishes tearing the last tasks down).
    public static func remove(_ paths: CgroupPaths) {
        for dir in Set(paths.directories.values) {
            for attempt in 0..<100 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                if let procs = try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8) {
                    for pid in procs.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
                }
                usleep(attempt < 10 ? 2000 : 20000)
            }
        }
    }

    public static func oomKillCount(_ paths: CgroupPaths) -> Int {
        guard let file = paths.oomFile, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    // MARK: - Files

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw BerthError(.runtime, "create cgroup \(path): \(String(cString: strerror(errno)))",
                             hint: "Berth needs root and a writable cgroup hierarchy")
        }
    }

    static func write(_ path: String, _ value: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BerthError(.runtime, "open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let n = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        if n < 0 { throw BerthError(.runtime, "write \(value) to \(path): \(String(cString: strerror(errno)))") }
    }
}
