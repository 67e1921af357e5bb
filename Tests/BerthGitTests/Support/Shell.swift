import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and returns its output (stdout and stderr together); throws on a
/// non-zero exit.
///
/// Uses `posix_spawn` + `waitpid` rather than Foundation's `Process`: on Linux, Process's
/// single monitor thread blocks forever in `wait4` once any daemon it started closes its
/// inherited descriptors (sshd does), and then no later Process ever finishes, in any suite
/// of the test binary. Working directories are passed as `git -C`, so none is needed here.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("berth-git-run-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: output) }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    let process = try Daemon.spawn(executable, arguments, log: output, stdoutToLog: true, environment: env)
    let status = process.wait()
    let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    guard status == 0 else {
        throw ShellError(command: ([executable] + arguments).joined(separator: " "), status: status, output: text)
    }
    return text
}

struct ShellError: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var output: String
    var description: String { "\(command) exited \(status): \(output)" }
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init(_ label: String = "berth-git") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    func appending(_ component: String) -> URL { url.appendingPathComponent(component) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
