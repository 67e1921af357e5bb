import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Shared by BerthOrchestratorEndToEndTests and BerthServicesEndToEndTests
// (the latter holds a symlink to this file: test targets cannot depend on
// each other). Target-specific helpers live in extensions beside their tests.

/// One real single-node Berth for an end-to-end test: its own data dir, API
/// port, bridge, pod/service CIDRs and nftables tables, so tests never
/// collide with each other or with a Berth already running on the machine.
/// `destroy()` removes every trace (containers, mounts, bridge, tables).
final class E2ECluster: @unchecked Sendable {
    let dataDir: String
    let port: Int
    let bridge: String
    let nftPrefix: String
    let podCIDR: String
    let serviceCIDR: String
    private(set) var serve: Process?
    private var serveLog: FileHandle?

    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// BERTH_E2E_BERTH (e.g. a release build, for the benchmark), else the
    /// `berth` next to the test binary.
    static var executable: String {
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

    init() throws {
        let tag = String(UInt32.random(in: 0..<0xFFFF_FF), radix: 16)
        dataDir = NSTemporaryDirectory() + "berth-e2e-" + tag
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        port = try Self.freePort()
        bridge = "be2e" + tag
        nftPrefix = "be2e" + tag
        let octet = Int.random(in: 160...250)
        podCIDR = "10.\(octet).0.0/16"
        serviceCIDR = "10.\(octet - 60).0.0/16"
    }

    var environment: [String: String] {
        ["BERTH_BRIDGE": bridge, "BERTH_POD_CIDR": podCIDR, "BERTH_SERVICE_CIDR": serviceCIDR, "BERTH_NFT_PREFIX": nftPrefix]
    }
    var server: String { "http://127.0.0.1:\(port)" }

    // MARK: - Running berth

    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `berth args…` (client commands get --server/--data-dir appended by the caller).
    @discardableResult
    func berth(_ arguments: [String]) throws -> Result {
        try Self.run(Self.executable, arguments, environment: environment)
    }

    /// `berth <args> --server … --data-dir …`, failing the test on a non-zero exit.
    @discardableResult
    func client(_ arguments: [String]) throws -> String {
        let result = try berth(arguments + ["--server", server, "--data-dir", dataDir])
        guard result.status == 0 else {
            throw E2EError("berth \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
        }
        return result.output
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
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

    func startServe() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:\(port)"]
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let logPath = dataDir + "/serve.log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        serve = process
        serveLog = log
        try waitUntil("berth serve answers", timeout: 30) {
            (try? self.berth(["get", "pods", "--server", self.server, "--data-dir", self.dataDir]).status) == 0
        }
    }

    /// Stops serve with `signal` (SIGTERM: graceful; SIGKILL: a crash).
    func stopServe(signal: Int32 = SIGTERM) {
        guard let serve, serve.isRunning else { return }
        kill(serve.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(20)
        while serve.isRunning && Date() < deadline { usleep(50_000) }
        if serve.isRunning { kill(serve.processIdentifier, SIGKILL); serve.waitUntilExit() }
        try? serveLog?.close()
        self.serve = nil
    }

    var serveLogText: String { (try? String(contentsOfFile: dataDir + "/serve.log", encoding: .utf8)) ?? "" }

    func importImage() throws {
        let image = dataDir + "/image"
        let built = try Self.run("/bin/bash", [Self.packageRoot + "/scripts/build-test-image.sh", image])
        guard built.status == 0 else { throw E2EError("build-test-image.sh failed: \(built.output)") }
        let imported = try berth(["image", "import", "--data-dir", dataDir, image, "--tag", "docker.io/library/busybox:latest"])
        guard imported.status == 0 else { throw E2EError("image import failed: \(imported.output)") }
    }

    func apply(_ yaml: String) throws {
        let path = dataDir + "/manifest-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        try client(["apply", "-f", path])
    }

    /// `berth get KIND [NAME] -o json`, parsed.
    func get(_ arguments: [String]) throws -> [String: Any] {
        let text = try client(["get"] + arguments + ["-o", "json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw E2EError("berth get \(arguments) did not print a JSON object: \(text)")
        }
        return object
    }

    // MARK: - Cleanup

    /// Everything this cluster left on the machine goes: serve, containers,
    /// mounts under the data dir, the bridge, the nftables tables, the data dir.
    func destroy() {
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
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    // MARK: - Host-side helpers

    /// Every descendant of `pid`, deepest first, from /proc/PID/task/*/children.
    static func descendants(of pid: Int32) -> [Int32] {
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
    static func pids(rootedUnder directory: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let root = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") else { return false }
            return root.hasPrefix(directory)
        }
    }

    /// Host PIDs whose command line mentions `text`.
    static func pids(commandLineContaining text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return pid != getpid() && String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// Host PIDs of processes in our containers whose command line contains `word`.
    func containerPIDs(commandContaining word: String) -> [Int32] {
        Self.pids(rootedUnder: dataDir).filter { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(word)
        }
    }

    /// The container's main process and its start time, from the runtime's state.json.
    func containerProcess(containerID: String) -> (pid: Int32, start: Int)? {
        let id = containerID.hasPrefix("berth://") ? String(containerID.dropFirst(8)) : containerID
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: "\(dataDir)/containers/\(id)/state.json")),
            let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let pid = state["pid"] as? Int, let start = state["pidStartTime"] as? Int
        else { return nil }
        return (Int32(pid), start)
    }

    /// The process' start time in clock ticks since boot (/proc/PID/stat field 22).
    static func startTime(pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// GET http://ip:port/path from the node (busybox wget), nil on failure.
    static func httpGet(_ ip: String, port: Int = 8080, path: String = "/") -> String? {
        // (Debian's static busybox wget segfaults on the host; curl does not.)
        guard let result = try? run("/usr/bin/curl", ["-s", "-f", "-m", "2", "http://\(ip):\(port)\(path)"]),
            result.status == 0
        else { return nil }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func freePort() throws -> Int {
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

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 250 ms until it holds or `timeout` seconds pass.
func waitUntil(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if (try? condition()) == true { return }
        usleep(250_000)
    }
    if try condition() { return }
    throw E2EError("timed out after \(timeout)s waiting until \(what)")
}
