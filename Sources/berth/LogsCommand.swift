import ArgumentParser
import BerthRuntime
import Foundation

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a container's output.")

    @OptionGroup var global: ContainerGlobalOptions
    @Flag(name: .shortAndLong, help: "Follow new output until the container stops.") var follow = false
    @Flag(name: .shortAndLong, help: "Show timestamps.") var timestamps = false
    @Option(name: .long, help: "Only the last N lines.") var tail: Int?
    @Argument(help: "Container name or id (prefix).") var container: String

    func run() async throws {
        let manager = try global.manager()
        let id = try await manager.resolve(container)
        var printed = 0
        var first = true
        while true {
            let lines = try await manager.logs(id)
            var fresh = Array(lines.dropFirst(printed))
            if first, let tail, fresh.count > tail { fresh = Array(fresh.suffix(tail)) }
            first = false
            for line in fresh {
                let text = (timestamps ? line.time + " " : "") + line.text + "\n"
                (line.stream == "stderr" ? FileHandle.standardError : FileHandle.standardOutput).write(Data(text.utf8))
            }
            printed = lines.count
            guard follow, await manager.record(id)?.phase == .running else {
                if follow { // last lines written between the check and the exit
                    let rest = try await manager.logs(id).dropFirst(printed)
                    for line in rest { print((timestamps ? line.time + " " : "") + line.text) }
                }
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
