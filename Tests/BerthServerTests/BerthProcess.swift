import BerthAPI
import Foundation

/// Runs the built `berth` executable (next to this test bundle in
/// .build/<triple>/debug) as a subprocess, without blocking a thread of the
/// cooperative pool while it runs (the in-process server needs them).
struct BerthProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var executable: String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        // Inside an .xctest bundle directory on some layouts.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("berth").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return ".build/debug/berth"
    }

    /// Starts `berth args…`; the caller waits with `wait`.
    static func start(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> (Process, URL, URL) {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BerthError(.notFound, "the berth executable is not built (looked next to the test bundle)", hint: "run `swift build --build-tests` first")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["BERTH_SERVER", "BERTH_TOKEN", "BERTH_DATA_DIR"] { env[key] = nil }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outURL = URL(fileURLWithPath: NSTemporaryDirectory() + "berth-out-" + UUID().uuidString)
        let errURL = URL(fileURLWithPath: NSTemporaryDirectory() + "berth-err-" + UUID().uuidString)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        return (process, outURL, errURL)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        let (process, outURL, errURL) = try start(arguments, environment: environment)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let status = try await wait(process, launch: true)
        return Result(
            status: status,
            stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self))
    }

    /// Waits for exit through `terminationHandler` (no blocking wait).
    static func wait(_ process: Process, launch: Bool) async throws -> Int32 {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            if launch {
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
