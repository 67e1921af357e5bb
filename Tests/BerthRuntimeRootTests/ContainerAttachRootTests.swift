import BerthAPI
import BerthRuntime
import CBerthLinux
import Foundation
import Testing

/// `--rm` (the shim removes the container), `-i` (stdin) and `-t` (a pty),
/// with real containers.
extension RootContainerTests {
@Suite("Container --rm, -i, -t (root, real containers)")
struct ContainerAttachRootTests {
    func options(_ script: String, _ o: ContainerOptions = ContainerOptions()) -> ContainerOptions {
        var o = o
        o.rootfs = Fixtures.busyboxRootfs
        o.entrypoint = ["/bin/sh", "-c", script]
        return o
    }

    /// Reads `fd` until EOF (or EIO, a pty's EOF) on a dispatch thread.
    static func readAll(_ fd: Int32) async -> String {
        await withCheckedContinuation { cont in
            DispatchQueue.global().async {
                var data = [UInt8]()
                var chunk = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    data += chunk[..<n]
                }
                cont.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }

    static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw BerthError(.runtime, "pipe failed") }
        return (fds[0], fds[1])
    }

    @Test func detachedRmRemovesItselfWhenItExits() async throws {
        let rt = try TestRuntime("rm-d")
        var o = options("sleep 0.3; exit 4")
        o.autoRemove = true
        let c = try await rt.manager.create(o)
        let started = try await rt.manager.start(c.id)
        let cgroups = try #require(started.cgroups)
        #expect(await rt.manager.list().contains { $0.id == c.id })
        // No wait(): nobody is attached, as with `berth run -d --rm`.
        let deadline = ContinuousClock.now + .seconds(10)
        while FileManager.default.fileExists(atPath: rt.dataDir + "/containers/" + c.id), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        // The trash entry and the cgroups go right after the directory.
        while FileManager.default.fileExists(atPath: rt.dataDir + "/trash/" + c.id), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let fresh = try ContainerManager(dataDir: rt.dataDir)
        let listedByFresh = await fresh.list().map(\.id)
        let listed = await rt.manager.list().map(\.id)
        let leftCgroups = cgroups.directories.values.filter { FileManager.default.fileExists(atPath: $0) }
        let mounts = Fixtures.mounts(under: rt.dataDir)
        await rt.close()
        #expect(!listedByFresh.contains(c.id))
        #expect(!listed.contains(c.id))
        #expect(leftCgroups.isEmpty)
        #expect(mounts.isEmpty)
    }

    @Test func foregroundRmReportsExitCodeAndIsGone() async throws {
        let rt = try TestRuntime("rm-fg")
        var o = options("echo bye; exit 7")
        o.autoRemove = true
        let c = try await rt.manager.create(o)
        let out = try Self.pipe()
        try await rt.manager.start(c.id, attach: (out.write, out.write))
        close(out.write)
        let done = try await rt.manager.wait(c.id)
        let text = await Self.readAll(out.read)
        close(out.read)
        let stillListed = await rt.manager.list().contains { $0.id == c.id }
        await rt.close()
        #expect(done.exitCode == 7 && done.phase == .stopped)
        #expect(text == "bye\n")
        #expect(!stillListed)
    }

    @Test func interactiveReadsPipedStdin() async throws {
        let rt = try TestRuntime("stdin")
        let c = try await rt.manager.create(options("tr a-z A-Z; echo done"))
        let input = try Self.pipe(), out = try Self.pipe()
        try await rt.manager.start(c.id, attach: (out.write, out.write), stdin: input.read)
        close(input.read)
        close(out.write)
        _ = "hello from stdin\n".withCString { write(input.write, $0, strlen($0)) }
        close(input.write) // EOF ends tr
        let done = try await rt.manager.wait(c.id)
        let text = await Self.readAll(out.read)
        close(out.read)
        await rt.close()
        #expect(done.exitCode == 0)
        #expect(text == "HELLO FROM STDIN\ndone\n")
    }

    @Test func ttyIsAPtyOfTheContainer() async throws {
        let rt = try TestRuntime("tty")
        // The test's own pty stands for the user's terminal.
        var master: Int32 = -1, slave: Int32 = -1
        try #require(berth_openpty(&master, &slave) == 0)
        var o = options("tty; [ -t 0 ] && [ -t 1 ] && echo both-tty; stty size; read line; echo got:$line")
        o.tty = true
        let c = try await rt.manager.create(o)
        try await rt.manager.start(c.id, attach: (slave, slave), stdin: slave, terminalSize: (33, 101))
        _ = "typed\n".withCString { write(master, $0, strlen($0)) }
        let done = try await rt.manager.wait(c.id)
        close(slave)
        let text = await Self.readAll(master)
        close(master)
        let logs = try await rt.manager.logs(c.id).map(\.text).joined(separator: "\n")
        await rt.close()
        #expect(done.exitCode == 0)
        #expect(text.contains("/dev/pts/0"))
        #expect(text.contains("both-tty"))
        #expect(text.contains("33 101"))
        #expect(text.contains("got:typed"))
        #expect(logs.contains("both-tty"))
    }

    /// A resize of the user's terminal reaches the container's pty: `berth
    /// run -t` sends the shim SIGWINCH, and the shim copies the size over.
    @Test func terminalResizeReachesTheContainer() async throws {
        let rt = try TestRuntime("winch")
        var master: Int32 = -1, slave: Int32 = -1
        try #require(berth_openpty(&master, &slave) == 0)
        var o = options("stty size; read line; stty size")
        o.tty = true
        let c = try await rt.manager.create(o)
        let started = try await rt.manager.start(c.id, attach: (slave, slave), stdin: slave, terminalSize: (33, 101))
        let shim = try #require(started.shimPid)
        // What the CLI does on SIGWINCH: the user's terminal has its new size,
        // then the shim is told.
        var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        try #require(ioctl(slave, UInt(TIOCSWINSZ), &size) == 0)
        try await Task.sleep(for: .milliseconds(300))  // the first `stty size` has run
        #expect(kill(shim, SIGWINCH) == 0)
        try await Task.sleep(for: .milliseconds(300))
        _ = "x\n".withCString { write(master, $0, strlen($0)) }
        let done = try await rt.manager.wait(c.id)
        close(slave)
        let text = await Self.readAll(master)
        close(master)
        await rt.close()
        #expect(done.exitCode == 0)
        #expect(text.contains("33 101"), "first size: \(text)")
        #expect(text.contains("40 120"), "size after the resize: \(text)")
    }
}
}
