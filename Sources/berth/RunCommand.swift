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
        try await invocation.execute()
    }

    /// What ArgumentParser read, as the plain value `RunInvocation.fastParse` also produces.
    var invocation: RunInvocation {
        RunInvocation(
            dataDir: global.dataDir, detach: detach, rm: rm, interactive: interactive, tty: tty, name: name, env: env,
            memory: memory, cpus: cpus, pidsLimit: pidsLimit, readOnly: readOnly, capAdd: capAdd, capDrop: capDrop,
            user: user, workdir: workdir, entrypoint: entrypoint, rootfs: rootfs, hostname: hostname, volume: volume,
            arguments: arguments)
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
