import BerthAPI
import BerthRuntime
import Foundation
import Testing

extension RootContainerTests {
/// The NodeRuntime seam against real images, pods and containers.
@Suite("LinuxNodeRuntime (root, real image and pod)")
struct LinuxNodeRuntimeRootTests {
    @Test func podLifecycleFromImportedImage() async throws {
        let dataDir = Fixtures.tempDir("node")
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let node = try LinuxNodeRuntime(dataDir: dataDir)
        _ = try await node.images.importImage(
            from: Fixtures.busyboxRootfs,
            options: ImageImportOptions(tag: "busybox:test", cmd: ["sh"], env: ["FROM_IMAGE=1", "PATH=/bin"], user: "app"))
        let summary = try await node.ensureImage("busybox:test", pullPolicy: "IfNotPresent")
        #expect(summary.digest.hasPrefix("sha256:"))
        await #expect(throws: BerthError.self) { try await node.ensureImage("nothere:1", pullPolicy: "Never") }

        let podConfig = SandboxConfig(
            podUID: "uid-1", podName: "web-0", namespace: "default", hostname: "web-0", extraHosts: ["db": "127.0.0.9"])
        let sandbox = try await node.runSandbox(podConfig)
        #expect(sandbox.ready)
        let again = try await node.runSandbox(podConfig)
        #expect(again.id == sandbox.id) // idempotent per pod uid

        let id = try await node.createContainer(sandboxID: sandbox.id, config: ContainerConfig(
            name: "app", image: "busybox:test", command: ["sh", "-c"],
            args: ["echo $FROM_IMAGE $MODE; id -u; hostname; grep db /etc/hosts; httpd -f -p 127.0.0.1:8082 -h /www"],
            env: ["MODE": "test"], limits: ResourceLimits(memoryBytes: 64 << 20, pidsLimit: 64)))
        try await node.startContainer(id: id)
        try await Task.sleep(for: .milliseconds(300))
        let running = try await node.containerStatus(id: id)
        #expect(running.state == .running)
        #expect(running.name == "app")
        #expect(running.imageDigest == summary.digest)
        let probe = try await node.exec(containerID: id, command: ["wget", "-qO-", "http://127.0.0.1:8082/index.html"], timeoutSeconds: 5)
        #expect(probe.exitCode == 0)
        #expect(probe.stdout == "hello from httpd\n")
        let logs = try await node.readLog(containerID: id, tailLines: nil).map(\.text)
        #expect(logs == ["1 test", "1000", "web-0", "127.0.0.9\tdb"])

        try await node.stopContainer(id: id, gracePeriod: 2)
        let stopped = try await node.containerStatus(id: id)
        #expect(stopped.state == .exited)
        #expect(stopped.exitCode == 143)
        #expect(try await node.listContainers().map(\.id) == [id])
        try await node.removeSandbox(id: sandbox.id)
        #expect(try await node.listContainers().isEmpty)
        #expect(try await node.listSandboxes().isEmpty)
        #expect(Fixtures.mounts(under: dataDir).isEmpty)
    }
}
}
