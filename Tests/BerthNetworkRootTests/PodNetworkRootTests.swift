import BerthAPI
import BerthRuntime
import Foundation
import Testing

extension NetworkRootTests {
@Suite("Pod network (root, real bridge/veth/netns)")
struct PodNetworkRootTests {
    @Test func twoPodsTalkAndNodeReachesPod() async throws {
        let env = try NetTestEnv("talk")
        do {
            try await env.start()
            let server = try await env.pod("server", serve: "hello-from-server")
            let client = try await env.pod("client")
            #expect(server.ip != client.ip)
            #expect(try IPv4CIDR("10.213.\(env.n).0/24").contains(#require(IPv4Address(server.ip))))
            let out = try await env.sh(in: client.id, "timeout 5 wget -q -O - http://\(server.ip):8080/")
            #expect(out.contains("hello-from-server"))
            // Default route via the bridge inside the pod.
            let route = try await env.sh(in: client.id, "ip route")
            #expect(route.contains("default via \(env.config.gateway)"))
            // Node → pod.
            #expect(NetFixtures.nodeGet("http://\(server.ip):8080/") == "hello-from-server")
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    @Test func nothingLeftOverAfterDelete() async throws {
        let env = try NetTestEnv("cleanup")
        var veth = ""
        var pausePid: Int32 = 0
        do {
            try await env.start()
            let pod = try await env.pod("gone", serve: "x", portMappings: [PortMapping(containerPort: 8080, hostPort: 38000 + env.n)])
            veth = NetworkManager.vethName(bridge: env.config.bridgeName, sandboxID: pod.id)
            pausePid = try #require(await env.manager.record(pod.id)?.pid)
            #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)"))
            #expect(NetFixtures.nodeGet("http://127.0.0.1:\(38000 + env.n)/") == "x")
            try await env.proxy.setServices([ServiceEntry(namespace: "default", name: "s", clusterIP: "10.214.\(env.n).10",
                                                          ports: [ServicePortSpec(port: 80, targetPort: 8080)],
                                                          endpoints: [ServiceEndpoint(ip: pod.ip)])])
            try await env.removePod(pod.id)
            #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)"))
            #expect(try await env.network.allocations().isEmpty)
            #expect(NetFixtures.nodeGet("http://127.0.0.1:\(38000 + env.n)/").isEmpty)
            let rules = (try? NetFixtures.run("/usr/sbin/nft", ["list", "table", "ip", env.config.networkTable])) ?? ""
            #expect(rules.contains("hostports") && !rules.contains(pod.ip))
        } catch {
            await env.close()
            throw error
        }
        await env.close()
        // Everything machine-global is gone.
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(env.config.bridgeName)"))
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)"))
        let tables = NetFixtures.nftTables()
        #expect(!tables.contains("bertht\(env.n)\n") && !tables.contains("bertht\(env.n)-svc"))
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pausePid)/ns/net"))
        #expect(!NetFixtures.ip(["route"]).contains("10.214.\(env.n).0"))
        #expect(!FileManager.default.fileExists(atPath: env.dataDir))
    }

