import BerthAPI
import CBerthLinux
import Glibc

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

    static var isUnified: Bool { LinuxFiles.exists("/sys/fs/cgroup/cgroup.controllers") }

    static func hierarchies() -> [Hierarchy] {
        guard let text = LinuxFiles.readText("/proc/self/mountinfo") else { return [] }
        var result: [Hierarchy] = []
        for line in text.split(separator: "\n") {
            // "36 25 0:31 / /sys/fs/cgroup/memory rw,… shared:14 - cgroup cgroup rw,memory":
            // the optional fields end at a lone "-".
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-") else { continue }
            let left = fields[..<dash]
            let right = fields[(dash + 1)...]
            guard left.count >= 5, right.count >= 3 else { continue }
            let fstype = right[right.startIndex]
            let mountPoint = String(left[left.startIndex + 4]), root = String(left[left.startIndex + 3])
            if fstype == "cgroup" {
                let options = Set(right[right.startIndex + 2].split(separator: ",").map(String.init))
                result.append(Hierarchy(mountPoint: mountPoint, root: root, controllers: options))
            } else if fstype == "cgroup2" {
                result.append(Hierarchy(mountPoint: mountPoint, root: root, controllers: ["unified"]))
            }
        }
        return result
    }

    /// controller (or "unified") → this process's cgroup path, from /proc/self/cgroup.
    static func ownPaths() -> [String: String] {
        guard let text = LinuxFiles.readText("/proc/self/cgroup") else { return [:] }
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
        return LinuxFiles.collapsingSlashes(h.mountPoint + "/" + relative)
    }

    // MARK: - Lifecycle

    /// Creates `…/berth/<name>` under Berth's own cgroup and writes the limits.
    ///
    /// `unifiedRoot` forces the v2 path on a cgroup2 directory (tests on a
    /// "hybrid" v1 host use /sys/fs/cgroup/unified); nil detects the layout.
    public static func create(name: String, limits: ResourceLimits, unifiedRoot: String? = nil) throws -> CgroupPaths {
        if let unifiedRoot { return try createV2(base: unifiedRoot, name: name, limits: limits) }
        let hs = hierarchies()
        let own = ownPaths()
        if isUnified {
            guard let base = directory(for: "unified", hierarchies: hs, own: own) else {
                throw BerthError(.runtime, "no cgroup v2 hierarchy found in /proc/self/mountinfo")
            }
            return try createV2(base: base, name: name, limits: limits)
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

    /// v2: one directory `<base>/berth/<name>`, the limits, and the device
    /// program (v2's replacement for devices.allow).
    static func createV2(base: String, name: String, limits: ResourceLimits) throws -> CgroupPaths {
        let parent = base + "/berth"
        try makeDirectory(parent)
        // Delegate controllers to children. Fails harmlessly where a controller
        // is not available (bound to v1 on a hybrid host); a limit that needs
        // it then fails below with the controller named.
        for dir in [base, parent] {
            for controller in ["memory", "cpu", "pids"] { try? write(dir + "/cgroup.subtree_control", "+" + controller) }
        }
        let dir = parent + "/" + name
        try makeDirectory(dir)
        let paths = CgroupPaths(version: 2, directories: ["unified": dir])
        do {
            try applyV2(dir, limits)
            try attachDeviceProgram(dir)
        } catch {
            remove(paths)
            throw error
        }
        return paths
    }

    static func applyV1(_ dirs: [String: String], _ limits: ResourceLimits) throws {
        if let mem = dirs["memory"], let bytes = limits.memoryBytes {
            try write(mem + "/memory.limit_in_bytes", String(bytes))
            // No swap beyond the limit, so that the limit is the limit (as Kubernetes).
            if LinuxFiles.exists(mem + "/memory.memsw.limit_in_bytes") {
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

    /// The v2 limit files. A missing file means the controller is not enabled
    /// for Berth's cgroup (on a hybrid host it belongs to v1): say so.
    static func applyV2(_ dir: String, _ limits: ResourceLimits) throws {
        if let bytes = limits.memoryBytes {
            try writeV2(dir, "memory.max", String(bytes))
            try? write(dir + "/memory.swap.max", "0")
        }
        if let millis = limits.cpuMillis { try writeV2(dir, "cpu.max", "\(max(1000, millis * 100)) 100000") }
        if let request = limits.cpuRequestMillis {
            // Kubernetes' mapping of cpu.shares [2, 262144] onto cpu.weight [1, 10000].
            let shares = max(2, request * 1024 / 1000)
            try writeV2(dir, "cpu.weight", String(1 + ((shares - 2) * 9999) / 262_142))
        }
        if let max = limits.pidsLimit { try writeV2(dir, "pids.max", String(max)) }
    }

    static func writeV2(_ dir: String, _ file: String, _ value: String) throws {
        guard access(dir + "/" + file, F_OK) == 0 else {
            let controller = String(file.prefix(while: { $0 != "." }))
            throw BerthError(.runtime, "cgroup v2 controller \(controller) is not enabled for \(dir) (no \(file))",
                             hint: "enable it in the parent's cgroup.subtree_control, or run without that limit")
        }
        try write(dir + "/" + file, value)
    }

    /// v2 has no devices.allow: the same allowlist becomes a BPF_CGROUP_DEVICE
    /// program attached to the container's cgroup (see devices_bpf.c).
    static func attachDeviceProgram(_ dir: String) throws {
        let rules = try deviceAllowList.map(deviceRule)
        var err = [CChar](repeating: 0, count: 512)
        let rc = rules.withUnsafeBufferPointer { buf in
            berth_cgroup_attach_devices(dir, buf.baseAddress, Int32(buf.count), &err, err.count)
        }
        if rc != 0 {
            throw BerthError(.runtime, "cgroup v2 device control: \(String(cString: err))",
                             hint: "Berth needs root (CAP_SYS_ADMIN) and a kernel with CONFIG_CGROUP_BPF")
        }
    }

    /// "c 1:3 rwm" → a rule for the BPF program.
    static func deviceRule(_ line: String) throws -> berth_device_rule {
        let parts = line.split(separator: " ")
        let numbers = parts.count == 3 ? parts[1].split(separator: ":") : []
        guard parts.count == 3, numbers.count == 2, let type = parts[0].utf8.first, "abc".utf8.contains(type) else {
            throw BerthError(.internal, "bad device rule \(line)")
        }
        func number(_ s: Substring) -> Int32? { s == "*" ? -1 : Int32(s) }
        guard let major = number(numbers[0]), let minor = number(numbers[1]) else {
            throw BerthError(.internal, "bad device rule \(line)")
        }
        var accessBits: Int32 = 0
        for c in parts[2] {
            switch c {
            case "m": accessBits |= 1
            case "r": accessBits |= 2
            case "w": accessBits |= 4
            default: throw BerthError(.internal, "bad device rule \(line)")
            }
        }
        return berth_device_rule(type: CChar(bitPattern: type), major: major, minor: minor, access: accessBits)
    }

    /// Kills whatever is left and removes the directories (retrying while the
    /// kernel finishes tearing the last tasks down).
    public static func remove(_ paths: CgroupPaths) {
        for dir in Set(paths.directories.values) {
            for attempt in 0..<100 {
                if rmdir(dir) == 0 || errno == ENOENT { break }
                if let procs = LinuxFiles.readText(dir + "/cgroup.procs") {
                    for pid in procs.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
                }
                usleep(attempt < 10 ? 2000 : 20000)
            }
        }
    }

    public static func oomKillCount(_ paths: CgroupPaths) -> Int {
        guard let file = paths.oomFile, let text = LinuxFiles.readText(file) else { return 0 }
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
