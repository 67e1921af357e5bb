import ArgumentParser
import BerthAPI
import BerthRuntime
import Foundation

/// `berth run`'s options as a plain value, and the run itself.
///
/// ArgumentParser fills `RunCommand`, which hands over this value; a plain
/// `berth run` line skips ArgumentParser altogether (`fastParse`). Why:
/// ArgumentParser discovers a command's options by reflection, and in a
/// fresh process every new type it reflects on costs a scan of the binary's
/// ~12 k protocol conformance records. For `berth run --rm IMG true` that
/// was ~8 ms of a ~40 ms container start (perf, release build), and the
/// start time of `run` is what bench/container-start compares with runc.
struct RunInvocation: Equatable {
    var dataDir: String
    var detach = false
    var rm = false
    var interactive = false
    var tty = false
    var name: String?
    var env: [String] = []
    var memory: String?
    var cpus: Double?
    var pidsLimit: Int64?
    var readOnly = false
    var capAdd: [String] = []
    var capDrop: [String] = []
    var user: String?
    var workdir: String?
    var entrypoint: String?
    var rootfs: String?
    var hostname: String?
    var volume: [String] = []
    /// IMAGE [CMD...] (or CMD... with --rootfs), as ArgumentParser's passthrough captures them.
    var arguments: [String] = []

    /// Reads `berth run ARGS` (`args` without "run") the way ArgumentParser
    /// reads `RunCommand`, or returns nil for anything it is not sure of:
    /// help, an unknown or malformed option, a value that looks like an
    /// option. Nil sends the line to ArgumentParser, which then gives the
    /// usual result or error; so this parser may be incomplete, never
    /// different (BerthCLITests compares the two on many lines).
    static func fastParse(_ args: ArraySlice<String>, environment: [String: String]) -> RunInvocation? {
        var run = RunInvocation(dataDir: environment["BERTH_DATA_DIR"] ?? "/var/lib/berth")
        var rest = args
        while let arg = rest.first {
            if arg == "--" {
                // ArgumentParser keeps the "--" in a passthrough capture; execute() drops it.
                run.arguments = Array(rest)
                return run
            }
            guard arg.hasPrefix("-"), arg.count > 1 else {
                run.arguments = Array(rest)  // IMAGE and everything after it
                return run
            }
            rest.removeFirst()
            if arg.hasPrefix("--") {
                var name = String(arg.dropFirst(2))
                var inlineValue: String?
                if let eq = name.firstIndex(of: "=") {
                    inlineValue = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if let flag = Self.flag(name[...]) {
                    guard inlineValue == nil else { return nil }
                    run.set(flag)
                    continue
                }
                guard let option = longOption(name[...]) else { return nil }
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard let next = rest.first, !next.hasPrefix("-") else { return nil }
                    value = next
                    rest.removeFirst()
                }
                guard run.set(option, value) else { return nil }
            } else {
                // Short flags, alone or clustered (-it, -dit); a short option
                // with a value only alone and with the value as the next word.
                let letters = Array(arg.dropFirst())
                if letters.count == 1, let option = shortOption(letters[0]) {
                    guard let next = rest.first, !next.hasPrefix("-") else { return nil }
                    rest.removeFirst()
                    guard run.set(option, next) else { return nil }
                    continue
                }
                for letter in letters {
                    guard let flag = Self.shortFlag(letter) else { return nil }
                    run.set(flag)
                }
            }
        }
        return run  // no IMAGE: execute() reports it
    }

    /// Whether `berth run ARGS` asks for help: `--help` among the options
    /// before IMAGE. ArgumentParser's passthrough capture of IMAGE [CMD...]
    /// would otherwise take `--help` for the image name.
    static func wantsHelp(_ args: ArraySlice<String>) -> Bool {
        var rest = args
        while let arg = rest.first, arg != "--", arg.hasPrefix("-"), arg.count > 1 {
            rest.removeFirst()
            if arg == "--help" { return true }
            let takesValue = arg.hasPrefix("--")
                ? !arg.contains("=") && longOption(arg.dropFirst(2)) != nil
                : arg.count == 2 && shortOption(arg.dropFirst().first ?? " ") != nil
            if takesValue, !rest.isEmpty { rest.removeFirst() }
        }
        return false
    }

    /// The variables `fastParse` reads, by getenv: ProcessInfo's first use
    /// copies the whole environment, which a container start can skip.
    static func environment() -> [String: String] {
        getenv("BERTH_DATA_DIR").map { ["BERTH_DATA_DIR": String(cString: $0)] } ?? [:]
    }

    enum Option { case name, env, memory, cpus, pidsLimit, capAdd, capDrop, user, workdir, entrypoint, rootfs, hostname, volume, dataDir }

    enum Flag { case detach, rm, interactive, tty, readOnly }

    // Switches, not dictionaries: a `[String: Option]` literal is a generic
    // instantiation, and in a fresh process its requirements cost a scan of
    // the binary's conformance records (~1 ms of a container start).
    static func flag(_ name: Substring) -> Flag? {
        switch name {
        case "detach": .detach
        case "rm": .rm
        case "interactive": .interactive
        case "tty": .tty
        case "read-only": .readOnly
        default: nil
        }
    }