    @Test func ipamPersistsAcrossReopen() async throws {
        let env = try NetTestEnv("reopen")
        do {
            try await env.start()
            let a = try await env.pod("a", serve: "still-here")
            let b = try await env.pod("b")
            // A new manager (a restarted Berth) over the same data dir keeps the addresses of live sandboxes.
            let reopened = try NetworkManager(config: env.config)
            let removed = try await reopened.start(liveSandboxes: [a.id, b.id])
            #expect(removed.isEmpty)
            #expect(try await reopened.address(sandboxID: a.id)?.description == a.ip)
            #expect(try await reopened.address(sandboxID: b.id)?.description == b.ip)
            // A third pod gets a fresh address, not one in use.
            let c = try await env.pod("c")
            #expect(![a.ip, b.ip].contains(c.ip))
            #expect(NetFixtures.nodeGet("http://\(a.ip):8080/") == "still-here")
            // The raw allocator too: a second instance on the same file sees the first one's allocations.
            let path = env.dataDir + "/ipam-unit.json"
            let one = try IPAM(path: path, cidr: try IPv4CIDR("10.1.0.0/29"), reserved: 1)
            let x = try one.allocate(owner: "x")
            let two = try IPAM(path: path, cidr: try IPv4CIDR("10.1.0.0/29"), reserved: 1)
            let y = try two.allocate(owner: "y")
            #expect(x.value != y.value)
            #expect(try two.allocate(owner: "x").value == x.value)
            try two.release(owner: "x")
            #expect(try one.allocations().map(\.owner) == ["y"])
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    @Test func overlappingCIDRIsRefusedNamingTheRoute() async throws {
        let n = Int.random(in: 1...250)
        let dummy = "berthd\(n)"
        // A bridge stands in for any interface (this kernel has no dummy driver).
        _ = NetFixtures.ip(["link", "add", dummy, "type", "bridge"])
        _ = NetFixtures.ip(["addr", "add", "10.215.\(n).1/24", "dev", dummy])
        _ = NetFixtures.ip(["link", "set", dummy, "up"])
        defer { _ = NetFixtures.ip(["link", "del", dummy]) }
        let dir = NSTemporaryDirectory() + "berth-net-overlap-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = NetworkConfig(bridgeName: "bertht\(n)", podCIDR: try IPv4CIDR("10.215.\(n).0/25"),
                                   serviceCIDR: try IPv4CIDR("10.216.\(n).0/24"), dataDir: dir, tablePrefix: "bertht\(n)")
        let network = try NetworkManager(config: config)
        #expect(NetFixtures.ip(["route"]).contains("10.215.\(n).0/24 dev \(dummy)"))
        let error = await #expect(throws: BerthError.self) { try await network.start(liveSandboxes: []) }
        #expect(error?.message.contains("10.215.\(n).0/24 dev \(dummy)") == true)
        let leaked = FileManager.default.fileExists(atPath: "/sys/class/net/bertht\(n)")
        if leaked { try? await network.teardown(removeState: true) }
        #expect(!leaked)
        // And pod vs service CIDR.
        let both = NetworkConfig(bridgeName: "bertht\(n)", podCIDR: try IPv4CIDR("10.217.0.0/16"),
                                 serviceCIDR: try IPv4CIDR("10.217.\(n).0/24"), dataDir: dir)
        await #expect(throws: BerthError.self) { try await NetworkManager(config: both).start(liveSandboxes: []) }
    }

    @Test func leftoversAreCollectedOnStart() async throws {
        let env = try NetTestEnv("leftover")
        do {
            try await env.start()
            let crashed = try await env.pod("crashed")
            let alive = try await env.pod("alive", serve: "alive")
            // A crash: the sandbox goes, the network is never told.
            try await env.manager.deleteSandbox(id: crashed.id)
            // And a stray veth on the bridge that no IPAM entry knows.
            let stray = "vbstray\(env.n)"
            _ = NetFixtures.ip(["link", "add", stray, "type", "veth", "peer", "name", "vbpeer\(env.n)"])
            _ = NetFixtures.ip(["link", "set", stray, "master", env.config.bridgeName])
            #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(stray)"))
            #expect(try await env.network.allocations().count == 2)

            let restarted = try NetworkManager(config: env.config)
            let removed = try await restarted.start(liveSandboxes: [alive.id])
            #expect(removed.contains { $0.contains(crashed.id) })
            #expect(removed.contains { $0.contains(stray) })
            #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(stray)"))
            #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/vbpeer\(env.n)"))
            #expect(try await restarted.allocations().map(\.owner) == [alive.id])
            #expect(NetFixtures.nodeGet("http://\(alive.ip):8080/") == "alive")
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    @Test func hostPortOnLoopback() async throws {
        let env = try NetTestEnv("hostport")
        do {
            try await env.start()
            let port = 39000 + env.n
            _ = try await env.pod("web", serve: "published", portMappings: [PortMapping(containerPort: 8080, hostPort: port)])
            #expect(NetFixtures.nodeGet("http://127.0.0.1:\(port)/") == "published")
            // The same hostPort twice is a clear error.
            let error = await #expect(throws: BerthError.self) {
                _ = try await env.pod("web2", portMappings: [PortMapping(containerPort: 8080, hostPort: port)])
            }
            #expect(error?.message.contains("already published") == true)
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    /// What pod networking adds to pod start: sandbox alone vs sandbox + veth + address + route.
    @Test func networkStartCost() async throws {
        let env = try NetTestEnv("netstart")
        var plain: [Double] = [], networked: [Double] = [], attachOnly: [Double] = []
        do {
            try await env.start()
            for i in 0..<10 {
                let t0 = ContinuousClock.now
                let s = try await env.manager.createSandbox(id: "plain-\(i)-\(env.n)", hostname: "p", labels: [:])
                plain.append(ms(ContinuousClock.now - t0))
                let t1 = ContinuousClock.now
                let s2 = try await env.manager.createSandbox(id: "net-\(i)-\(env.n)", hostname: "n", labels: [:])
                let t2 = ContinuousClock.now
                _ = try await env.network.attach(sandboxID: s2.id, namespace: "default", netnsPath: "/proc/\(try #require(s2.pid))/ns/net")
                let t3 = ContinuousClock.now
                networked.append(ms(t3 - t1))
                attachOnly.append(ms(t3 - t2))
                try await env.manager.deleteSandbox(id: s.id)
                try await env.removePod(s2.id)
            }
        } catch {
            await env.close()
            throw error
        }
        await env.close()
        let line = String(format: "netstart: sandbox %.1f ms, sandbox+network %.1f ms, network adds %.1f ms (median of 10)",
                          median(plain), median(networked), median(attachOnly))
        print(line)
        if let out = ProcessInfo.processInfo.environment["BERTH_BENCH_OUT"] {
            try? (line + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        }
        #expect(median(attachOnly) > 0)
    }
}
}

func ms(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}

extension NetworkRootTests {
@Suite("NodeRuntime with the pod network (root)")
struct NetworkNodeRuntimeRootTests {
    @Test func runSandboxGivesThePodAnAddressAndRemoveTakesItBack() async throws {
        let n = Int.random(in: 1...250)
        let dir = NSTemporaryDirectory() + "berth-net-noderuntime-\(UUID().uuidString.prefix(8))"
        let config = NetworkConfig(bridgeName: "bertht\(n)", podCIDR: try IPv4CIDR("10.213.\(n).0/24"),
                                   serviceCIDR: try IPv4CIDR("10.214.\(n).0/24"), dataDir: dir, tablePrefix: "bertht\(n)")
        let network = try NetworkManager(config: config)
        let runtime = NetworkNodeRuntime(base: try LinuxNodeRuntime(dataDir: dir), network: network)
        var sandboxID: String?
        do {
            try await runtime.start()
            let status = try await runtime.runSandbox(SandboxConfig(podUID: "uid-\(n)", podName: "p", namespace: "shop", hostname: "p"))
            sandboxID = status.id
            let ip = try #require(status.ip)
            #expect(config.podCIDR.contains(try #require(IPv4Address(ip))))
            // The pause process's namespace answers from its address.
            let ping = (try? NetFixtures.run("/bin/busybox", ["ping", "-c", "1", "-W", "2", ip])) ?? ""
            #expect(ping.contains("1 packets received"), "\(ping)")
            #expect(try await runtime.sandboxStatus(id: status.id).ip == ip)
            #expect(try await runtime.listSandboxes().first { $0.id == status.id }?.ip == ip)
            // Idempotent per pod uid: same sandbox, same address.
            #expect(try await runtime.runSandbox(SandboxConfig(podUID: "uid-\(n)", podName: "p", namespace: "shop", hostname: "p")).ip == ip)
            try await runtime.removeSandbox(id: status.id)
            sandboxID = nil
            #expect(try await network.allocations().isEmpty)
        } catch {
            if let sandboxID { try? await runtime.removeSandbox(id: sandboxID) }
            try? await network.teardown(removeState: true)
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        if let sandboxID { try? await runtime.removeSandbox(id: sandboxID) }
        try? await network.teardown(removeState: true)
        try? FileManager.default.removeItem(atPath: dir)
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/bertht\(n)"))
    }
}
}
