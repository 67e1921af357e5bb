import ArgumentParser
import BerthRuntime
import Foundation

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a command in a running container (same namespaces, cgroups, seccomp, capabilities).")

    @OptionGroup var global: ContainerGlobalOptions
    @Argument(help: "Container name or id.") var container: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() async throws {
        var cmd = command
        if cmd.first == "--" { cmd.removeFirst() }
        guard !cmd.isEmpty else { throw ValidationError("give a command to run") }
        let manager = try global.manager()
        let result = try await manager.exec(try await manager.resolve(container), command: cmd,
                                            stdio: (STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO))
        if result.exitCode != 0 { throw ExitCode(Int32(result.exitCode)) }
    }
}

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Print a container's state as JSON.")

    @OptionGroup var global: ContainerGlobalOptions
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() async throws {
        let manager = try global.manager()
        var records: [ContainerRecord] = []
        for c in containers {
            if let r = await manager.record(try await manager.resolve(c)) { records.append(r) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(records), as: UTF8.self))
    }
}
