import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// The one copy of the "real `berth serve` as a subprocess" harness, shared by
// every end-to-end test target (orchestrator, Services, registry pulls,
// reconciler). It depends on Foundation only, so it builds in seconds and
// pulls no Berth module into the targets that test the built binary.

/// One real single-node Berth for an end-to-end test: its own data dir, API
/// port, bridge, pod/service CIDRs and nftables tables, so tests
/// never collide with each other or with a Berth already running on the
/// machine. `destroy()` removes every trace (serve, shims, containers,
/// mounts, bridge, tables, data dir), also after a failed test.
public final class E2ECluster: @unchecked Sendable {
    public let dataDir: String
    /// Where serve's stdout and stderr go (appended across restarts).
    public let logPath: String
    /// Removed by `destroy()` (the data dir, or a directory holding it).
    private let ownedDirectory: String
    public let port: Int
    public let bridge: String
    public let nftPrefix: String
    public let podCIDR: String
    public let serviceCIDR: String
    private let lock = NSLock()
    private var serveProcess: Process?  // guarded by lock

    /// The repository root (this file is Tests/BerthTestSupport/E2ECluster.swift).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// BERTH_E2E_BERTH (e.g. a release build, for a benchmark), else the
    /// `berth` next to the test binary (.build/<config>/berth).
    public static var executable: String {
        if let path = ProcessInfo.processInfo.environment["BERTH_E2E_BERTH"], !path.isEmpty { return path }
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("berth").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return packageRoot + "/.build/debug/berth"
    }

    /// Why a real cluster cannot run here (nil: it can). Needs root (containers,
    /// a bridge, nftables), busybox-static (the test images) and the built
    /// `berth`; BERTH_E2E=0 turns the end-to-end tests off.
    public static let skipReason: String? = {
        if ProcessInfo.processInfo.environment["BERTH_E2E"] == "0" { return "BERTH_E2E=0" }
        if getuid() != 0 { return "needs root for real containers" }
        if !FileManager.default.isExecutableFile(atPath: "/bin/busybox") { return "needs busybox-static (/bin/busybox)" }
        if !FileManager.default.isExecutableFile(atPath: executable) { return "the berth binary is not built (\(executable))" }
        return nil
    }()

    public static var canRun: Bool { skipReason == nil }

    /// - Parameters:
    ///   - prefix: names the bridge and nftables tables (`prefix` + 6 hex digits, within IFNAMSIZ).
    ///   - directory: a directory for this cluster (created; removed by `destroy()`); the data
    ///     dir is `directory/data` and the log `directory/serve.log`. Default: a fresh temp dir
    ///     that is itself the data dir.
    public init(prefix: String = "be2e", directory: String? = nil) throws {
        let tag = String(UInt32.random(in: 0x10_0000..<0xFF_FFFF), radix: 16)
        if let directory {
            ownedDirectory = directory
            dataDir = directory + "/data"
            logPath = directory + "/serve.log"
        } else {
            ownedDirectory = NSTemporaryDirectory() + "berth-\(prefix)-" + tag
            dataDir = ownedDirectory
            logPath = ownedDirectory + "/serve.log"
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        port = try Self.freePort()
        bridge = prefix + tag
        nftPrefix = prefix + tag
        // Two 10.x.0.0/16s that no route of the machine uses yet (the default
        // 10.88/10.89 of a Berth running here included).
        let routes = (try? Self.run("/sbin/ip", ["-4", "route"]).output) ?? ""
        let free = (100...250).filter { !routes.contains("10.\($0).") }.shuffled()
        guard free.count >= 2 else { throw E2EError("no free 10.x.0.0/16 for a test pod network in: \(routes)") }
        podCIDR = "10.\(free[0]).0.0/16"
        serviceCIDR = "10.\(free[1]).0.0/16"
    }

    /// The isolation overrides `berth serve` honours.
    public var environment: [String: String] {
        // The cluster DNS listens on port 53 of this cluster's own gateway
        // address, so it needs no override (pods only ask port 53).
        ["BERTH_BRIDGE": bridge, "BERTH_POD_CIDR": podCIDR, "BERTH_SERVICE_CIDR": serviceCIDR, "BERTH_NFT_PREFIX": nftPrefix]
    }
    public var server: String { "http://127.0.0.1:\(port)" }
    public var serveLogText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    public var serve: Process? { lock.withLock { serveProcess } }

    // MARK: - Running berth

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
    }

    /// Runs `berth args…` with the isolation environment (stdout and stderr together).
    @discardableResult
    public func berth(_ arguments: [String]) throws -> Result {
        try Self.run(Self.executable, arguments, environment: environment)
    }

