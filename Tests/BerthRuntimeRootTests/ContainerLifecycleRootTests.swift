import BerthAPI
import BerthRuntime
import Foundation
import Testing

extension RootContainerTests {
@Suite("Container lifecycle (root, real containers)")
struct ContainerLifecycleRootTests {
    func options(_ script: String, _ o: ContainerOptions = ContainerOptions()) -> ContainerOptions {
        var o = o
        o.rootfs = Fixtures.busyboxRootfs
        o.entrypoint = ["/bin/sh", "-c", script]
        return o
    }

    @Test func exitCodesAndLogs() async throws {
        let rt = try TestRuntime("exit")
        let (record, _) = try await rt.sh("echo out; echo err >&2; exit 3")
        #expect(record.exitCode == 3)
        #expect(record.reason == "Error")
        let c = try await rt.manager.create(options("echo one; echo two >&2; printf partial"))
        try await rt.manager.start(c.id)
        let done = try await rt.manager.wait(c.id)
        let logs = try await rt.manager.logs(c.id)
        await rt.close()
        #expect(done.exitCode == 0 && done.reason == "Completed")
        #expect(logs.map(\.text).sorted() == ["one", "partial", "two"])
        #expect(logs.first { $0.text == "two" }?.stream == "stderr")
        #expect(logs.allSatisfy { $0.time.hasSuffix("Z") && $0.time.count == 30 })
    }

    /// The busybox fixture has no /proc, /dev, /sys or /etc/hosts: the init
    /// layer provides them, so a container that only reads writes nothing to
    /// its upper dir (before the init layer: proc, dev, sys and etc/* there).
    @Test func mountPointsComeFromTheInitLayerNotTheUpperDir() async throws {
        let rt = try TestRuntime("initlayer")
        let c = try await rt.manager.create(options("cat /etc/hostname /etc/hosts /etc/resolv.conf >/dev/null && ls /proc/self /sys /dev/null >/dev/null"))
        try await rt.manager.start(c.id)
        let done = try await rt.manager.wait(c.id)
        let upper = (try? FileManager.default.contentsOfDirectory(atPath: "\(rt.dataDir)/containers/\(c.id)/upper")) ?? ["(unreadable)"]
        let layer = (try? FileManager.default.contentsOfDirectory(atPath: rt.dataDir + "/init-layer"))?.sorted()
        await rt.close()
        #expect(done.exitCode == 0)
        #expect(upper.isEmpty)
        #expect(layer == ["dev", "etc", "proc", "sys"])
    }

    @Test func startErrorIsReportedNotExit127() async throws {
        let rt = try TestRuntime("starterr")
        var o = ContainerOptions(rootfs: Fixtures.busyboxRootfs)
        o.entrypoint = ["/no/such/binary"]
        let c = try await rt.manager.create(o)
        let error = await #expect(throws: BerthError.self) { try await rt.manager.start(c.id) }
        await rt.close()
        #expect(error?.message.contains("exec /no/such/binary: No such file or directory") == true)
    }

    @Test func stopWithoutHandlerEndsAtSigterm() async throws {
        let rt = try TestRuntime("stop1")
        let c = try await rt.manager.create(options("sleep 60"))
        try await rt.manager.start(c.id)
        let t0 = ContinuousClock.now
        try await rt.manager.stop(c.id, grace: .seconds(5))
        let elapsed = ContinuousClock.now - t0
        let done = try #require(await rt.manager.record(c.id))
        await rt.close()
        #expect(elapsed < .seconds(2))
        #expect(done.phase == .stopped)
        #expect(done.signal == 15)
    }

    @Test func stopIgnoringSigtermIsKilledAfterGrace() async throws {
        let rt = try TestRuntime("stop2")
        let c = try await rt.manager.create(options("trap '' TERM; sleep 60"))
        try await rt.manager.start(c.id)
        try await Task.sleep(for: .milliseconds(200))
        let t0 = ContinuousClock.now
        try await rt.manager.stop(c.id, grace: .seconds(1))
        let elapsed = ContinuousClock.now - t0
        let done = try #require(await rt.manager.record(c.id))
        await rt.close()
        #expect(elapsed >= .seconds(1))
        #expect(elapsed < .seconds(4))
        #expect(done.exitCode == 137)
    }

