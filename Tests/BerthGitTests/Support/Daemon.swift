import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A long-running server process started with `posix_spawn`, not Foundation's `Process`.
///
/// Foundation's Process monitor on Linux can block in `wait4` on a running
/// child (seen with `sshd -D`), which then stalls every later
/// `Process.waitUntilExit()` in the test process. Spawning servers directly
/// keeps them out of Foundation's bookkeeping; `stop()` reaps them itself.
struct Daemon {
    let pid: pid_t
    let executable: String

    /// Starts `executable` with stdin on /dev/null, stderr (and with `stdoutToLog` stdout) appended
    /// to `log`, stdout otherwise on /dev/null.
    static func spawn(
        _ executable: String, _ arguments: [String], log: URL, stdoutToLog: Bool = false,
        environment: [String: String]? = nil
    ) throws -> Daemon {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if stdoutToLog {
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        // Worker threads block signals; without this the server would inherit that mask and ignore SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let code = envp.map { envp in posix_spawn(&pid, executable, &actions, &attributes, argv, envp) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard code == 0 else { throw ShellError(command: executable, status: code, output: "posix_spawn failed") }
        return Daemon(pid: pid, executable: executable)
    }

    /// Whether the process has not exited yet (reaps it if it has).
    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// Waits for the process to exit; its exit status (128 + signal when killed).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// SIGTERM, then SIGKILL after 3 s; always reaps.
    func stop() {
        guard kill(pid, SIGTERM) == 0 else { return }
        var status: Int32 = 0
        for _ in 0..<60 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}
