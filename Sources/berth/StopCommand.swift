import ArgumentParser
import BerthRuntime
import Foundation

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop containers: SIGTERM, then SIGKILL after the grace period.")

    @OptionGroup var global: ContainerGlobalOptions
    @Option(name: .shortAndLong, help: "Seconds to wait before SIGKILL.") var time: Int = 10
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() async throws {
        let manager = try global.manager()
        for c in containers {
            let id = try await manager.resolve(c)
            try await manager.stop(id, grace: .seconds(time))
            print(c)
        }
    }
}

struct KillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal (default SIGKILL) to containers.")

    @OptionGroup var global: ContainerGlobalOptions
    @Option(name: .shortAndLong, help: "Signal name or number.") var signal: String = "KILL"
    @Argument(help: "Container names or ids.") var containers: [String]

    static let names: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "USR1": SIGUSR1, "USR2": SIGUSR2, "TERM": SIGTERM,
    ]

    func run() async throws {
        let upper = signal.uppercased()
        guard let sig = Int32(signal) ?? Self.names[upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper] else {
            throw ValidationError("unknown signal \(signal)")
        }
        let manager = try global.manager()
        for c in containers {
            try await manager.kill(try await manager.resolve(c), signal: sig)
            print(c)
        }
    }
}

struct RmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers.")

    @OptionGroup var global: ContainerGlobalOptions
    @Flag(name: .shortAndLong, help: "Kill running containers first.") var force = false
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() async throws {
        let manager = try global.manager()
        for c in containers {
            try await manager.delete(try await manager.resolve(c), force: force)
            print(c)
        }
    }
}
