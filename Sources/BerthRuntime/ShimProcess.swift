import BerthAPI
import CBerthLinux
import Foundation

/// Starts `berth-shim` and speaks its small line protocol on fd 3.
enum ShimProcess {
    /// Finds the shim: $BERTH_SHIM, else next to the running executable
    /// (.build/debug/berth-shim for both `berth` and the test bundle).
    static func locate() throws -> String {
        // getenv, not ProcessInfo: its first use copies the whole environment (a container start's profile).
        if let env = getenv("BERTH_SHIM").map({ String(cString: $0) }), !env.isEmpty { return env }
        // readlink and access, not FileManager and URL: their first use is a start-up cost of `berth run`.
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        var dir = Substring(exe)
        for _ in 0..<3 {
            dir = dir.lastIndex(of: "/").map { dir[..<$0] } ?? "."
            let candidate = String(dir) + "/berth-shim"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        for p in ["/usr/local/bin/berth-shim", "/usr/bin/berth-shim"] where access(p, X_OK) == 0 {
            return p
        }
        throw BerthError(.runtime, "berth-shim not found next to \(exe)",
                         hint: "build it with `swift build` or set BERTH_SHIM to its path")
    }

    /// Spawns the shim. `statusFD` becomes its fd 3; `attach` fds become 4 and 5,
    /// `stdin` (the container's, with -i) 6, `configFD` (an early start's) 7;
    /// `stdio` (if given) its 0, 1, 2, else /dev/null and `logPath`.
    static func spawn(shim: String, mode: String, config: String, statusFD: Int32?, attach: (Int32, Int32)?,
                      stdin: Int32? = nil, stdio: (Int32, Int32, Int32)?, shimLog: String?) throws -> pid_t {
        try spawn(shim: shim, mode: mode, arguments: [config], statusFD: statusFD, attach: attach, stdin: stdin,
                  configFD: nil, stdio: stdio, shimLog: shimLog)
    }

    static func spawn(shim: String, mode: String, arguments: [String], statusFD: Int32?, attach: (Int32, Int32)?,
                      stdin: Int32?, configFD: Int32?, stdio: (Int32, Int32, Int32)?, shimLog: String?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Every source moves above the targets first, so that no dup2 below
        // overwrites a source that happens to sit on fd 3…6 (a caller's pipe).
        var high: [Int32] = []
        defer { for fd in high { close(fd) } }
        func lift(_ fd: Int32) -> Int32 {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 100)
            if copy >= 0 { high.append(copy); return copy }
            return fd
        }
        if let statusFD { posix_spawn_file_actions_adddup2(&actions, lift(statusFD), 3) }
        if let (o, e) = attach {
            posix_spawn_file_actions_adddup2(&actions, lift(o), 4)
            posix_spawn_file_actions_adddup2(&actions, lift(e), 5)
        }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, lift(stdin), 6) }
        if let configFD {
            posix_spawn_file_actions_adddup2(&actions, lift(configFD), 7)
            // 4…6 stay below the closefrom: unused ones must not carry whatever this process has there.
            if attach == nil { posix_spawn_file_actions_addclose(&actions, 4); posix_spawn_file_actions_addclose(&actions, 5) }
            if stdin == nil { posix_spawn_file_actions_addclose(&actions, 6) }
        }
        if let (i, o, e) = stdio {
            posix_spawn_file_actions_adddup2(&actions, lift(i), 0)
            posix_spawn_file_actions_adddup2(&actions, lift(o), 1)
            posix_spawn_file_actions_adddup2(&actions, lift(e), 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, shimLog ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o640)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing else of Berth's leaks into the container's monitor.
        berth_spawn_addclosefrom(&actions, configFD != nil ? 8 : stdin != nil ? 7 : attach != nil ? 6 : statusFD != nil ? 4 : 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attr, &mask)
        var dfl = sigset_t()
        sigfillset(&dfl)
        posix_spawnattr_setsigdefault(&attr, &dfl)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let args = [shim, mode] + arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, shim, &actions, &attr, &cargs, environ)
        guard rc == 0 else {
            throw BerthError(.runtime, "spawn \(shim): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    static func waitExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

/// Reads newline-terminated lines from a pipe without blocking Swift's
/// cooperative threads (each read is a `BlockingWork`: a Dispatch work item,
/// or in place under `CurrentThreadExecutor`).
final class LineReader: @unchecked Sendable {
    // Only touched from one read at a time (callers await each line).
    private let fd: Int32
    private var buffer = [UInt8]()
    private var eof = false

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    func nextLine() async -> String? {
        await BlockingWork.run { self.blockingLine() }
    }

    func blockingLine() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            if eof { return nil }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { eof = true; continue }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
