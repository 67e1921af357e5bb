import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// Pure logic of the container side (no root needed); the real counterparts
/// are exercised by BerthRuntimeRootTests.
@Suite("Container pure logic")
struct ContainerUnitTests {
    @Test func dockerDefaultCapabilities() throws {
        #expect(CapabilitySet.dockerDefault.mask == 0xa804_25fb)
        #expect(CapabilitySet.dockerDefault.names.count == 14)
        let noChown = try CapabilitySet.resolve(add: [], drop: ["cap_chown"])
        #expect(noChown.mask == 0xa804_25fa)
        let admin = try CapabilitySet.resolve(add: ["SYS_ADMIN"], drop: [])
        #expect(admin.contains("CAP_SYS_ADMIN") && admin.contains("KILL"))
        #expect(try CapabilitySet.resolve(add: [], drop: ["ALL"]).mask == 0)
        #expect(try CapabilitySet.resolve(add: ["NET_ADMIN"], drop: ["ALL"]).names == ["CAP_NET_ADMIN"])
        #expect(throws: BerthError.self) { try CapabilitySet.resolve(add: ["FLY"], drop: []) }
    }

    @Test func seccompProgramsDifferBySysAdmin() throws {
        let base = try SeccompProfile.bpf(for: .dockerDefault)
        let admin = try SeccompProfile.bpf(for: try CapabilitySet.resolve(add: ["SYS_ADMIN"], drop: []))
        #expect(base.count % 8 == 0 && base.count > 800)
        #expect(base != admin)
        #expect(try SeccompProfile.bpf(for: .dockerDefault) == base) // cached
    }

    @Test func criLogJoinsPartialsAndTails() throws {
        let dir = NSTemporaryDirectory() + "berth-cri-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "2025-01-01T00:00:00.000000000Z stdout F old\n".write(toFile: dir + "/l.1", atomically: true, encoding: .utf8)
        try """
        2025-01-01T00:00:01.000000000Z stdout P hel
        2025-01-01T00:00:01.100000000Z stderr F oops
        2025-01-01T00:00:01.200000000Z stdout F lo world
        2025-01-01T00:00:02.000000000Z stdout F\u{20}

        """.write(toFile: dir + "/l", atomically: true, encoding: .utf8)
        let lines = CRILog.read(paths: [dir + "/l.1", dir + "/l"])
        #expect(lines.map(\.text) == ["old", "oops", "hello world", ""])
        #expect(lines[1].stream == "stderr")
        #expect(CRILog.read(paths: [dir + "/l.1", dir + "/l"], tail: 2).map(\.text) == ["hello world", ""])
    }

    @Test func idsAndTimestampsKeepTheirFormat() throws {
        #expect(ContainerManager.padded(5, 3) == "005")
        #expect(ContainerManager.padded(255, 4, radix: 16) == "00ff")
        #expect(ContainerManager.padded(12345, 3) == "12345")
        #expect(ContainerManager.padded(UInt64.max, 16, radix: 16) == "ffffffffffffffff")
        let id = ContainerManager.newID()
        #expect(id.count == 64 && id.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(ContainerManager.newID() != id)
        let stamp = ContainerManager.now()
        #expect(stamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z/) != nil)
        let parsed = try #require(ISO8601DateFormatter().date(from: String(stamp.prefix(19)) + "Z"))
        #expect(abs(parsed.timeIntervalSinceNow) < 60)
    }

    @Test func envMergeKeepsOrderAndOverrides() {
        let merged = ContainerManager.mergeEnv(["PATH=/bin", "A=1", "B=2"], ["A": "x", "C": "3"])
        #expect(merged == ["PATH=/bin", "A=x", "B=2", "C=3"])
    }

    @Test func usersComeFromTheImagePasswdNotTheHost() throws {
        let root = NSTemporaryDirectory() + "berth-passwd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "root:x:0:0::/root:/bin/sh\nweb:x:33:44::/srv:/bin/sh\n".write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nwww:x:44:\nextra:x:70:web,other\n".write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
        #expect(try LinuxUser.resolve("web", layers: [root]) == LinuxUser(uid: 33, gid: 44, additionalGids: [70], home: "/srv"))
        #expect(try LinuxUser.resolve("web:root", layers: [root]).gid == 0)
        #expect(try LinuxUser.resolve("1234:5", layers: [root]) == LinuxUser(uid: 1234, gid: 5, additionalGids: [], home: "/"))
        #expect(try LinuxUser.resolve(nil, layers: [root]).uid == 0)
        #expect(throws: BerthError.self) { try LinuxUser.resolve("daemon", layers: [root]) }
    }

    /// The v2 limit files, written into a plain directory standing in for a
    /// cgroup (no v2 controllers are free on this v1 "hybrid" test host).
    @Test func cgroupV2LimitFiles() throws {
        let dir = NSTemporaryDirectory() + "berth-cgv2-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max"] {
            FileManager.default.createFile(atPath: dir + "/" + f, contents: Data())
        }
        try CgroupManager.applyV2(dir, ResourceLimits(memoryBytes: 64 << 20, cpuMillis: 500, cpuRequestMillis: 250, pidsLimit: 32))
        func read(_ f: String) throws -> String { try String(contentsOfFile: dir + "/" + f, encoding: .utf8) }
        #expect(try read("memory.max") == "67108864")
        #expect(try read("memory.swap.max") == "0")
        #expect(try read("cpu.max") == "50000 100000")
        #expect(try read("cpu.weight") == "10") // 250m → 256 shares → weight 10, as Kubernetes maps it
        #expect(try read("pids.max") == "32")
        try FileManager.default.removeItem(atPath: dir + "/pids.max")
        let error = #expect(throws: BerthError.self) { try CgroupManager.applyV2(dir, ResourceLimits(pidsLimit: 1)) }
        #expect(error?.message.contains("controller pids is not enabled") == true)
    }

    @Test func deviceRulesForTheBPFProgram() throws {
        let rule = try CgroupManager.deviceRule("c 1:3 rwm")
        #expect(rule.type == CChar(UInt8(ascii: "c")) && rule.major == 1 && rule.minor == 3 && rule.access == 7)
        let wildcard = try CgroupManager.deviceRule("c *:* m")
        #expect(wildcard.major == -1 && wildcard.minor == -1 && wildcard.access == 1)
        #expect(try CgroupManager.deviceRule("c 136:* rw").access == 6)
        #expect(throws: BerthError.self) { try CgroupManager.deviceRule("x 1:3 rwm") }
        #expect(throws: BerthError.self) { try CgroupManager.deviceRule("c 1:3 rwz") }
        #expect(CgroupManager.deviceAllowList.allSatisfy { (try? CgroupManager.deviceRule($0)) != nil })
    }
}