    static func shortFlag(_ letter: Character) -> Flag? {
        switch letter {
        case "d": .detach
        case "i": .interactive
        case "t": .tty
        default: nil
        }
    }

    static func longOption(_ name: Substring) -> Option? {
        switch name {
        case "name": .name
        case "env": .env
        case "memory": .memory
        case "cpus": .cpus
        case "pids-limit": .pidsLimit
        case "cap-add": .capAdd
        case "cap-drop": .capDrop
        case "user": .user
        case "workdir": .workdir
        case "entrypoint": .entrypoint
        case "rootfs": .rootfs
        case "hostname": .hostname
        case "volume": .volume
        case "data-dir": .dataDir
        default: nil
        }
    }

    /// -h is --hostname here, as in docker; ArgumentParser's help stays --help.
    static func shortOption(_ letter: Character) -> Option? {
        switch letter {
        case "e": .env
        case "m": .memory
        case "u": .user
        case "w": .workdir
        case "h": .hostname
        case "v": .volume
        default: nil
        }
    }

    private mutating func set(_ flag: Flag) {
        switch flag {
        case .detach: detach = true
        case .rm: rm = true
        case .interactive: interactive = true
        case .tty: tty = true
        case .readOnly: readOnly = true
        }
    }

    /// Sets one option; false when the value does not parse (ArgumentParser then says why).
    private mutating func set(_ option: Option, _ value: String) -> Bool {
        switch option {
        case .name: name = value
        case .env: env.append(value)
        case .memory: memory = value
        case .cpus:
            guard let number = Double(value) else { return false }
            cpus = number
        case .pidsLimit:
            guard let number = Int64(value) else { return false }
            pidsLimit = number
        case .capAdd: capAdd.append(value)
        case .capDrop: capDrop.append(value)
        case .user: user = value
        case .workdir: workdir = value
        case .entrypoint: entrypoint = value
        case .rootfs: rootfs = value
        case .hostname: hostname = value
        case .volume: volume.append(value)
        case .dataDir: dataDir = value
        }
        return true
    }

    func execute() async throws {
        LinuxTiming.mark("cli: arguments parsed")
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

        options.autoRemove = rm
        options.tty = tty
        let manager = try ContainerManager(dataDir: dataDir, images: ContainerCLI.imageResolver(dataDir: dataDir))
        // The shim starts now: its start and the container's namespaces
        // overlap the image lookup and the create below. Without it (it could
        // not be spawned), start spawns one as usual.
        let early = try? manager.startShimEarly(attach: detach ? nil : (STDOUT_FILENO, STDERR_FILENO),
                                                stdin: interactive && !detach ? STDIN_FILENO : nil, tty: tty)
        let record = try await manager.create(options)
        if detach && (interactive || tty) {
            throw ValidationError("-d with -i or -t is not supported: Berth has no daemon to attach to later")
        }
        if detach {
            do {
                try await manager.start(record.id, early: early)
            } catch {
                if rm { try? await manager.delete(record.id, force: true) }
                throw error
            }
            print(record.id)
            return
        }
        // -t on a terminal: raw mode here, so keystrokes (Ctrl-C too) reach the
        // container's terminal, whose line discipline does the rest (as docker).
        let terminal = tty && interactive ? RawTerminal(fd: STDIN_FILENO) : nil
        defer { terminal?.restore() }
        let started: ContainerRecord
        do {
            started = try await manager.start(record.id, attach: (STDOUT_FILENO, STDERR_FILENO),
                                    stdin: interactive ? STDIN_FILENO : nil,
                                    terminalSize: tty ? RawTerminal.size(of: STDOUT_FILENO) : nil, early: early)
        } catch let error as BerthError {
            terminal?.restore()
            if rm { try? await manager.delete(record.id, force: true) }
            // Docker's codes: 127 command not found, 126 not executable, 125 anything else.
            FileHandle.standardError.write(Data("berth: \(error)\n".utf8))
            if error.message.contains(": No such file or directory") && error.message.contains("exec ") { throw ExitCode(127) }
            if error.message.contains("exec ") { throw ExitCode(126) }
            throw ExitCode(125)
        }
        // Ctrl-C / SIGTERM go to the container, as with `docker run`; with -t
        // a resize of this terminal goes to the shim, which copies the size
        // to the container's pty (and so SIGWINCH to its foreground job).
        var forwarded: [Int32] = []
        if let pid = started.pid {
            for sig in [SIGINT, SIGTERM] where SignalForwarding.forward(sig, to: pid) { forwarded.append(sig) }
        }
        if tty, let shimPid = started.shimPid, SignalForwarding.forward(SIGWINCH, to: shimPid) { forwarded.append(SIGWINCH) }
        defer { forwarded.forEach(SignalForwarding.reset) }
        let done = try await manager.wait(record.id)
        // With --rm the shim removes the container (after reporting the exit).
        terminal?.restore()
        if done.oomKilled { FileHandle.standardError.write(Data("berth: container \(done.name) was OOM-killed\n".utf8)) }
        if let code = done.exitCode, code != 0 { throw ExitCode(Int32(code)) }
    }
}
