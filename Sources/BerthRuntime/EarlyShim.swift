import BerthAPI
import Glibc

/// A shim started ahead of its container by `ContainerManager.startShimEarly`
/// (`berth run`): detached and holding the container's new namespaces, it
/// waits on a pipe for the configuration's path. Released unused, its pipe
/// closes and it exits.
public final class EarlyShim: @unchecked Sendable {
    /// The shim's first process, which exits once the monitor has detached.
    let pid: pid_t
    let reader: LineReader
    let tty: Bool
    /// The pipe's write end; -1 once handed over. Only the one `start` that
    /// uses this shim touches it.
    private var configFD: Int32

    init(pid: pid_t, reader: LineReader, configFD: Int32, tty: Bool) {
        self.pid = pid
        self.reader = reader
        self.configFD = configFD
        self.tty = tty
    }

    deinit {
        if configFD >= 0 { close(configFD) }
        waitpid(pid, nil, WNOHANG)
    }

    /// Sends the configuration's path; the shim loads it and starts the container.
    func handOver(_ path: String) throws {
        guard configFD >= 0 else { throw BerthError(.internal, "this early shim was handed a configuration already") }
        // A shim that died would make the write raise SIGPIPE: an error here instead.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let line = path + "\n"
        let written = line.withCString { write(configFD, $0, strlen($0)) }
        let failure = errno
        close(configFD)
        configFD = -1
        guard written == line.utf8.count else {
            throw BerthError(.runtime, "berth-shim did not take the configuration: \(String(cString: strerror(failure)))")
        }
    }
}
