import ArgumentParser
import BerthAPI
import BerthRuntime
import Dispatch
import Foundation

/// `berth run`: create and start a container, Docker-style.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command in a new container (from an image or a --rootfs directory).")

    @OptionGroup var global: ContainerGlobalOptions
    @Flag(name: .shortAndLong, help: "Run in the background and print the container id.") var detach = false
    @Flag(name: .long, help: "Remove the container when it exits.") var rm = false
    @Option(name: .long, help: "Name of the container.") var name: String?
    @Option(name: .shortAndLong, help: "Environment variable K=V (repeatable).") var env: [String] = []
    @Option(name: [.customShort("m"), .long], help: "Memory limit (e.g. 128m).") var memory: String?
    @Option(name: .long, help: "CPU quota in CPUs (e.g. 0.5).") var cpus: Double?
    @Option(name: .long, help: "Maximum number of processes.") var pidsLimit: Int64?
    @Flag(name: .long, help: "Mount the root filesystem read-only.") var readOnly = false
    @Option(name: .long, help: "Add a capability (repeatable; ALL for every one).") var capAdd: [String] = []
    @Option(name: .long, help: "Drop a capability (repeatable; ALL for every one).") var capDrop: [String] = []
    @Option(name: .shortAndLong, help: "uid[:gid] or name[:group] from the image's /etc/passwd.") var user: String?
    @Option(name: [.customShort("w"), .long], help: "Working directory inside the container.") var workdir: String?
    @Option(name: .long, help: "Override the image's entrypoint.") var entrypoint: String?
    @Option(name: .long, help: "Use this directory as the root filesystem instead of an image.") var rootfs: String?
    @Option(name: [.customShort("h"), .long], help: "Container hostname.") var hostname: String?
    @Option(name: [.customShort("v"), .long], help: "Bind mount HOST:CONTAINER[:ro] (repeatable).") var volume: [String] = []
    @Argument(parsing: .captureForPassthrough, help: "IMAGE [CMD...], or CMD... with --rootfs.") var arguments: [String] = []

    func run() async throws {
        var args = arguments
        if args.first == "--" { args.removeFirst() }
        var options = ContainerOptions()
        if let rootfs {
            options.rootfs = rootfs
        } else {
            guard !args.isEmpty else { throw ValidationError("give an IMAGE or --rootfs DIR") }
            options.image = args.removeFirst()
        }
        if !args.isEmpty { options.command = args }
        if let entrypoint { options.entrypoint = [entrypoint] }
        options.name = name
        for pair in env {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 {
                options.env[kv[0]] = kv[1]
            } else if let value = ProcessInfo.processInfo.environment[kv[0]] {
                options.env[kv[0]] = value
            }
        }
        options.user = user
        options.workingDir = workdir
        options.hostname = hostname
        options.readOnlyRootfs = readOnly
        options.capAdd = capAdd
        options.capDrop = capDrop
        options.limits = ResourceLimits(
            memoryBytes: try memory.map(ContainerCLI.parseBytes), cpuMillis: cpus.map { Int64($0 * 1000) },
            pidsLimit: pidsLimit)
        for v in volume {
            let parts = v.split(separator: ":").map(String.init)
            guard parts.count >= 2 else { throw ValidationError("--volume needs HOST:CONTAINER[:ro]") }
            let host = URL(fileURLWithPath: parts[0]).standardizedFileURL.path
            options.mounts.append(Mount(hostPath: host, containerPath: parts[1], readOnly: parts.count > 2 && parts[2] == "ro"))
        }

        let manager = try global.manager()
        let record = try await manager.create(options)
        if detach {
            try await manager.start(record.id)
            print(record.id)
            return
        }
        do {
            try await manager.start(record.id, attach: (STDOUT_FILENO, STDERR_FILENO))
        } catch let error as BerthError {
            if rm { try? await manager.delete(record.id, force: true) }
            // Docker's codes: 127 command not found, 126 not executable, 125 anything else.
            FileHandle.standardError.write(Data("berth: \(error)\n".utf8))
            if error.message.contains(": No such file or directory") && error.message.contains("exec ") { throw ExitCode(127) }
            if error.message.contains("exec ") { throw ExitCode(126) }
            throw ExitCode(125)
        }
        // Ctrl-C / SIGTERM go to the container, as with `docker run`.
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { Task { try? await manager.kill(record.id, signal: sig) } }
            source.resume()
            return source
        }
        let done = try await manager.wait(record.id)
        sources.forEach { $0.cancel() }
        if rm { try await manager.delete(record.id, force: true) }
        if done.oomKilled { FileHandle.standardError.write(Data("berth: container \(done.name) was OOM-killed\n".utf8)) }
        if let code = done.exitCode, code != 0 { throw ExitCode(Int32(code)) }
    }
}