    @Test func containerSurvivesManagerAndIsReadopted() async throws {
        let dataDir = Fixtures.tempDir("readopt")
        var first: ContainerManager? = try ContainerManager(dataDir: dataDir)
        let c = try await first!.create(options("echo started; sleep 30"))
        let started = try await first!.start(c.id)
        first = nil // the Berth side is gone; the shim is not
        try await Task.sleep(for: .milliseconds(100))
        let pid = try #require(started.pid)
        #expect(kill(pid, 0) == 0)
        let second = try ContainerManager(dataDir: dataDir)
        let adopted = try #require(await second.record(c.id))
        #expect(adopted.phase == .running)
        #expect(adopted.pid == pid)
        let exec = try await second.exec(c.id, command: ["cat", "/etc/hostname"], timeoutSeconds: 5)
        #expect(exec.stdout == String(c.id.prefix(12)) + "\n")
        try await second.stop(c.id, grace: .seconds(5))
        let done = try #require(await second.record(c.id))
        #expect(done.phase == .stopped && done.signal == 15)
        try await second.delete(c.id)
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    @Test func removeLeavesNoMountsOrCgroups() async throws {
        let rt = try TestRuntime("cleanup")
        let c = try await rt.manager.create(options("sleep 30", ContainerOptions(limits: ResourceLimits(memoryBytes: 64 << 20, pidsLimit: 50))))
        let running = try await rt.manager.start(c.id)
        let cgroups = try #require(running.cgroups)
        #expect(!cgroups.directories.isEmpty)
        for dir in cgroups.directories.values { #expect(FileManager.default.fileExists(atPath: dir)) }
        await #expect(throws: BerthError.self) { try await rt.manager.delete(c.id) }
        try await rt.manager.delete(c.id, force: true)
        for dir in cgroups.directories.values { #expect(!FileManager.default.fileExists(atPath: dir)) }
        #expect(Fixtures.mounts(under: rt.dataDir).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: rt.dataDir + "/containers/" + c.id))
        await rt.close()
    }

    @Test func execJoinsNamespacesWithSameRestrictions() async throws {
        try Probe.install(into: Fixtures.busyboxRootfs) // `probe keyctl` below
        let rt = try TestRuntime("exec")
        let c = try await rt.manager.create(options("echo marker > /tmp/marker; sleep 30", ContainerOptions(hostname: "exechost")))
        try await rt.manager.start(c.id)
        try await Task.sleep(for: .milliseconds(100))
        let r = try await rt.manager.exec(
            c.id, command: ["sh", "-c", "cat /tmp/marker; hostname; grep -E '^(CapEff|Seccomp):' /proc/self/status; probe keyctl; exit 4"],
            timeoutSeconds: 10)
        let timeout = await #expect(throws: BerthError.self) {
            try await rt.manager.exec(c.id, command: ["sleep", "10"], timeoutSeconds: 1)
        }
        await rt.close()
        #expect(r.exitCode == 4)
        #expect(r.stdout == "marker\nexechost\nCapEff:\t00000000a80425fb\nSeccomp:\t2\nEPERM\n")
        #expect(timeout?.code == .timeout)
    }

    @Test func initReapsOrphans() async throws {
        let rt = try TestRuntime("reap")
        // The subshell exits at once, orphaning its sleep onto PID 1, which must reap it.
        let (_, out) = try await rt.sh("(sleep 0.2 &); sleep 0.6; ps -o stat,comm | grep -c '^Z' || true; cat /proc/1/cmdline; echo; ls -l /proc/1/exe 2>&1 | grep -c 'Permission denied'")
        await rt.close()
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.first == "0")
        #expect(lines.dropFirst().first?.replacingOccurrences(of: "\0", with: "") == "berth-init")
        #expect(lines.last == "1") // /proc/1/exe (the host's berth-shim) is not reachable
    }

    @Test func logRotatesAtSizeLimit() async throws {
        let rt = try TestRuntime("rotate")
        var o = options("for i in $(seq 300); do echo line-$i; done")
        o.logMaxBytes = 4000
        let c = try await rt.manager.create(o)
        try await rt.manager.start(c.id)
        _ = try await rt.manager.wait(c.id)
        let path = rt.manager.logPath(id: c.id)
        let rotated = FileManager.default.fileExists(atPath: path + ".1")
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        let lines = try await rt.manager.logs(c.id)
        await rt.close()
        #expect(rotated)
        #expect((size ?? 0) < 4200)
        #expect(lines.last?.text == "line-300")
        #expect(lines.count < 300) // older records were rotated away
    }

    @Test func podContainersShareSandboxNetwork() async throws {
        let rt = try TestRuntime("sandbox")
        let sandbox = try await rt.manager.createSandbox(id: "pod-\(UUID().uuidString.prefix(8))", hostname: "web-0", labels: [:])
        let server = try await rt.manager.create(options("httpd -f -p 127.0.0.1:8081 -h /www", ContainerOptions(sandboxID: sandbox.id)))
        try await rt.manager.start(server.id)
        try await Task.sleep(for: .milliseconds(200))
        let client = try await rt.manager.create(options("hostname; wget -qO- http://127.0.0.1:8081/index.html", ContainerOptions(sandboxID: sandbox.id)))
        try await rt.manager.start(client.id)
        let done = try await rt.manager.wait(client.id)
        let out = try await rt.manager.logs(client.id).map(\.text)
        try await rt.manager.deleteSandbox(id: sandbox.id)
        let left = await rt.manager.list()
        await rt.close()
        #expect(done.exitCode == 0)
        #expect(out == ["web-0", "hello from httpd"])
        #expect(left.isEmpty)
    }
}
}
