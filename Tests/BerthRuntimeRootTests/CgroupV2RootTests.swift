import BerthAPI
import BerthRuntime
import Foundation
import Testing

/// The cgroup v2 path with a real container, on the cgroup2 hierarchy this
/// "hybrid" host mounts at /sys/fs/cgroup/unified. Only controllers not
/// bound to v1 are available there (here: hugetlb), so limits cannot be
/// tested for real on this machine; the unified cgroup itself, joining it
/// and the BPF device program can, and the v1 devices cgroup is not used
/// at all on this path, so a denied device proves the BPF program works.
extension RootContainerTests {
@Suite("cgroup v2 (root, real container on the unified hierarchy)",
       .enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs")))
struct CgroupV2RootTests {
    static let unified = "/sys/fs/cgroup/unified"

    @Test func containerRunsInV2CgroupWithDeviceProgram() async throws {
        let root = Self.unified + "/berth-test-\(UUID().uuidString.prefix(8))"
        try #require(mkdir(root, 0o755) == 0)
        defer {
            rmdir(root + "/berth")
            rmdir(root)
        }
        let dataDir = Fixtures.tempDir("cgv2")
        let manager = try ContainerManager(dataDir: dataDir, cgroupV2Root: root)
        var o = ContainerOptions(rootfs: Fixtures.busyboxRootfs)
        o.entrypoint = ["/bin/sh", "-c", """
            grep '^0::' /proc/self/cgroup
            echo x > /dev/null && echo null-ok
            mknod /tmp/tun c 10 200 && echo mknod-ok
            (: <> /tmp/tun) 2>/tmp/err && echo tun-opened; echo "tun: $(cat /tmp/err)"
            mknod /tmp/loop b 7 0 2>&1 || echo block-mknod-denied
            """]
        let c = try await manager.create(o)
        let started = try await manager.start(c.id)
        let done = try await manager.wait(c.id)
        let text = try await manager.logs(c.id).map(\.text).joined(separator: "\n")
        let dir = started.cgroups?.directories["unified"]
        try await manager.delete(c.id)
        try? FileManager.default.removeItem(atPath: dataDir)
        #expect(started.cgroups?.version == 2)
        #expect(dir == root + "/berth/" + c.id)
        #expect(done.exitCode == 0)
        #expect(text.contains("0::/" + root.dropFirst(Self.unified.count + 1) + "/berth/" + c.id))
        #expect(text.contains("null-ok"))
        #expect(text.contains("mknod-ok"))
        #expect(text.contains("Operation not permitted"))
        // Root may open a tun node anywhere (a host shell can); only the device program says no.
        #expect(!text.contains("tun-opened"))
        #expect(text.contains("block-mknod-denied"))
        #expect(dir.map { !FileManager.default.fileExists(atPath: $0) } == true)
    }

    @Test func limitWithoutItsControllerSaysWhich() async throws {
        let root = Self.unified + "/berth-test-\(UUID().uuidString.prefix(8))"
        try #require(mkdir(root, 0o755) == 0)
        defer {
            rmdir(root + "/berth")
            rmdir(root)
        }
        // pids is bound to v1 on this host, so v2 has no pids.max.
        let controllers = (try? String(contentsOfFile: Self.unified + "/cgroup.controllers", encoding: .utf8)) ?? ""
        if controllers.contains("pids") { return }
        let error = #expect(throws: BerthError.self) {
            _ = try CgroupManager.create(name: "nolimit", limits: ResourceLimits(pidsLimit: 10), unifiedRoot: root)
        }
        #expect(error?.message.contains("controller pids is not enabled") == true)
        #expect(!FileManager.default.fileExists(atPath: root + "/berth/nolimit"))
    }
}
}
