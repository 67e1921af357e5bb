import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Whether the real end-to-end tests can run here, and why not.
///
/// They need root (containers, a bridge, nftables), busybox-static (the
/// test images) and the built `berth`. They run by default wherever those
/// are present; BERTH_E2E=0 turns them off.
enum E2E {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var berth: String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("berth").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return repositoryRoot + "/.build/debug/berth"
    }

    static let skipReason: String? = {
        if ProcessInfo.processInfo.environment["BERTH_E2E"] == "0" { return "BERTH_E2E=0" }
        if getuid() != 0 { return "needs root for real containers" }
        if !FileManager.default.isExecutableFile(atPath: "/bin/busybox") { return "needs busybox-static (/bin/busybox)" }
        if !FileManager.default.isExecutableFile(atPath: berth) { return "the berth binary is not built (\(berth))" }
        return nil
    }()

    static var enabled: Bool { skipReason == nil }

    /// Runs a program to completion (only for the start-up check and git).
    @discardableResult
    static func runSync(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if process.terminationStatus != 0 {
            throw E2EError("\(program) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
        }
        return text
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw E2EError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func hmac(_ body: Data, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One `berth serve` subprocess plus the CLI against it, isolated from
/// any other Berth on the machine: its own data dir, API port, bridge,
/// pod/service CIDRs, nftables tables and DNS port. `destroy()` removes
/// every trace (containers, mounts, bridge, tables).
final class ServeProcess: @unchecked Sendable {
    let directory: String
    let port: Int
    let arguments: [String]
    let bridge: String
    let nftPrefix: String
    let podCIDR: String
    let serviceCIDR: String
    let dnsPort: Int
    private(set) var process: Process?
    var dataDir: String { directory + "/data" }
    var server: String { "http://127.0.0.1:\(port)" }

    init(directory: String, port: Int, arguments: [String]) {
        self.directory = directory
        self.port = port
        self.arguments = arguments
        let tag = String(UInt32.random(in: 0..<0xFF_FFFF), radix: 16)
        bridge = "bre2e" + tag
        nftPrefix = "bre2e" + tag
        // /24s in 10.251/10.252: apart from the standard 10.88/10.89 and the
        // orchestrator e2e tests' 10.100–10.250 /16s.
        let third = Int.random(in: 0...255)
        podCIDR = "10.251.\(third).0/24"
        serviceCIDR = "10.252.\(third).0/24"
        dnsPort = Int.random(in: 20000...29999)
    }

    /// The network overrides `berth serve` honours.
    var environment: [String: String] {
        ["BERTH_BRIDGE": bridge, "BERTH_POD_CIDR": podCIDR, "BERTH_SERVICE_CIDR": serviceCIDR,
         "BERTH_NFT_PREFIX": nftPrefix, "BERTH_DNS_PORT": String(dnsPort)]
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: E2E.berth)
        process.arguments = ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:\(port)"] + arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["BERTH_SERVER", "BERTH_TOKEN", "BERTH_DATA_DIR"] { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let log = directory + "/serve.log"
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    /// Everything this server left on the machine goes: serve, containers,
    /// their processes, mounts under the data dir, the bridge, the nftables tables.
    func destroy() {
        stop()
        let ids = cli(["ps", "-a", "-q", "--data-dir", dataDir]).output
        for id in ids.split(whereSeparator: \.isNewline).map(String.init) where !id.isEmpty {
            cli(["rm", "-f", "--data-dir", dataDir, id])
        }
        let containers = dataDir + "/containers"
        for id in (try? FileManager.default.contentsOfDirectory(atPath: containers)) ?? [] {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: "\(containers)/\(id)/state.json")),
                  let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            for key in ["pid", "shimPid"] { if let pid = state[key] as? Int, pid > 1 { kill(Int32(pid), SIGKILL) } }
        }
        // Sandbox pause shims started for this data dir, with their descendants.
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
            for target in targets.reversed() { _ = try? E2E.runSync("/bin/umount", ["-l", target]) }
        }
        _ = try? E2E.runSync("/sbin/ip", ["link", "del", bridge])
        for table in [nftPrefix, nftPrefix + "-svc"] { _ = try? E2E.runSync("/usr/sbin/nft", ["delete", "table", "ip", table]) }
    }

    /// Every descendant of `pid`, deepest first.
    static func descendants(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var result: [Int32] = []
        for task in tasks {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            for child in text.split(separator: " ").compactMap({ Int32($0) }) { result += descendants(of: child) + [child] }
        }
        return result
    }

    /// Host PIDs whose command line mentions `text`.
    static func pids(commandLineContaining text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return pid != getpid() && String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text)
        }
    }

    var log: String { (try? String(contentsOfFile: directory + "/serve.log", encoding: .utf8)) ?? "" }

    /// `berth ARGS` against this server; returns status and stdout.
    @discardableResult
    func cli(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: E2E.berth)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        env["BERTH_TOKEN"] = nil
        env["BERTH_SERVER"] = server
        env["BERTH_DATA_DIR"] = dataDir
        env["NO_COLOR"] = "1"
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func json(_ arguments: [String]) -> Any? {
        let (status, output) = cli(arguments)
        guard status == 0 else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(output.utf8))
    }

    func post(_ path: String, body: Data, headers: [String: String]) async throws -> (Int, String) {
        guard let url = URL(string: server + path) else { throw E2EError("bad url") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func healthy() async -> Bool {
        guard let url = URL(string: server + "/healthz") else { return false }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        return ((try? await session.data(from: url))?.1 as? HTTPURLResponse)?.statusCode == 200
    }
}

/// Polls `condition` every 500 ms until true or `seconds` pass.
func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(500))
    }
    return try await condition()
}

/// Sends GET requests to one URL from the node, one after the other, on its
/// own thread (curl is a blocking subprocess: it must not sit on the
/// cooperative pool), and keeps what came back, until `stop()`.
final class RequestLoop: @unchecked Sendable {
    struct Answer: Sendable {
        var at: Date
        var body: String?
        var error: String?
    }

    let url: String
    private let lock = NSLock()
    private var answers: [Answer] = []
    private var running = true
    private var thread: Thread?  // guarded by lock
    private let finished = DispatchSemaphore(value: 0)

    init(url: String) { self.url = url }

    func start() {
        let thread = Thread { [self] in
            while isRunning {
                let answer = Self.get(url)
                lock.withLock { answers.append(answer) }
                usleep(100_000)
            }
            finished.signal()
        }
        lock.withLock { self.thread = thread }
        thread.start()
    }

    private var isRunning: Bool { lock.withLock { running } }

    /// Stops the loop (once; later calls only read) and returns every answer.
    func stop() -> [Answer] {
        let wasRunning = lock.withLock { () -> Bool in
            defer { running = false }
            return running && thread != nil
        }
        if wasRunning { finished.wait() }
        return lock.withLock { answers }
    }

    var snapshot: [Answer] { lock.withLock { answers } }

    static func get(_ url: String) -> Answer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-S", "-f", "-m", "3", url]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let at = Date()
        do { try process.run() } catch { return Answer(at: at, error: "\(error)") }
        let body = out.fileHandleForReading.readDataToEndOfFile()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            return Answer(at: at, error: "curl exit \(process.terminationStatus): \(String(decoding: message, as: UTF8.self))")
        }
        return Answer(at: at, body: String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
