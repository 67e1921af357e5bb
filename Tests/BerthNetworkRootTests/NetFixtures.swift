import BerthAPI
import BerthRuntime
import Foundation
import Testing

/// Every network root test: one serialized tree (bridges, nftables, ports are machine-global).
@Suite(.serialized, .enabled(if: getuid() == 0)) enum NetworkRootTests {}

/// A busybox rootfs (as the container tests build theirs) and shell helpers.
enum NetFixtures {
    static let busyboxRootfs: String = {
        let dir = NSTemporaryDirectory() + "berth-net-busybox-\(getpid())"
        let fm = FileManager.default
        try? fm.removeItem(atPath: dir)
        for sub in ["bin", "etc", "tmp", "root", "www"] {
            try? fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        chmod(dir + "/tmp", 0o1777)
        try? fm.copyItem(atPath: "/bin/busybox", toPath: dir + "/bin/busybox")
        let list = (try? run("/bin/busybox", ["--list"])) ?? ""
        for applet in list.split(separator: "\n") where applet != "busybox" {
            try? fm.createSymbolicLink(atPath: dir + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try? "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
            .write(toFile: dir + "/etc/passwd", atomically: true, encoding: .utf8)
        try? "root:x:0:\nnobody:x:65534:\n".write(toFile: dir + "/etc/group", atomically: true, encoding: .utf8)
        return dir
    }()

    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `busybox wget` from the node (host network namespace). Not `-T`: Debian's busybox 1.35 wget segfaults with it.
    static func nodeGet(_ url: String) -> String {
        ((try? run("/usr/bin/timeout", ["5", "/bin/busybox", "wget", "-q", "-O", "-", url])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func ip(_ args: [String]) -> String { (try? run("/usr/sbin/ip", args)) ?? (try? run("/sbin/ip", args)) ?? "" }
    static func nftTables() -> String { (try? run("/usr/sbin/nft", ["list", "tables"])) ?? "" }
}

/// One test's own pod network: unique bridge, CIDRs, tables and data dir, all removed by `close()`.
final class NetTestEnv: @unchecked Sendable {
    let n: Int
    let dataDir: String
    let config: NetworkConfig
    let manager: ContainerManager
    let network: NetworkManager
    let proxy: ServiceProxy
    let dns = DNSServer()

    init(_ name: String) throws {
        n = Int.random(in: 1...250)
        dataDir = NSTemporaryDirectory() + "berth-net-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        config = NetworkConfig(bridgeName: "bertht\(n)", podCIDR: try IPv4CIDR("10.213.\(n).0/24"),
                               serviceCIDR: try IPv4CIDR("10.214.\(n).0/24"), dataDir: dataDir,
                               tablePrefix: "bertht\(n)", nodePortRange: 30000...32767)
        manager = try ContainerManager(dataDir: dataDir)
        network = try NetworkManager(config: config)
        proxy = try ServiceProxy(config: config)
    }

    func start() async throws {
        try await network.start(liveSandboxes: [])
    }

    /// A sandbox with a network and, if `serve` is set, a busybox httpd on 8080 answering `serve`.
    func pod(_ name: String, namespace: String = "default", serve: String? = nil,
             portMappings: [PortMapping] = []) async throws -> (id: String, ip: String) {
        let id = "\(name)-\(UUID().uuidString.prefix(8))"
        let sandbox = try await manager.createSandbox(id: id, hostname: name, labels: [:])
        let pid = try #require(sandbox.pid)
        let att = try await network.attach(sandboxID: id, namespace: namespace, netnsPath: "/proc/\(pid)/ns/net",
                                           portMappings: portMappings)
        if let serve {
            var o = ContainerOptions(rootfs: NetFixtures.busyboxRootfs)
            o.sandboxID = id
            o.entrypoint = ["/bin/sh", "-c", "mkdir -p /tmp/www && echo \(serve) > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
            let c = try await manager.create(o)
            try await manager.start(c.id)
            // Wait until it listens.
            for _ in 0..<50 where NetFixtures.nodeGet("http://\(att.ip):8080/").isEmpty {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return (id, att.ip.description)
    }

    /// Runs `sh -c script` in a new container of sandbox `id` and returns its output.
    func sh(in id: String, _ script: String, namespace: String = "default") async throws -> String {
        var o = ContainerOptions(rootfs: NetFixtures.busyboxRootfs)
        o.sandboxID = id
        o.entrypoint = ["/bin/sh", "-c", script]
        o.dns = config.dnsConfig(namespace: namespace)
        let c = try await manager.create(o)
        try await manager.start(c.id)
        _ = try await manager.wait(c.id)
        let text = try await manager.logs(c.id).map(\.text).joined(separator: "\n")
        try await manager.delete(c.id)
        return text
    }

    func removePod(_ id: String) async throws {
        try await manager.deleteSandbox(id: id)
        try await network.detach(sandboxID: id)
    }

    func close() async {
        await dns.stop()
        for c in await manager.list() { try? await manager.delete(c.id, force: true) }
        for s in await manager.sandboxes() {
            try? await manager.deleteSandbox(id: s.id)
            try? await network.detach(sandboxID: s.id)
        }
        try? await proxy.teardown(removeState: true)
        try? await network.teardown(removeState: true)
        try? FileManager.default.removeItem(atPath: dataDir)
    }
}