    /// `berth <args> --server … --data-dir …`, throwing on a non-zero exit.
    @discardableResult
    public func client(_ arguments: [String]) throws -> String {
        let result = try berth(arguments + ["--server", server, "--data-dir", dataDir])
        guard result.status == 0 else {
            throw E2EError("berth \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
        }
        return result.output
    }

    /// Runs a program to completion; stdout and stderr together. The caller's
    /// BERTH_SERVER/BERTH_TOKEN/BERTH_DATA_DIR never leak into it.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["BERTH_SERVER", "BERTH_TOKEN", "BERTH_DATA_DIR"] { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outURL = URL(fileURLWithPath: NSTemporaryDirectory() + "berth-e2e-out-" + UUID().uuidString)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL) }
        let handle = try FileHandle(forWritingTo: outURL)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? handle.close()
        return Result(status: process.terminationStatus, output: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self))
    }

    /// Starts `berth serve` (plus `arguments`, with `extra` on top of the
    /// isolation environment). HOME is the data dir, so the machine user's
    /// ~/.docker/config.json does not leak in. With `waitUntilAnswering`, waits
    /// until the API answers and fails early if serve exits.
    public func startServe(arguments: [String] = [], environment extra: [String: String] = [:], waitUntilAnswering: Bool = true) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:\(port)"] + arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["BERTH_SERVER", "BERTH_TOKEN", "BERTH_DATA_DIR", "DOCKER_CONFIG"] { env[key] = nil }
        env["HOME"] = dataDir
        for (key, value) in environment.merging(extra, uniquingKeysWith: { $1 }) { env[key] = value }
        process.environment = env
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()  // the child holds its own descriptor
        lock.withLock { serveProcess = process }
        guard waitUntilAnswering else { return }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard process.isRunning else {
                throw E2EError("berth serve exited \(process.terminationStatus): \(serveLogText.suffix(3000))")
            }
            if (try? berth(["get", "pods", "--server", server, "--data-dir", dataDir]).status) == 0 { return }
            usleep(250_000)
        }
        throw E2EError("berth serve did not answer within 60 s: \(serveLogText.suffix(3000))")
    }

    /// Stops serve with `signal` (SIGTERM: graceful, SIGKILL after 20 s; SIGKILL: a crash).
    public func stopServe(signal: Int32 = SIGTERM) {
        guard let serve = lock.withLock({ () -> Process? in defer { serveProcess = nil }; return serveProcess }) else { return }
        guard serve.isRunning else { return }
        kill(serve.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(20)
        while serve.isRunning && Date() < deadline { usleep(50_000) }
        if serve.isRunning { kill(serve.processIdentifier, SIGKILL) }
        serve.waitUntilExit()
    }

    public func importImage(tag: String = "docker.io/library/busybox:latest") throws {
        let image = dataDir + "/image"
        let built = try Self.run("/bin/bash", [Self.packageRoot + "/scripts/build-test-image.sh", image])
        guard built.status == 0 else { throw E2EError("build-test-image.sh failed: \(built.output)") }
        let imported = try berth(["image", "import", "--data-dir", dataDir, image, "--tag", tag])
        guard imported.status == 0 else { throw E2EError("image import failed: \(imported.output)") }
    }

    public func apply(_ yaml: String) throws {
        let path = dataDir + "/manifest-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        try client(["apply", "-f", path])
    }

    /// `berth get KIND [NAME] -o json`, parsed.
    public func get(_ arguments: [String]) throws -> [String: Any] {
        let text = try client(["get"] + arguments + ["-o", "json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw E2EError("berth get \(arguments) did not print a JSON object: \(text)")
        }
        return object
    }

    /// What the end-to-end tests read of a pod (from `berth get pods -o json`).
    public struct PodView: Sendable {
        public var name: String
        public var ip: String?
        public var ready: Bool
        public var containerID: String?
        public var restartCount: Int
        public var hash: String?
        public var deleting: Bool
    }

    /// The pods labelled `app=<app>`, as `PodView`s.
    public func pods(app: String) throws -> [PodView] {
        let list = try get(["pods", "-l", "app=\(app)"])
        return (list["items"] as? [[String: Any]] ?? []).map { pod in
            let meta = pod["metadata"] as? [String: Any] ?? [:]
            let status = pod["status"] as? [String: Any] ?? [:]
            let container = (status["containerStatuses"] as? [[String: Any]])?.first
            let ready = (status["conditions"] as? [[String: Any]])?.contains {
                $0["type"] as? String == "Ready" && $0["status"] as? String == "True"
            } ?? false
            return PodView(
                name: meta["name"] as? String ?? "", ip: status["podIP"] as? String, ready: ready,
                containerID: container?["containerID"] as? String, restartCount: container?["restartCount"] as? Int ?? 0,
                hash: (meta["labels"] as? [String: String])?["pod-template-hash"], deleting: meta["deletionTimestamp"] != nil)
        }
    }

    // MARK: - Cleanup

    /// Everything this cluster left on the machine goes: serve, containers,
    /// shims and pause processes, mounts under the data dir, the bridge, the
    /// nftables tables, the directory.
    public func destroy() {
        stopServe()
        if let ids = try? berth(["ps", "-a", "-q", "--data-dir", dataDir]).output {
            for id in ids.split(whereSeparator: \.isNewline).map(String.init) where !id.isEmpty {
                _ = try? berth(["rm", "-f", "--data-dir", dataDir, id])
            }
        }
        // Any container process (and shim) that rm did not reach.
        let containers = dataDir + "/containers"
        for id in (try? FileManager.default.contentsOfDirectory(atPath: containers)) ?? [] {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: "\(containers)/\(id)/state.json")),
                let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { continue }
            for key in ["pid", "shimPid"] { if let pid = state[key] as? Int, pid > 1 { kill(Int32(pid), SIGKILL) } }
        }
        // Sandbox pause shims (and anything else) started for this data dir,
        // with their descendants: a pause process orphaned by its shim would
        // keep the pod's network namespace and veth alive.
        for pid in Self.pids(commandLineContaining: dataDir + "/") {
            for child in Self.descendants(of: pid) { kill(child, SIGKILL) }
            kill(pid, SIGKILL)
        }
        usleep(200_000)
        if let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) {
            let targets = mounts.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                return fields.count > 1 ? String(fields[1]) : nil
            }.filter { $0.hasPrefix(dataDir) }
            for target in targets.reversed() { _ = try? Self.run("/bin/umount", ["-l", target]) }
        }
        _ = try? Self.run("/sbin/ip", ["link", "del", bridge])
        for table in [nftPrefix, nftPrefix + "-svc"] { _ = try? Self.run("/usr/sbin/nft", ["delete", "table", "ip", table]) }
        // BERTH_E2E_KEEP=1 keeps the directory (logs, history, state) to look at.
        if ProcessInfo.processInfo.environment["BERTH_E2E_KEEP"] != "1" { try? FileManager.default.removeItem(atPath: ownedDirectory) }
    }

    // MARK: - Host-side helpers

    /// Every descendant of `pid`, deepest first, from /proc/PID/task/*/children.
    public static func descendants(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var result: [Int32] = []
        for task in tasks {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            for child in text.split(separator: " ").compactMap({ Int32($0) }) {
                result += descendants(of: child) + [child]
            }
        }
        return result
    }

    /// Host PIDs whose root directory is inside `directory` (i.e. our containers' processes).
    public static func pids(rootedUnder directory: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let root = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") else { return false }
            return root.hasPrefix(directory)
        }
    }

    /// Host PIDs whose command line mentions `text`.
    public static func pids(commandLineContaining text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            pid != getpid() && commandLine(of: pid).contains(text)
        }
    }

    /// /proc/PID/cmdline with the NULs as spaces ("" when the process is gone).
    public static func commandLine(of pid: Int32) -> String {
        let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// Host PIDs of processes in our containers whose command line contains `word`.
    public func containerPIDs(commandContaining word: String) -> [Int32] {
        Self.pids(rootedUnder: dataDir).filter { Self.commandLine(of: $0).contains(word) }
    }

    /// The container's main process and its start time, from the runtime's state.json.
    public func containerProcess(containerID: String) -> (pid: Int32, start: Int)? {
        let id = containerID.hasPrefix("berth://") ? String(containerID.dropFirst(8)) : containerID
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: "\(dataDir)/containers/\(id)/state.json")),
            let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let pid = state["pid"] as? Int, let start = state["pidStartTime"] as? Int
        else { return nil }
        return (Int32(pid), start)
    }

    /// The process' start time in clock ticks since boot (/proc/PID/stat field 22).
    public static func startTime(pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// GET http://ip:port/path from the node, nil on failure.
    public static func httpGet(_ ip: String, port: Int = 8080, path: String = "/") -> String? {
        // (Debian's static busybox wget segfaults on the host; curl does not.)
        guard let result = try? run("/usr/bin/curl", ["-s", "-f", "-m", "2", "http://\(ip):\(port)\(path)"]),
            result.status == 0
        else { return nil }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw E2EError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct E2EError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` every 250 ms until it holds or `timeout` seconds pass;
/// an error thrown by `condition` before the deadline counts as "not yet".
public func waitUntil(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? condition()) == true { return }
        usleep(250_000)
    }
    if try condition() { return }
    throw E2EError("timed out after \(timeout)s waiting until \(what)")
}

/// Runs blocking work (a subprocess, a sleep loop) on a Dispatch thread, so it
/// never holds one of the cooperative pool's two threads.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
