import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Whether the real end-to-end tests can run here, and why not.
///
/// They need: root (containers), busybox-static (the demo images), the built
/// `berth`, and `berth serve` running the orchestrator with the Linux
/// NodeRuntime. The last is detected from `berth serve --help` naming a
/// runtime/node flag; BERTH_E2E=1 forces the tests on, BERTH_E2E=0 off.
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
        let forced = ProcessInfo.processInfo.environment["BERTH_E2E"]
        if forced == "0" { return "BERTH_E2E=0" }
        if getuid() != 0 { return "needs root for real containers" }
        if !FileManager.default.isExecutableFile(atPath: "/bin/busybox") { return "needs busybox-static (/bin/busybox)" }
        if !FileManager.default.isExecutableFile(atPath: berth) { return "the berth binary is not built (\(berth))" }
        if forced == "1" { return nil }
        let help = (try? runSync(berth, ["serve", "--help"])) ?? ""
        let wired = ["--runtime", "--node-name", "--no-runtime", "--containers"].contains { help.contains($0) }
        return wired ? nil : "`berth serve` does not run the Linux NodeRuntime yet (no --runtime/--node-name flag in `berth serve --help`; set BERTH_E2E=1 to force)"
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

/// One `berth serve` subprocess plus the CLI against it.
final class ServeProcess: @unchecked Sendable {
    let directory: String
    let port: Int
    let arguments: [String]
    private(set) var process: Process?
    var dataDir: String { directory + "/data" }
    var server: String { "http://127.0.0.1:\(port)" }

    init(directory: String, port: Int, arguments: [String]) {
        self.directory = directory
        self.port = port
        self.arguments = arguments
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: E2E.berth)
        process.arguments = ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:\(port)"] + arguments
        let log = directory + "/serve.log"
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        process.standardOutput = handle
        process.standardError = handle
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
        process.waitUntilExit()
        self.process = nil
    }

    var log: String { (try? String(contentsOfFile: directory + "/serve.log", encoding: .utf8)) ?? "" }

    /// `berth ARGS` against this server; returns status and stdout.
    @discardableResult
    func cli(_ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: E2E.berth)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
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
