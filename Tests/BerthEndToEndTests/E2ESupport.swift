import BerthTestSupport
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
    static var repositoryRoot: String { E2ECluster.packageRoot }
    static var berth: String { E2ECluster.executable }
    static var skipReason: String? { E2ECluster.skipReason }
    static var enabled: Bool { E2ECluster.canRun }

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

    static func hmac(_ body: Data, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }
}

/// One `berth serve` subprocess plus the CLI against it: the shared
/// `E2ECluster` harness (isolated data dir, port, bridge, CIDRs, nftables;
/// full cleanup) with the reconciler test's habits: the data dir
/// is `directory/data`, serve is started without waiting, and the CLI finds
/// the server through BERTH_SERVER/BERTH_DATA_DIR as a user's shell would.
final class ServeProcess: @unchecked Sendable {
    let cluster: E2ECluster
    let arguments: [String]
    var dataDir: String { cluster.dataDir }
    var server: String { cluster.server }
    var log: String { cluster.serveLogText }

    init(directory: String, arguments: [String]) throws {
        cluster = try E2ECluster(prefix: "bre2e", directory: directory)
        self.arguments = arguments
    }

    func start() throws { try cluster.startServe(arguments: arguments, waitUntilAnswering: false) }
    func kill9() { cluster.stopServe(signal: SIGKILL) }
    func stop() { cluster.stopServe() }
    func destroy() { cluster.destroy() }

    /// `berth ARGS` against this server; returns status and stdout.
    @discardableResult
    func cli(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: E2E.berth)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in cluster.environment { env[key] = value }
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
