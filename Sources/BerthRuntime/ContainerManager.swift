import BerthAPI
import CBerthLinux
import Foundation

/// The container lifecycle on one Linux machine: what containerd + runc do
/// for Docker, with `berth-shim` as the per-container monitor (conmon).
///
/// State lives on disk under `<dataDir>/containers/<id>/` (state.json, the
/// shim config, the seccomp program, the overlay upper/work dirs, the CRI log
/// and the shim's exit file), so that a new manager — after a Berth restart —
/// re-adopts running containers (pid + process start time) and still learns
/// the exit code of those that ended while Berth was away.
public actor ContainerManager {
    public nonisolated let dataDir: String
    let shimPath: String
    let images: (any ImageResolver)?
    private var records: [String: ContainerRecord] = [:]
    /// Status pipes of containers this process started: their "exit" line
    /// ends a `wait` at once instead of polling the exit file.
    private var exitReaders: [String: LineReader] = [:]
    /// A cgroup2 directory to create container cgroups under instead of the
    /// detected layout (tests of the v2 path on a v1 "hybrid" host).
    let cgroupV2Root: String?

    /// Opens (creating if needed) the data directory and re-adopts every
    /// container recorded there.
    public init(dataDir: String, images: (any ImageResolver)? = nil, shimPath: String? = nil,
                cgroupV2Root: String? = nil) throws {
        LinuxTiming.mark("manager: init")
        self.dataDir = dataDir
        self.images = images
        self.shimPath = try shimPath ?? ShimProcess.locate()
        self.cgroupV2Root = cgroupV2Root
        for sub in ["containers", "sandboxes", "trash"] where mkdir(dataDir + "/" + sub, 0o711) != 0 && errno != EEXIST {
            try FileManager.default.createDirectory(atPath: dataDir + "/" + sub, withIntermediateDirectories: true)
        }
        var loaded: [String: ContainerRecord] = [:]
        for sub in ["containers", "sandboxes"] {
            let dir = dataDir + "/" + sub
            for id in LinuxFiles.list(dir) ?? [] {
                let file = dir + "/" + id + "/state.json"
                guard let bytes = LinuxFiles.readBytes(file),
                      let record = try? RuntimeJSON.decode(ContainerRecord.self, from: Data(bytes)) else { continue }
                let refreshed = Self.refreshed(record, dir: dir + "/" + id)
                loaded[record.id] = refreshed
                // Only what changed is written back: a CLI command must not rewrite every state file.
                if refreshed != record { try? Self.save(refreshed, dir: dir + "/" + id) }
            }
        }
        records = loaded
        Self.collectTrash(dataDir + "/trash")
        LinuxTiming.mark("manager: records loaded")
    }

    /// Directories of `--rm` containers whose shim died while removing them
    /// (the shim moves a container here, then removes it): cgroups and files.
    /// Recent entries are left to their shim, which is still at work.
    static func collectTrash(_ trash: String) {
        guard let names = LinuxFiles.list(trash), !names.isEmpty else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        for name in names {
            let dir = trash + "/" + name
            var st = stat()
            guard stat(dir, &st) == 0, now.tv_sec - st.st_ctim.tv_sec > 30 else { continue }
            if let bytes = LinuxFiles.readBytes(dir + "/state.json"),
               let record = try? RuntimeJSON.decode(ContainerRecord.self, from: Data(bytes)), let cgroups = record.cgroups {
                CgroupManager.remove(cgroups)
            }
            umount2(dir + "/rootfs", Int32(MNT_DETACH))
            berth_remove_tree(dir)
        }
    }

    // MARK: - Paths

    static func directory(_ dataDir: String, _ record: ContainerRecord) -> String {
        directory(dataDir, id: record.id, sandbox: record.isSandbox)
    }

    static func directory(_ dataDir: String, id: String, sandbox: Bool) -> String {
        "\(dataDir)/\(sandbox ? "sandboxes" : "containers")/\(id)"
    }

    public nonisolated func logPath(id: String) -> String {
        Self.directory(dataDir, id: id, sandbox: false) + "/container.log"
    }

    // MARK: - Create

    /// Resolves image, user, env and command and records a `created` container.
    public func create(_ options: ContainerOptions) async throws -> ContainerRecord {
        LinuxTiming.mark("create: begin")
        let id = Self.newID()
        let name = options.name ?? String(id.prefix(12))
        if records.values.contains(where: { $0.name == name && !$0.isSandbox }) {
            throw BerthError(.alreadyExists, "a container named \(name) already exists",
                             hint: "remove it with `berth rm \(name)` or choose another --name")
        }
        let image: ContainerImage
        if let rootfs = options.rootfs {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: rootfs, isDirectory: &isDir), isDir.boolValue else {
                throw BerthError(.notFound, "rootfs directory \(rootfs) does not exist")
            }
            let abs = URL(fileURLWithPath: rootfs).standardizedFileURL.path
            image = ContainerImage(reference: "rootfs:" + abs, layers: [abs], cmd: ["/bin/sh"])
        } else if let ref = options.image {
            guard let images else {
                throw BerthError(.imageNotFound, "no image store is configured to resolve \(ref)",
                                 hint: "use --rootfs DIR, or pull the image first")
            }
            image = try await images.resolveImage(ref, leaseID: id)
        } else {
            throw BerthError(.invalidArgument, "a container needs an image or a --rootfs directory")
        }

        let user = try LinuxUser.resolve(options.user ?? image.user, layers: image.layers)
        if options.runAsNonRoot && user.uid == 0 {
            throw BerthError(.invalidArgument, "container \(name) would run as root but runAsNonRoot is set",
                             hint: "set runAsUser or use an image with a non-root USER")
        }
        let capabilities = try CapabilitySet.resolve(add: options.capAdd, drop: options.capDrop)
        let argv: [String]
        if let entry = options.entrypoint {
            argv = entry + (options.command ?? [])
        } else {
            argv = image.entrypoint + (options.command ?? image.cmd)
        }
        guard !argv.isEmpty else {
            throw BerthError(.invalidArgument, "no command to run: the image has no Entrypoint or Cmd",
                             hint: "give a command after the image")
        }
        let hostname = options.hostname ?? String(id.prefix(12))
        var env = Self.mergeEnv(image.env, options.env)
        if !env.contains(where: { $0.hasPrefix("PATH=") }) {
            env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0)
        }
        if !env.contains(where: { $0.hasPrefix("HOSTNAME=") }) { env.append("HOSTNAME=" + hostname) }
        if !env.contains(where: { $0.hasPrefix("HOME=") }) { env.append("HOME=" + user.home) }

        let spec = ContainerSpec(
            image: image.reference, imageDigest: image.digest, layers: image.layers, argv: argv, env: env,
            workingDir: options.workingDir ?? image.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/",
            uid: user.uid, gid: user.gid, additionalGids: user.additionalGids, hostname: hostname,
            readOnlyRootfs: options.readOnlyRootfs, capabilities: capabilities,
            noNewPrivileges: options.noNewPrivileges, mounts: options.mounts, limits: options.limits,
            labels: options.labels, sandboxID: options.sandboxID, logMaxBytes: options.logMaxBytes,
            autoRemove: options.autoRemove ? true : nil, tty: options.tty ? true : nil)
        if let sandboxID = options.sandboxID, records[sandboxID]?.isSandbox != true {
            throw BerthError(.notFound, "sandbox \(sandboxID) does not exist")
        }
        let record = ContainerRecord(
            id: id, name: name, createdAt: Self.now(), spec: spec, phase: .created, pid: nil, pidStartTime: nil,
            shimPid: nil, shimStartTime: nil, startedAt: nil, finishedAt: nil, exitCode: nil, signal: nil, oomKilled: false, error: nil,
            cgroups: nil, isSandbox: false)
        let dir = Self.directory(dataDir, record)
        for sub in ["", "/upper", "/work", "/rootfs"] where mkdir(dir + sub, 0o711) != 0 {
            throw BerthError(.runtime, "create \(dir + sub): \(String(cString: strerror(errno)))")
        }
        try Self.writeEtcFiles(dir: dir, hostname: hostname, extraHosts: options.extraHosts, dns: options.dns)
        LinuxTiming.mark("create: etc files written")
        try Self.save(record, dir: dir)
        LinuxTiming.mark("create: state.json written")
        records[id] = record
        return record
    }

    /// Docker's "init layer": a read-only layer above every image with the
    /// mount points the shim needs (/proc, /dev, /sys) and the files it binds
    /// over (/etc/hosts, /etc/hostname, /etc/resolv.conf). Without it, an
    /// image lacking them (busybox, scratch-based ones) made every start
    /// create them in the container's upper dir: overlay copy-ups and ext4
    /// inode allocations in the start path, and as many removals after a
    /// `--rm`. Built once per data dir, atomically (temp dir, then rename);
    /// a directory that exists is complete.
    static func initLayer(dataDir: String) throws -> String {
        let path = dataDir + "/init-layer"
        if access(path, F_OK) == 0 { return path }
        let tmp = "\(dataDir)/init-layer.tmp\(getpid())"
        berth_remove_tree(tmp)
        for sub in ["", "/proc", "/dev", "/sys", "/etc"] where mkdir(tmp + sub, 0o755) != 0 {
            throw BerthError(.runtime, "create \(tmp + sub): \(String(cString: strerror(errno)))")
        }
        for file in ["hosts", "hostname", "resolv.conf"] {
            try writeFile("\(tmp)/etc/\(file)", [])
            chmod("\(tmp)/etc/\(file)", 0o644)
        }
        if rename(tmp, path) != 0 {
            let failure = errno
            berth_remove_tree(tmp)
            // Another berth built it at the same time: theirs is as good.
            guard access(path, F_OK) == 0 else {
                throw BerthError(.runtime, "create \(path): \(String(cString: strerror(failure)))")
            }
        }
        return path
    }

    static func mergeEnv(_ base: [String], _ overrides: [String: String]) -> [String] {
        var result: [String] = []
        var seen: [String: Int] = [:]
        for entry in base {
            let key = String(entry.split(separator: "=", maxSplits: 1).first ?? "")
            if let i = seen[key] { result[i] = entry } else { seen[key] = result.count; result.append(entry) }
        }
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            if let i = seen[key] { result[i] = key + "=" + value } else { seen[key] = result.count; result.append(key + "=" + value) }
        }
        return result
    }

    static func writeEtcFiles(dir: String, hostname: String, extraHosts: [String: String], dns: DNSConfig?) throws {
        var hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t\(hostname)\n"
        for (name, ip) in extraHosts.sorted(by: { $0.key < $1.key }) { hosts += "\(ip)\t\(name)\n" }
        try writeFile(dir + "/hosts", hosts)
        try writeFile(dir + "/hostname", hostname + "\n")
        var resolv = ""
        if let dns {
            for ns in dns.nameservers { resolv += "nameserver \(ns)\n" }
            if !dns.searches.isEmpty { resolv += "search \(dns.searches.joined(separator: " "))\n" }
            if !dns.options.isEmpty { resolv += "options \(dns.options.joined(separator: " "))\n" }
        } else if let host = LinuxFiles.readText("/etc/resolv.conf") {
            // The host's, minus loopback resolvers that mean nothing in another network namespace.
            resolv = host.split(separator: "\n").filter { !$0.hasPrefix("nameserver 127.") }.joined(separator: "\n") + "\n"
        }
        try writeFile(dir + "/resolv.conf", resolv)
    }

    static func writeFile(_ path: String, _ text: String) throws {
        try writeFile(path, Array(text.utf8))
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let rc = bytes.withUnsafeBytes { berth_write_file(path, $0.baseAddress, $0.count) }
        if rc != 0 { throw BerthError(.runtime, "write \(path): \(String(cString: strerror(errno)))") }
    }

    // MARK: - Start

    /// Starts a created (or stopped) container and returns once its process has
    /// exec'd. With `attach`, the shim also copies stdout/stderr to those fds.
    /// With `stdin` (`-i`), that fd is the container's stdin, or with a tty
    /// what the shim copies to the terminal; `terminalSize` (rows, columns)
    /// is the tty's initial size.
    ///
    /// `early`, from `startShimEarly` with the same `attach`, `stdin` and
    /// tty, is a shim already waiting for this container's configuration.
    @discardableResult
    public func start(_ id: String, attach: (Int32, Int32)? = nil, stdin: Int32? = nil,
                      terminalSize: (UInt16, UInt16)? = nil, early: EarlyShim? = nil) async throws -> ContainerRecord {
        guard var record = records[id] else { throw Self.notFound(id) }
        if record.phase == .running { return record }
        if let early, record.spec.sandboxID != nil || (record.spec.tty == true) != early.tty {
            throw BerthError(.internal, "an early shim cannot start \(record.name): it joins no pod and must match -t")
        }
        let dir = Self.directory(dataDir, record)
        unlink(dir + "/exit.json")
        if let old = record.cgroups { CgroupManager.remove(old) }
        let cgroups = try CgroupManager.create(name: id, limits: record.spec.limits, unifiedRoot: cgroupV2Root)
        LinuxTiming.mark("start: cgroups created")
        record.cgroups = cgroups
        do {
            let configPath = try writeRunConfig(record, dir: dir, cgroups: cgroups, attach: attach != nil,
                                                stdin: stdin != nil, terminalSize: terminalSize)
            if let early {
                try early.handOver(configPath)
                return try await awaitStart(&record, shimPid: early.pid, reader: early.reader, dir: dir)
            }
            return try await launch(&record, mode: "run", configPath: configPath, dir: dir, attach: attach, stdin: stdin)
        } catch {
            CgroupManager.remove(cgroups)
            record.cgroups = nil
            if record.phase != .stopped {
                record.phase = .stopped
                record.error = "\(error)"
                record.finishedAt = Self.now()
            }
            records[id] = record
            try? Self.save(record, dir: dir)
            throw error
        }
    }

    private func writeRunConfig(_ record: ContainerRecord, dir: String, cgroups: CgroupPaths?, attach: Bool,
                                stdin: Bool, terminalSize: (UInt16, UInt16)?) throws -> String {
        let spec = record.spec
        // The compiled program is shared by every container with these capabilities.
        let seccompPath = try SeccompProfile.programFile(for: spec.capabilities, cacheDirectory: dataDir + "/seccomp")
        LinuxTiming.mark("start: seccomp program ready")
        var config = ShimConfig()
        config.add("rootfs", dir + "/rootfs")
        // overlayfs lists the top layer first; the init layer goes on top of the image.
        config.add("lowerdir", ([try Self.initLayer(dataDir: dataDir)] + spec.layers.reversed()).joined(separator: ":"))
        config.add("upperdir", dir + "/upper")
        config.add("workdir", dir + "/work")
        config.add("readonly", spec.readOnlyRootfs ? "1" : "0")
        config.add("hostname", spec.hostname)
        config.addProcess(spec: spec, argv: spec.argv, env: spec.env, cwd: spec.workingDir, seccompPath: seccompPath)
        var binds = spec.mounts
        binds.append(Mount(hostPath: dir + "/hosts", containerPath: "/etc/hosts", readOnly: false))
        binds.append(Mount(hostPath: dir + "/hostname", containerPath: "/etc/hostname", readOnly: false))
        binds.append(Mount(hostPath: dir + "/resolv.conf", containerPath: "/etc/resolv.conf", readOnly: false))
        for m in binds {
            config.add("bind_src", m.hostPath)
            config.add("bind_dst", m.containerPath)
            config.add("bind_ro", m.readOnly ? "1" : "0")
        }
        if let sandboxID = spec.sandboxID {
            guard let sandbox = records[sandboxID], sandbox.phase == .running, let pid = sandbox.pid else {
                throw BerthError(.conflict, "sandbox \(sandboxID) is not running")
            }
            config.add("netns", "/proc/\(pid)/ns/net")
            config.add("ipcns", "/proc/\(pid)/ns/ipc")
            config.add("utsns", "/proc/\(pid)/ns/uts")
        }
        if let cgroups {
            config.add("cgroup", cgroups.procsFiles)
            if let oom = cgroups.oomFile { config.add("oom", oom) }
        }
        config.add("log", dir + "/container.log")
        config.add("log_max", String(spec.logMaxBytes))
        config.add("exit", dir + "/exit.json")
        if attach { config.add("attach", "1") }
        if stdin { config.add("stdin", "1") }
        if spec.tty == true {
            config.add("tty", "1")
            if let (rows, cols) = terminalSize {
                config.add("tty_rows", String(rows))
                config.add("tty_cols", String(cols))
            }
        }
        if spec.autoRemove == true {
            config.add("autoremove", "1")
            config.add("container_dir", dir)
            config.add("trash_dir", dataDir + "/trash/" + record.id)
            if spec.imageDigest != nil, let lease = images?.leaseFile(leaseID: record.id) { config.add("lease", lease) }
        }
        let path = dir + "/shim.config"
        try config.write(to: path)
        LinuxTiming.mark("start: shim config written")
        return path
    }

    private func launch(_ record: inout ContainerRecord, mode: String, configPath: String, dir: String,
                        attach: (Int32, Int32)?, stdin: Int32? = nil) async throws -> ContainerRecord {
        var fds: [Int32] = [0, 0]
        guard berth_pipe_cloexec(&fds) == 0 else {
            throw BerthError(.runtime, "pipe: \(String(cString: strerror(errno)))")
        }
        let reader = LineReader(fd: fds[0])
        let shimPid: pid_t
        do {
            shimPid = try ShimProcess.spawn(shim: shimPath, mode: mode, config: configPath, statusFD: fds[1],
                                            attach: attach, stdin: stdin, stdio: nil, shimLog: dir + "/shim.log")
        } catch {
            close(fds[1])
            throw error
        }
        close(fds[1])
        return try await awaitStart(&record, shimPid: shimPid, reader: reader, dir: dir)
    }

    /// Starts a shim for `berth run` before the container exists: it
    /// detaches and creates the container's namespaces (~2.5 ms: its exec,
    /// a fork, clone with five new namespaces) while this process resolves
    /// the image and creates the container, then `start(_:…, early:)` hands
    /// it the configuration. Dropped unused, it exits.
    public nonisolated func startShimEarly(attach: (Int32, Int32)?, stdin: Int32?, tty: Bool) throws -> EarlyShim {
        var status: [Int32] = [0, 0], config: [Int32] = [0, 0]
        guard berth_pipe_cloexec(&status) == 0 else { throw BerthError(.runtime, "pipe: \(String(cString: strerror(errno)))") }
        guard berth_pipe_cloexec(&config) == 0 else {
            close(status[0]); close(status[1])
            throw BerthError(.runtime, "pipe: \(String(cString: strerror(errno)))")
        }
        let reader = LineReader(fd: status[0])
        defer { close(status[1]); close(config[0]) }
        let words = ["-"] + (attach != nil ? ["attach"] : []) + (stdin != nil ? ["stdin"] : []) + (tty ? ["tty"] : [])
        do {
            let pid = try ShimProcess.spawn(shim: shimPath, mode: "run", arguments: words, statusFD: status[1], attach: attach,
                                            stdin: stdin, configFD: config[0], stdio: nil, shimLog: nil)
            return EarlyShim(pid: pid, reader: reader, configFD: config[1], tty: tty)
        } catch {
            close(config[1])
            throw error
        }
    }

    /// After the shim was spawned: its first process exits once detached,
    /// then its status line says whether the container's process runs.
    private func awaitStart(_ record: inout ContainerRecord, shimPid: pid_t, reader: LineReader,
                            dir: String) async throws -> ContainerRecord {
        _ = ShimProcess.waitExit(shimPid) // the first shim process exits right after detaching
        LinuxTiming.mark("start: shim spawned and detached")
        guard let line = await reader.nextLine() else {

            let log = (try? String(contentsOfFile: dir + "/shim.log", encoding: .utf8)) ?? ""
            throw BerthError(.runtime, "berth-shim exited without starting \(record.name)",
                             hint: log.isEmpty ? "see \(dir)/shim.log" : log.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        LinuxTiming.mark("start: shim reported \(line)")
        let words = line.split(separator: " ")
        if words.count == 3, words[0] == "ok", let pid = Int32(words[1]), let shim = Int32(words[2]) {
            record.phase = .running
            record.pid = pid
            record.pidStartTime = UInt64(berth_proc_start_time(pid))
            record.shimPid = shim
            record.shimStartTime = UInt64(berth_proc_start_time(shim))
            record.startedAt = Self.now()
            record.finishedAt = nil
            record.exitCode = nil
            record.signal = nil
            record.oomKilled = false
            record.error = nil
            records[record.id] = record
            exitReaders[record.id] = reader
            if record.spec.autoRemove == true {
                // A short-lived --rm container may be gone (moved to the trash) already.
                try? Self.save(record, dir: dir)
            } else {
                try Self.save(record, dir: dir)
            }
            return record

        }
        let message = line.hasPrefix("err ") ? String(line.dropFirst(4)) : line
        record.phase = .stopped
        record.error = message
        record.exitCode = 127
        record.finishedAt = Self.now()
        throw BerthError(.runtime, "cannot start container \(record.name): \(message)")
    }

    // MARK: - Stop, kill, wait

    /// Sends SIGTERM, waits up to `grace`, then SIGKILL (which, sent to the
    /// container's PID 1 from outside, ends the whole pid namespace).
    public func stop(_ id: String, grace: Duration = .seconds(10)) async throws {
        guard let record = refresh(id), record.phase == .running, let pid = record.pid else { return }
        Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if refresh(id)?.phase != .running { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        if refresh(id)?.phase == .running, verifiedPid(record) != nil { Glibc.kill(pid, SIGKILL) }
        _ = try await wait(id)
    }

    /// Sends a signal to the container's PID 1, which forwards it to the process.
    public func kill(_ id: String, signal: Int32 = SIGKILL) throws {
        guard let record = refresh(id) else { throw Self.notFound(id) }
        guard record.phase == .running, let pid = verifiedPid(record) else {
            throw BerthError(.conflict, "container \(record.name) is not running")
        }
        Glibc.kill(pid, signal)
    }

    /// Waits until the container has stopped and returns its final record.
    ///
    /// A `--rm` container is gone once it has stopped: the record returned is
    /// the last one, with the exit status from the shim's status line (or,
    /// for a container this process did not start, none).
    public func wait(_ id: String) async throws -> ContainerRecord {
        // A --rm container this process started: its status line has the exit,
        // even when its directory is gone already.
        let known = records[id]
        guard var record = (known?.spec.autoRemove == true && exitReaders[id] != nil) ? known : refresh(id) else {
            throw Self.notFound(id)
        }
        if record.phase != .running { return record }
        if let reader = exitReaders[id] {
            exitReaders[id] = nil
            while let line = await reader.nextLine() {
                guard line.hasPrefix("exit ") else { continue }
                LinuxTiming.mark("wait: \(line)")
                if record.spec.autoRemove == true, let final = Self.exited(record, statusLine: line) {
                    records[id] = nil
                    return final
                }
                break
            }
        }
        while true {
            guard let r = refresh(id) else {
                guard record.spec.autoRemove == true else { throw Self.notFound(id) }
                record.phase = .stopped
                record.finishedAt = Self.now()
                return record
            }
            record = r
            if record.phase != .running { return record }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The record after the shim's "exit <code> <signal> <oom>" line.
    static func exited(_ record: ContainerRecord, statusLine: String) -> ContainerRecord? {
        let words = statusLine.split(separator: " ")
        guard words.count == 4, let code = Int(words[1]), let signal = Int(words[2]), let oom = Int(words[3]) else { return nil }
        var r = record
        r.phase = .stopped
        r.exitCode = code
        r.signal = signal == 0 ? nil : signal
        r.oomKilled = oom != 0
        r.finishedAt = now()
        return r
    }

    // MARK: - Delete

    /// Removes a stopped container (or, with `force`, kills it first): its
    /// cgroups, its directory and its record. The overlay and every other mount
    /// lived in the container's mount namespace and vanished with it.
    public func delete(_ id: String, force: Bool = false) async throws {
        let wasAutoRemove = records[id]?.spec.autoRemove == true
        guard let record = refresh(id) else {
            if wasAutoRemove { return } // its shim removed it just now
            throw Self.notFound(id)
        }
        if record.phase == .running {
            guard force else {
                throw BerthError(.conflict, "container \(record.name) is running",
                                 hint: "stop it first or use `berth rm -f`")
            }
            if let pid = verifiedPid(record) { Glibc.kill(pid, SIGKILL) }
            _ = try await wait(id)
            if record.spec.autoRemove == true { records[id] = nil; return } // the shim removes it
        }
        if let cgroups = records[id]?.cgroups { CgroupManager.remove(cgroups) }
        let dir = Self.directory(dataDir, record)
        // Defensive: a mount left on rootfs (should not happen) must not take host files with it.
        umount2(dir + "/rootfs", Int32(MNT_DETACH))
        berth_remove_tree(dir)
        if record.spec.imageDigest != nil { try? await images?.releaseImage(leaseID: id) }
        records[id] = nil
        exitReaders[id] = nil
        LinuxTiming.mark("delete: done")
    }

    // MARK: - Queries

    public func list() -> [ContainerRecord] {
        records.keys.compactMap { refresh($0) }.filter { !$0.isSandbox }.sorted { $0.createdAt > $1.createdAt }
    }

    public func record(_ id: String) -> ContainerRecord? { refresh(id) }

    /// An exact id, an exact name, or a unique id prefix (Docker's habits).
    public func resolve(_ ref: String) throws -> String {
        if records[ref] != nil { return ref }
        if let byName = records.values.first(where: { $0.name == ref && !$0.isSandbox }) { return byName.id }
        let matches = records.keys.filter { $0.hasPrefix(ref) }
        if matches.count == 1, let only = matches.first { return only }
        if matches.count > 1 { throw BerthError(.invalidArgument, "\(ref) matches \(matches.count) containers; give more of the id") }
        throw Self.notFound(ref)
    }

    /// The container's log lines (CRI format, rotated file first), partial lines joined.
    public func logs(_ id: String, tail: Int? = nil) throws -> [LogLine] {
        guard let record = records[id] else { throw Self.notFound(id) }
        let path = Self.directory(dataDir, record) + "/container.log"
        return CRILog.read(paths: [path + ".1", path], tail: tail)
    }

    // MARK: - Exec

    /// Runs `command` inside a running container: its namespaces, cgroups,
    /// user, capabilities, no_new_privs and seccomp filter.
    /// With `stdio`, output goes to those fds (the CLI's terminal) and stdout/stderr
    /// of the result are empty; otherwise both are captured.
    public func exec(_ id: String, command: [String], timeoutSeconds: Int = 0,
                     stdio: (Int32, Int32, Int32)? = nil) async throws -> ExecResult {
        guard let record = refresh(id), record.phase == .running, let pid = verifiedPid(record) else {
            throw BerthError(.conflict, "container \(id) is not running")
        }
        guard !command.isEmpty else { throw BerthError(.invalidArgument, "exec needs a command") }
        let dir = Self.directory(dataDir, record)
        let seccompPath = try SeccompProfile.programFile(for: record.spec.capabilities, cacheDirectory: dataDir + "/seccomp")
        var config = ShimConfig()
        config.addProcess(spec: record.spec, argv: command, env: record.spec.env, cwd: record.spec.workingDir,
                          seccompPath: seccompPath)
        for ns in ["pid", "ipc", "uts", "net", "mnt"] { config.add(ns + "ns", "/proc/\(pid)/ns/\(ns)") }
        if let cgroups = record.cgroups { config.add("cgroup", cgroups.procsFiles) }
        if timeoutSeconds > 0 { config.add("timeout", String(timeoutSeconds)) }
        let configPath = dir + "/exec-\(Self.newID().prefix(8)).config"
        try config.write(to: configPath)
        defer { unlink(configPath) }
        let shim = shimPath
        if let stdio {
            let shimPid = try ShimProcess.spawn(shim: shim, mode: "exec", config: configPath, statusFD: nil,
                                                attach: nil, stdio: stdio, shimLog: nil)
            let code = await BlockingWork.run { ShimProcess.waitExit(shimPid) }
            return ExecResult(exitCode: Int(code), stdout: "", stderr: "")
        }
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard berth_pipe_cloexec(&outPipe) == 0, berth_pipe_cloexec(&errPipe) == 0 else {
            throw BerthError(.runtime, "pipe: \(String(cString: strerror(errno)))")
        }
        let devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devnull) }
        let shimPid: pid_t
        do {
            shimPid = try ShimProcess.spawn(shim: shim, mode: "exec", config: configPath, statusFD: nil, attach: nil,
                                            stdio: (devnull, outPipe[1], errPipe[1]), shimLog: nil)
        } catch {
            for fd in outPipe + errPipe { close(fd) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        let outFD = outPipe[0], errFD = errPipe[0]
        async let out = BlockingWork.run { Self.readAll(outFD) }
        async let err = BlockingWork.run { Self.readAll(errFD) }
        let code = await BlockingWork.run { ShimProcess.waitExit(shimPid) }
        let (o, e) = await (out, err)
        if timeoutSeconds > 0 && code == 137 {
            throw BerthError(.timeout, "exec in \(record.name) timed out after \(timeoutSeconds)s")
        }
        return ExecResult(exitCode: Int(code), stdout: o, stderr: e)
    }

    static func readAll(_ fd: Int32) -> String {
        defer { close(fd) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(contentsOf: chunk[..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Sandboxes (pods)

    /// Starts a pause process in new net, ipc and uts namespaces (loopback up,
    /// hostname set, no capabilities, seccomp) for pod containers to join.
    public func createSandbox(id: String, hostname: String, labels: [String: String]) async throws -> ContainerRecord {
        if let existing = refresh(id), existing.isSandbox, existing.phase == .running { return existing }
        let spec = ContainerSpec(
            image: "pause", imageDigest: nil, layers: [], argv: ["pause"], env: [], workingDir: "/", uid: 0, gid: 0,
            additionalGids: [], hostname: hostname, readOnlyRootfs: true, capabilities: .none,
            noNewPrivileges: true, mounts: [], limits: ResourceLimits(), labels: labels, sandboxID: nil,
            logMaxBytes: 0)
        var record = ContainerRecord(
            id: id, name: id, createdAt: Self.now(), spec: spec, phase: .created, pid: nil, pidStartTime: nil,
            shimPid: nil, shimStartTime: nil, startedAt: nil, finishedAt: nil, exitCode: nil, signal: nil, oomKilled: false, error: nil, cgroups: nil,
            isSandbox: true)
        let dir = Self.directory(dataDir, record)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let seccompPath = try SeccompProfile.programFile(for: .none, cacheDirectory: dataDir + "/seccomp")
        var config = ShimConfig()
        config.add("hostname", hostname)
        config.add("seccomp", seccompPath)
        config.add("exit", dir + "/exit.json")
        let configPath = dir + "/shim.config"
        try config.write(to: configPath)
        records[id] = record
        do {
            record = try await launch(&record, mode: "pause", configPath: configPath, dir: dir, attach: nil)
        } catch {
            records[id] = nil
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        exitReaders[id] = nil
        return record
    }

    /// Removes a sandbox and every container in it.
    public func deleteSandbox(id: String) async throws {
        for c in records.values where c.spec.sandboxID == id {
            try await delete(c.id, force: true)
        }
        guard let record = refresh(id), record.isSandbox else { return }
        if record.phase == .running, let pid = verifiedPid(record) {
            Glibc.kill(pid, SIGKILL)
            _ = try await wait(id)
        }
        try? FileManager.default.removeItem(atPath: Self.directory(dataDir, record))
        records[id] = nil
    }

    public func sandboxes() -> [ContainerRecord] {
        records.keys.compactMap { refresh($0) }.filter(\.isSandbox)
    }

    // MARK: - State

    /// Re-reads what the shim knows: the exit file, or whether the pid with the
    /// recorded start time is still alive.
    @discardableResult
    private func refresh(_ id: String) -> ContainerRecord? {
        guard let record = records[id] else { return nil }
        guard record.phase == .running else { return record }
        let dir = Self.directory(dataDir, record)
        if record.spec.autoRemove == true, access(dir + "/state.json", F_OK) != 0 {
            // Its shim removed it (`--rm`): gone, as in Docker.
            records[id] = nil
            exitReaders[id] = nil
            return nil
        }
        let updated = Self.refreshed(record, dir: dir)
        if updated != record {
            if updated.phase == .stopped, let cgroups = updated.cgroups, !updated.isSandbox {
                // Counters were read by the shim; the cgroup can go now.
                CgroupManager.remove(cgroups)
            }
            records[id] = updated
            try? Self.save(updated, dir: dir)
        }
        return updated
    }

    static func refreshed(_ record: ContainerRecord, dir: String) -> ContainerRecord {
        guard record.phase == .running else { return record }
        var r = record
        if let data = FileManager.default.contents(atPath: dir + "/exit.json"),
           let exit = try? RuntimeJSON.decode(ShimExit.self, from: data) {
            r.phase = .stopped
            r.exitCode = exit.exitCode
            r.signal = exit.signal == 0 ? nil : exit.signal
            r.oomKilled = exit.oomKilled
            r.finishedAt = exit.finishedAt
            r.error = exit.error
            return r
        }
        if let pid = r.pid, let start = r.pidStartTime, UInt64(berth_proc_start_time(pid)) == start {
            return r
        }
        if let shim = r.shimPid, let start = r.shimStartTime, UInt64(berth_proc_start_time(shim)) == start {
            return r // exited; the monitor is still writing the exit file
        }
        // Neither alive nor an exit file: the shim itself was killed.
        r.phase = .stopped
        r.exitCode = 255
        r.error = "container monitor (berth-shim) disappeared; exit status unknown"
        r.finishedAt = now()
        return r
    }

    /// The pid, only while it still belongs to this container (guards against pid reuse).
    private func verifiedPid(_ record: ContainerRecord) -> Int32? {
        guard let pid = record.pid, let start = record.pidStartTime,
              UInt64(berth_proc_start_time(pid)) == start else { return nil }
        return pid
    }

    static func save(_ record: ContainerRecord, dir: String) throws {
        try writeFile(dir + "/state.json", RuntimeJSON.encodeBytes(record))
    }

    static func notFound(_ ref: String) -> BerthError {
        BerthError(.notFound, "no such container: \(ref)", hint: "`berth ps -a` lists containers")
    }

    static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in padded(g.next() as UInt64, 16, radix: 16) }.joined()
    }

    static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = tm()
        gmtime_r(&t, &tm)
        return padded(tm.tm_year + 1900, 4) + "-" + padded(tm.tm_mon + 1, 2) + "-" + padded(tm.tm_mday, 2) + "T"
            + padded(tm.tm_hour, 2) + ":" + padded(tm.tm_min, 2) + ":" + padded(tm.tm_sec, 2) + "."
            + padded(ts.tv_nsec, 9) + "Z"
    }

    /// `value` in `radix`, zero-padded to `width`: what "%0*d" gives, without
    /// String(format:), whose first use in a process (CVarArg boxing through
    /// Foundation) showed up in every `berth run`'s profile.
    static func padded<T: BinaryInteger>(_ value: T, _ width: Int, radix: Int = 10) -> String {
        let digits = String(value, radix: radix)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
