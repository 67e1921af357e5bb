import BerthAPI
import CBerthLinux
import CSeccomp
import Foundation
import Synchronization

/// Docker's default seccomp profile, compiled with libseccomp to a classic BPF
/// program that the C child installs with `prctl(PR_SET_SECCOMP)` right
/// before `execve`.
///
/// It is an allowlist: everything not listed fails with EPERM — keyctl,
/// add_key, request_key, kexec_load, userfaultfd, bpf, perf_event_open and the
/// namespace/mount family (mount, umount2, setns, unshare, and clone with
/// namespace flags) unless CAP_SYS_ADMIN was added, exactly as Docker decides.
///
/// Compiling costs about a millisecond, so each process compiles a profile
/// once per capability set and reuses the bytes.
public enum SeccompProfile {
    /// Compiles (or returns the cached) filter for a container with `capabilities`.
    ///
    /// With `cacheDirectory`, compiled programs are also kept on disk: a
    /// `berth run` is a new process each time, and libseccomp takes tens of
    /// milliseconds for this profile on a busy machine.
    public static func bpf(for capabilities: CapabilitySet, cacheDirectory: String? = nil) throws -> [UInt8] {
        if let hit = cache.withLock({ $0[capabilities.mask] }) { return hit }
        let file = cacheDirectory.map { "\($0)/\(version)-\(capabilities.hex).bpf" }
        if let file, let data = FileManager.default.contents(atPath: file), !data.isEmpty, data.count % 8 == 0 {
            let bytes = [UInt8](data)
            cache.withLock { $0[capabilities.mask] = bytes }
            return bytes
        }
        let bytes = try compile(capabilities: capabilities)
        cache.withLock { $0[capabilities.mask] = bytes }
        if let file, let dir = cacheDirectory {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try? Data(bytes).write(to: URL(fileURLWithPath: file), options: .atomic)
        }
        return bytes
    }

    /// The path of the compiled program for `capabilities` in `cacheDirectory`,
    /// compiled and written there first if missing. The shim reads it by
    /// path, so every container with the same capabilities shares one file
    /// (no per-container copy on the start path).
    public static func programFile(for capabilities: CapabilitySet, cacheDirectory: String) throws -> String {
        let file = "\(cacheDirectory)/\(version)-\(capabilities.hex).bpf"
        var st = stat()
        if stat(file, &st) == 0, st.st_size > 0, st.st_size % 8 == 0 { return file }
        let bytes = try bpf(for: capabilities, cacheDirectory: cacheDirectory)
        if mkdir(cacheDirectory, 0o755) != 0 && errno != EEXIST {
            throw BerthError(.runtime, "create \(cacheDirectory): \(String(cString: strerror(errno)))")
        }
        try ContainerManager.writeFile(file, bytes)
        return file
    }

    /// Changes whenever the rules below change, so stale cached programs are never used.
    static let version: String = {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a over the rule text
        let text = allowed.joined(separator: ",") + byCapability.map { $0.cap + ":" + $0.names.joined(separator: ",") }.joined()
            + "socket!=40,personality,clone&\(namespaceCloneFlags),clone3=ENOSYS,x86,x32,tree"
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "docker-default-" + String(h, radix: 16)
    }()

    private static let cache = Mutex<[UInt64: [UInt8]]>([:])

    // MARK: - The profile (ported from Docker's default.json, x86_64)

