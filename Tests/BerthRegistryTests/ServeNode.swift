import BerthAPI
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `berth serve` (the built executable) for the schedule-time pull
/// tests, isolated the way Tests/BerthOrchestratorEndToEndTests/E2ECluster
/// isolates one: its own data dir, API port, bridge, pod/service CIDRs,
/// nftables tables and DNS port, so it never collides with another test
/// run or a Berth already running on the machine. `destroy()` removes every
/// trace even after a failed test. Processes run off the cooperative pool.
final class ServeNode: Sendable {
    let dataDir: String
    let port: Int
    let bridge: String
    let nftPrefix: String
    let podCIDR: String
    let serviceCIDR: String
    let dnsPort: Int
    private let serve = ProcessBox()

    /// The berth executable next to the test bundle (.build/<config>/berth).
    static var executable: String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("berth").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return RegistryTestSupport.repoRoot + "/.build/debug/berth"
    }

    static var canRun: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: executable) }

    init() throws {
        let tag = String(UInt32.random(in: 0x10_0000..<0xFF_FFFF), radix: 16)
        dataDir = "/tmp/berth-regnode-" + tag
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        port = try RegistryTestSupport.freePort()
        dnsPort = try RegistryTestSupport.freePort()
        bridge = "breg" + tag
        nftPrefix = "breg" + tag
        // Two /16s no route uses yet, away from the ranges E2ECluster picks (100–250).
        let routes = (try? RegistryTestSupport.runText(["ip", "-4", "route"])) ?? ""
        let free = (20...79).filter { !routes.contains("10.\($0).") }.shuffled()
        guard free.count >= 2 else { throw BerthError(.internal, "no free 10.x.0.0/16 for a test pod network") }
        podCIDR = "10.\(free[0]).0.0/16"
        serviceCIDR = "10.\(free[1]).0.0/16"
    }

    var environment: [String: String] {
        ["BERTH_BRIDGE": bridge, "BERTH_POD_CIDR": podCIDR, "BERTH_SERVICE_CIDR": serviceCIDR, "BERTH_NFT_PREFIX": nftPrefix,
         "BERTH_DNS_PORT": "\(dnsPort)"]
    }
    var server: String { "http://127.0.0.1:\(port)" }
    var serveLog: String { (try? String(contentsOfFile: dataDir + "/serve.log", encoding: .utf8)) ?? "" }

    // MARK: - Processes

    struct Result: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs a program to completion on a Dispatch thread (stdout and stderr together).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try runBlocking(executable, arguments, environment: environment) })
            }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["BERTH_SERVER", "BERTH_TOKEN", "BERTH_DATA_DIR"] { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let output = NSTemporaryDirectory() + "berth-regnode-out-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? handle.close()
        return Result(status: process.terminationStatus, output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// `berth ARGS --server … --data-dir …`, throwing on a non-zero exit.
    @discardableResult
    func client(_ arguments: [String]) async throws -> String {
        let result = try await Self.run(Self.executable, arguments + ["--server", server, "--data-dir", dataDir], environment: environment)
        guard result.status == 0 else {
            throw BerthError(.internal, "berth \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
        }
        return result.output
    }

    /// Starts `berth serve` with `arguments` added and `environment` on top
    /// of the isolation variables, and waits until its API answers.
    func start(arguments: [String] = [], environment extra: [String: String] = [:]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:\(port)"] + arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["BERTH_SERVER", "BERTH_TOKEN", "BERTH_DATA_DIR", "DOCKER_CONFIG"] { env[key] = nil }
        env["HOME"] = dataDir  // no ~/.docker/config.json of the machine's user
        for (key, value) in environment.merging(extra, uniquingKeysWith: { $1 }) { env[key] = value }
        process.environment = env
        let logPath = dataDir + "/serve.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        serve.set(process)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw BerthError(.internal, "berth serve exited \(process.terminationStatus): \(serveLog.suffix(3000))") }
            if (try? await client(["get", "pods"])) != nil { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw BerthError(.internal, "berth serve did not answer within 60s: \(serveLog.suffix(3000))")
    }

    func apply(_ yaml: String) async throws {
        let path = dataDir + "/manifest-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        try await client(["apply", "-f", path])
    }

    /// `berth get pod NAME -o json`, parsed.
    func pod(_ name: String) async throws -> [String: Any] {
        let text = try await client(["get", "pod", name, "-o", "json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw BerthError(.internal, "berth get pod \(name) printed no JSON object: \(text)")
        }
        return object
    }

    /// Polls the pod until `condition` holds for it; returns it, or throws with its last state.
    @discardableResult
    func waitForPod(_ name: String, _ what: String, timeout: Duration = .seconds(120), _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            if let object = try? await pod(name) {
                last = object
                if condition(object) { return object }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let status = (try? JSONSerialization.data(withJSONObject: last["status"] ?? [:])).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        throw BerthError(.internal, "pod \(name) is not \(what) after \(timeout); status: \(status)")
    }

    /// The first container's state (`running`, `waiting` …) of a pod object.
    static func containerState(_ pod: [String: Any]) -> [String: Any] {
        let status = pod["status"] as? [String: Any]
        return ((status?["containerStatuses"] as? [[String: Any]])?.first?["state"] as? [String: Any]) ?? [:]
    }

    static func isRunning(_ pod: [String: Any]) -> Bool {
        (pod["status"] as? [String: Any])?["phase"] as? String == "Running" && containerState(pod)["running"] != nil
    }

    // MARK: - Cleanup

    /// Stops serve and removes what this node left: containers and their
    /// shims, mounts under the data dir, the bridge, the nftables tables,
    /// the data dir. Blocking; called once at the end of a test.
    func destroy() async {
        let dataDir = dataDir, bridge = bridge, nftPrefix = nftPrefix, serve = serve
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                if let process = serve.take(), process.isRunning {
                    kill(process.processIdentifier, SIGTERM)
                    let deadline = Date().addingTimeInterval(20)
                    while process.isRunning && Date() < deadline { usleep(50_000) }
                    if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
                }
                if let ids = try? Self.runBlocking(Self.executable, ["ps", "-a", "-q", "--data-dir", dataDir], environment: [:]).output {
                    for id in ids.split(whereSeparator: \.isNewline).map(String.init) where !id.isEmpty {
                        _ = try? Self.runBlocking(Self.executable, ["rm", "-f", "--data-dir", dataDir, id], environment: [:])
                    }
                }
                // Shims and pause processes started for this data dir, with their descendants.
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
                    for target in targets.reversed() { _ = try? Self.runBlocking("/bin/umount", ["-l", target], environment: [:]) }
                }
                _ = try? Self.runBlocking("/sbin/ip", ["link", "del", bridge], environment: [:])
                for table in [nftPrefix, nftPrefix + "-svc"] {
                    _ = try? Self.runBlocking("/usr/sbin/nft", ["delete", "table", "ip", table], environment: [:])
                }
                try? FileManager.default.removeItem(atPath: dataDir)
                continuation.resume()
            }
        }
    }

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

    static func pids(commandLineContaining text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return pid != getpid() && String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
    }
}

/// The serve process, set once and taken once at cleanup.
final class ProcessBox: @unchecked Sendable {
    private let lock = NSLock()
    private var process: Process?
    func set(_ process: Process) { lock.withLock { self.process = process } }
    func take() -> Process? { lock.withLock { defer { process = nil }; return process } }
}
