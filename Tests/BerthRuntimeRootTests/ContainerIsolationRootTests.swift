import BerthAPI
import BerthRuntime
import Foundation
import Testing

/// Real containers, as root: every forbidden thing must fail inside, every
/// ordinary thing must work.
extension RootContainerTests {
@Suite("Container isolation (root, real containers)")
struct ContainerIsolationRootTests {
    init() throws { try Probe.install(into: Fixtures.busyboxRootfs) }

    // MARK: - Must fail inside

    @Test func keyringSyscallsAreDenied() async throws {
        let rt = try TestRuntime("keyctl")
        let (_, out) = try await rt.sh("probe keyctl; probe add_key; probe bpf; probe userfaultfd")
        await rt.close()
        #expect(out == "EPERM\nEPERM\nEPERM\nEPERM")
    }

    @Test func mountAndNamespaceCreationAreDenied() async throws {
        let rt = try TestRuntime("mount")
        let (_, out) = try await rt.sh(
            "mkdir -p /mnt; probe mount; probe unshare-user; probe unshare-mnt; probe clone-newns; probe fork;"
                + " mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED; unshare -m true 2>/dev/null && echo UNSHARED; true")
        await rt.close()
        #expect(out == "EPERM\nEPERM\nEPERM\nEPERM\nok")
    }

    @Test func addingSysAdminAllowsMount() async throws {
        // The control experiment: the same probe works when CAP_SYS_ADMIN is added.
        let rt = try TestRuntime("sysadmin")
        let (_, out) = try await rt.sh("mkdir -p /mnt; probe mount", options: ContainerOptions(capAdd: ["SYS_ADMIN"]))
        await rt.close()
        #expect(out == "ok")
    }

    @Test func procKcoreIsMaskedAndProcSysReadOnly() async throws {
        // This kernel may lack /proc/kcore; /proc/keys and /proc/timer_list exist and must read empty.
        let rt = try TestRuntime("proc")
        let (_, out) = try await rt.sh(
            "cat /proc/kcore 2>/dev/null | wc -c; wc -c < /proc/keys; wc -c < /proc/timer_list; ls /proc/acpi 2>/dev/null | wc -l;"
                + " echo 1 2>/dev/null > /proc/sys/vm/drop_caches || echo ROFS; touch /sys/x 2>/dev/null || echo ROSYS;"
                + " grep -E ' /proc/(sys|keys) ' /proc/self/mounts | cut -d' ' -f2,4 | cut -d, -f1")
        await rt.close()
        #expect(out == "0\n0\n0\n0\nROFS\nROSYS\n/proc/keys rw\n/proc/sys ro")
        let hostKeys = try String(contentsOfFile: "/proc/keys", encoding: .utf8)
        #expect(!hostKeys.isEmpty) // so the empty read inside is the mask, not the kernel
    }

    @Test func hostPidsAreInvisible() async throws {
        let rt = try TestRuntime("pids")
        let me = getpid()
        let (_, out) = try await rt.sh("test -e /proc/\(me) && echo SEEN; ls /proc | grep -c '^[0-9]'")
        await rt.close()
        let count = try #require(Int(out))
        #expect(count <= 4) // init, sh, ls, grep
        #expect(!out.contains("SEEN"))
    }

    @Test func droppedCapabilityIsGone() async throws {
        let rt = try TestRuntime("capdrop")
        let (_, out) = try await rt.sh(
            "touch /tmp/f; chown 1000 /tmp/f && echo CHOWNED; grep CapEff /proc/self/status",
            options: ContainerOptions(capDrop: ["CHOWN"]))
        await rt.close()
        #expect(!out.contains("CHOWNED"))
        #expect(out.contains("CapEff:\t00000000a80425fa"))
    }

    @Test func mknodOfBlockDeviceFails() async throws {
        let rt = try TestRuntime("mknod")
        let (_, out) = try await rt.sh("mknod /tmp/sda b 8 0 2>/dev/null && echo MADE; mknod /tmp/null2 c 1 3 && echo CHAR")
        await rt.close()
        #expect(out == "CHAR")
    }

    @Test func exceedingMemoryLimitIsOOMKilled() async throws {
        let rt = try TestRuntime("oom")
        let (record, _) = try await rt.sh("probe hog", options: ContainerOptions(limits: ResourceLimits(memoryBytes: 32 << 20)))
        await rt.close()
        #expect(record.oomKilled)
        #expect(record.reason == "OOMKilled")
        #expect(record.exitCode == 137)
    }

    @Test func forkBombStopsAtPidsLimit() async throws {
        let rt = try TestRuntime("forkbomb")
        // Bounded: at most 60 sleepers, each gone after 3 s.
        let (_, out) = try await rt.sh(
            // Only builtins after the loop: at the limit even `ls` could not fork.
            "(for i in $(seq 60); do sleep 3 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#",
            options: ContainerOptions(limits: ResourceLimits(pidsLimit: 20)))
        await rt.close()
        let live = try #require(Int(out.split(separator: "\n").last ?? ""))
        #expect(live <= 20)
        #expect(live >= 10)
    }

    // MARK: - Must work inside

    @Test func loopbackNetworkingWorks() async throws {
        let rt = try TestRuntime("loopback")
        let (_, out) = try await rt.sh(
            "httpd -p 127.0.0.1:8080 -h /www && wget -qO- http://127.0.0.1:8080/index.html")
        await rt.close()
        #expect(out == "hello from httpd")
    }

    @Test func ordinaryThingsWork() async throws {
        let rt = try TestRuntime("ordinary")
        let (record, out) = try await rt.sh(
            "echo x > /dev/null && echo null-ok; echo t > /tmp/t && cat /tmp/t; hostname; cat /etc/hostname;"
                + " grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status",
            options: ContainerOptions(hostname: "box1"))
        await rt.close()
        #expect(record.exitCode == 0)
        #expect(out == "null-ok\nt\nbox1\nbox1\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2")
    }

    @Test func runsAsNonRootUserFromImagePasswd() async throws {
        let rt = try TestRuntime("user")
        let (_, out) = try await rt.sh("id -u; id -g; id -G; echo $HOME; grep CapEff /proc/self/status; touch /root/x 2>/dev/null || echo DENIED",
                                       options: ContainerOptions(user: "app"))
        await rt.close()
        #expect(out == "1000\n1000\n1000 50\n/home/app\nCapEff:\t0000000000000000\nDENIED")
    }

    @Test func readOnlyRootfs() async throws {
        let rt = try TestRuntime("readonly")
        let (_, out) = try await rt.sh("touch /x 2>/dev/null || echo RO; echo y > /dev/shm/y && echo SHM",
                                       options: ContainerOptions(readOnlyRootfs: true))
        await rt.close()
        #expect(out == "RO\nSHM")
    }
}
}