    static let allowed: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod",
        "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
        "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
        "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
        "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
        "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
        "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
        "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
        "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
        "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
        "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
        "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore",
        "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
        "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
        "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
        "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat",
        "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
        "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
        "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
        "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
        "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
        "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
        "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
        "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
        "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt",
        "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
        "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
        "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
        "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
        "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime",
        "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
        "writev",
        // minKernel 4.8: ptrace can no longer bypass seccomp.
        "process_vm_readv", "process_vm_writev", "ptrace",
        // amd64 / x32 / x86
        "arch_prctl", "modify_ldt",
    ]

    /// Extra syscalls allowed when a capability is in the bounding set.
    static let byCapability: [(cap: String, names: [String])] = [
        ("DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("SYS_ADMIN", [
            "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
            "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
            "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
        ]),
        ("SYS_BOOT", ["reboot"]),
        ("SYS_CHROOT", ["chroot"]),
        ("SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("SYS_PACCT", ["acct"]),
        ("SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("SYS_RAWIO", ["iopl", "ioperm"]),
        ("SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("SYS_TTY_CONFIG", ["vhangup"]),
        ("SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("SYSLOG", ["syslog"]),
        ("BPF", ["bpf"]),
        ("PERFMON", ["perf_event_open"]),
    ]

    /// clone flags that create namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET.
    static let namespaceCloneFlags: UInt64 = 0x7E02_0000

    private static let actAllow: UInt32 = 0x7fff_0000
    private static func actErrno(_ e: Int32) -> UInt32 { 0x0005_0000 | (UInt32(e) & 0xffff) }

    // MARK: - Compile

    static func compile(capabilities: CapabilitySet) throws -> [UInt8] {
        guard let ctx = seccomp_init(actErrno(EPERM)) else {
            throw BerthError(.runtime, "seccomp_init failed", hint: "is libseccomp installed?")
        }
        defer { seccomp_release(ctx) }
        // A binary tree of syscall numbers instead of libseccomp's default
        // linear chain: the kernel takes ~0.3 ms instead of ~1.5 ms to
        // install this profile (measured here: the chain is ~900
        // instructions over three architectures), on the path of every
        // container start, and each syscall meets ~10 comparisons instead of
        // up to ~300.
        guard seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) == 0 else {
            throw BerthError(.runtime, "libseccomp cannot build a binary-tree filter", hint: "libseccomp 2.5 or newer is needed")
        }
        // 32-bit and x32 binaries get the same rules, as in Docker.
        for arch in ["x86", "x32"] {
            let token = seccomp_arch_resolve_name(arch)
            if token != 0 { _ = seccomp_arch_add(ctx, token) }
        }
        func allow(_ name: String, _ args: [scmp_arg_cmp] = [], action: UInt32 = actAllow) throws {
            let nr = seccomp_syscall_resolve_name(name)
            guard nr != __NR_SCMP_ERROR else { return } // unknown to this libseccomp: nothing to allow
            let rc = args.withUnsafeBufferPointer {
                seccomp_rule_add_array(ctx, action, nr, UInt32($0.count), $0.baseAddress)
            }
            // -EDOM/-EEXIST: not on every architecture, or already present.
            if rc < 0 && rc != -EDOM && rc != -EEXIST && rc != -EINVAL {
                throw BerthError(.runtime, "seccomp rule for \(name): \(String(cString: strerror(-rc)))")
            }
        }
        var names = Set(allowed)
        for (cap, extra) in byCapability where capabilities.contains(cap) { names.formUnion(extra) }
        for name in names.sorted() { try allow(name) }
        try allow("socket", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_NE, datum_a: 40, datum_b: 0)]) // not AF_VSOCK
        for persona: UInt64 in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
            try allow("personality", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: persona, datum_b: 0)])
        }
        if !capabilities.contains("SYS_ADMIN") {
            // clone without namespace flags only; clone3 cannot be inspected, so ENOSYS makes libc fall back to clone.
            try allow("clone", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_MASKED_EQ, datum_a: namespaceCloneFlags, datum_b: 0)])
            try allow("clone3", action: actErrno(ENOSYS))
        }
        return try export(ctx)
    }

    private static func export(_ ctx: scmp_filter_ctx) throws -> [UInt8] {
        let fd = berth_memfd("berth-seccomp")
        guard fd >= 0 else { throw BerthError(.runtime, "memfd_create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let rc = seccomp_export_bpf(ctx, fd)
        guard rc == 0 else { throw BerthError(.runtime, "seccomp_export_bpf: \(String(cString: strerror(-rc)))") }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { throw BerthError(.runtime, "seccomp_export_bpf produced no program") }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(size), 0) }
        guard n == Int(size) else { throw BerthError(.runtime, "reading the seccomp program back failed") }
        return bytes
    }
}
