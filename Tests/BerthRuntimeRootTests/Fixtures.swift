import BerthAPI
import BerthRuntime
import Foundation
import Testing

/// Every root test: one serialized tree, since containers share cgroups, memory and CPUs.
@Suite(.serialized, .enabled(if: Fixtures.isRoot)) enum RootContainerTests {}

/// Real fixtures for the root tests: a busybox root filesystem (Debian's
/// busybox-static, applet symlinks, passwd with root, nobody and app) and a
/// fresh data directory per test.
enum Fixtures {
    static let isRoot = getuid() == 0

    /// Built once per test process.
    static let busyboxRootfs: String = {
        let dir = NSTemporaryDirectory() + "berth-busybox-\(getpid())"
        try? buildBusyboxRootfs(at: dir)
        return dir
    }()

    static func buildBusyboxRootfs(at dir: String) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: dir)
        for sub in ["bin", "etc", "tmp", "root", "home/app", "www"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        chmod(dir + "/tmp", 0o1777)
        try fm.copyItem(atPath: "/bin/busybox", toPath: dir + "/bin/busybox")
        let list = try run("/bin/busybox", ["--list"])
        for applet in list.split(separator: "\n") where applet != "busybox" {
            try? fm.createSymbolicLink(atPath: dir + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n"
            .write(toFile: dir + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nnobody:x:65534:\napp:x:1000:\nstaff:x:50:app\n"
            .write(toFile: dir + "/etc/group", atomically: true, encoding: .utf8)
        chown(dir + "/home/app", 1000, 1000)
        try "hello from httpd\n".write(toFile: dir + "/www/index.html", atomically: true, encoding: .utf8)
    }

    static func tempDir(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "berth-\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Mount points under `dir` in this (host) mount namespace.
    static func mounts(under dir: String) -> [String] {
        let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            return f.count > 4 && f[4].hasPrefix(dir) ? String(f[4]) : nil
        }
    }
}

/// A manager on a fresh data dir that kills and removes everything on `close`.
struct TestRuntime {
    let dataDir: String
    let manager: ContainerManager

    init(_ name: String) throws {
        dataDir = Fixtures.tempDir(name)
        manager = try ContainerManager(dataDir: dataDir)
    }

    func close() async {
        for record in await manager.list() { try? await manager.delete(record.id, force: true) }
        for sandbox in await manager.sandboxes() { try? await manager.deleteSandbox(id: sandbox.id) }
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    /// Runs `sh -c script` to completion and returns (record, stdout+stderr text).
    func sh(_ script: String, options: ContainerOptions = ContainerOptions()) async throws -> (ContainerRecord, String) {
        var o = options
        o.rootfs = o.rootfs ?? Fixtures.busyboxRootfs
        o.entrypoint = ["/bin/sh", "-c", script]
        let record = try await manager.create(o)
        try await manager.start(record.id)
        let done = try await manager.wait(record.id)
        let text = try await manager.logs(record.id).map(\.text).joined(separator: "\n")
        try await manager.delete(record.id)
        return (done, text)
    }
}
