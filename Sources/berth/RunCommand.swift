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
    @Flag(name: .shortAndLong, help: "Keep stdin attached (the container reads this terminal or pipe).") var interactive = false
    @Flag(name: .shortAndLong, help: "Give the container a terminal (pty).") var tty = false
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
        let manager = try global.manager()
        let record = try await manager.create(options)
        if detach && (interactive || tty) {
            throw ValidationError("-d with -i or -t is not supported: Berth has no daemon to attach to later")
        }
        if detach {
            do {
                try await manager.start(record.id)
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
                                    terminalSize: tty ? RawTerminal.size(of: STDOUT_FILENO) : nil)
        } catch let error as BerthError {
            terminal?.restore()
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
        // -t: a resize of this terminal goes to the shim, which copies the
        // size to the container's pty (and so SIGWINCH to its foreground job).
        var resize: DispatchSourceSignal?
        if tty, let shimPid = started.shimPid {
            signal(SIGWINCH, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGWINCH)
            source.setEventHandler { Glibc.kill(shimPid, SIGWINCH) }
            source.resume()
            resize = source
        }
        let done = try await manager.wait(record.id)
        sources.forEach { $0.cancel() }
        resize?.cancel()
        // With --rm the shim removes the container (after reporting the exit).
        terminal?.restore()
        if done.oomKilled { FileHandle.standardError.write(Data("berth: container \(done.name) was OOM-killed\n".utf8)) }
        if let code = done.exitCode, code != 0 { throw ExitCode(Int32(code)) }
    }
}

/// The CLI's terminal in raw mode for `run -it`, restored on exit.
final class RawTerminal {
    let fd: Int32
    let saved: termios?

    init?(fd: Int32) {
        guard isatty(fd) == 1 else { return nil }
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return nil }
        self.fd = fd
        self.saved = t
        var raw = t
        cfmakeraw(&raw)
        // An end-of-file typed (or sent by script(1) when its own input ends)
        // while the terminal was still line-buffered waits in the kernel's
        // queue as a NUL marker, which raw mode would hand to the container
        // as a real NUL byte (echoed as ^@). FIONREAD skips such markers in
        // canonical mode and counts them in raw mode: the queue is dropped
        // only when it holds a single such byte, so typeahead survives (a
        // lone keystroke without Enter, typed during the start, is lost).
        var before: Int32 = 0, after: Int32 = 0
        let counted = ioctl(fd, UInt(FIONREAD), &before) == 0
        tcsetattr(fd, TCSANOW, &raw)
        if counted, before == 0, ioctl(fd, UInt(FIONREAD), &after) == 0, after == 1 { tcflush(fd, TCIFLUSH) }
    }

    func restore() {
        guard var t = saved else { return }
        tcsetattr(fd, TCSANOW, &t)
    }

    /// (rows, columns) of a terminal, nil if `fd` is none.
    static func size(of fd: Int32) -> (UInt16, UInt16)? {
        var ws = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0 else { return nil }
        return (ws.ws_row, ws.ws_col)
    }
}
