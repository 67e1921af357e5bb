import BerthAPI
import BerthRuntime
import Foundation
import Testing

extension NetworkRootTests {
@Suite("Services dataplane and cluster DNS (root, real nftables)")
struct ServiceRootTests {
    /// Counts which backend answered `count` requests from the node.
    func spread(_ url: String, count: Int) -> [String: Int] {
        var seen: [String: Int] = [:]
        for _ in 0..<count { seen[NetFixtures.nodeGet(url), default: 0] += 1 }
        return seen
    }

    @Test func clusterIPLoadBalancesAndFollowsEndpointChanges() async throws {
        let env = try NetTestEnv("lb")
        do {
            try await env.start()
            var pods: [(id: String, ip: String)] = []
            for name in ["b0", "b1", "b2"] { pods.append(try await env.pod(name, serve: name)) }
            let vip = try await env.proxy.allocateClusterIP(namespace: "default", name: "web")
            #expect(env.config.serviceCIDR.contains(try #require(IPv4Address(vip))))
            #expect(try await env.proxy.allocateClusterIP(namespace: "default", name: "web") == vip)
            func entry(_ eps: [ServiceEndpoint]) -> ServiceEntry {
                ServiceEntry(namespace: "default", name: "web", clusterIP: vip,
                             ports: [ServicePortSpec(name: "http", port: 80, targetPort: 8080)], endpoints: eps)
            }
            try await env.proxy.setServices([entry(pods.map { ServiceEndpoint(ip: $0.ip) })])
            // Node → ClusterIP (nat output hook): all three answer.
            let all = spread("http://\(vip):80/", count: 45)
            #expect(Set(all.keys) == ["b0", "b1", "b2"], "\(all)")
            // b1 not ready: out of rotation at once.
            try await env.proxy.setServices([entry([ServiceEndpoint(ip: pods[0].ip), ServiceEndpoint(ip: pods[1].ip, ready: false),
                                                    ServiceEndpoint(ip: pods[2].ip)])])
            let twoLeft = spread("http://\(vip):80/", count: 30)
            #expect(Set(twoLeft.keys) == ["b0", "b2"], "\(twoLeft)")
            // b0 removed: only b2.
            try await env.proxy.setServices([entry([ServiceEndpoint(ip: pods[2].ip)])])
            #expect(spread("http://\(vip):80/", count: 10) == ["b2": 10])
            // Pod → ClusterIP, and hairpin: b2 reaching itself through its own Service.
            let fromPod = try await env.sh(in: pods[0].id, "timeout 5 wget -q -O - http://\(vip)/")
            #expect(fromPod == "b2")
            let hairpin = try await env.sh(in: pods[2].id, "timeout 5 wget -q -O - http://\(vip)/")
            #expect(hairpin == "b2")
            // No endpoints: refused at once rather than hanging.
            try await env.proxy.setServices([entry([])])
            let t0 = ContinuousClock.now
            #expect(NetFixtures.nodeGet("http://\(vip):80/").isEmpty)
            #expect(ContinuousClock.now - t0 < .seconds(2))
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    @Test func nodePortAnswersOnLoopbackAndNodeAddress() async throws {
        let env = try NetTestEnv("nodeport")
        do {
            try await env.start()
            let backend = try await env.pod("np", serve: "via-nodeport")
            let vip = try await env.proxy.allocateClusterIP(namespace: "default", name: "np")
            let nodePort = try await env.proxy.allocateNodePort(namespace: "default", name: "np", port: "http")
            #expect((30000...32767).contains(nodePort))
            // An explicit port another Service holds is a clear error.
            let error = await #expect(throws: BerthError.self) {
                _ = try await env.proxy.allocateNodePort(namespace: "default", name: "other", port: "http", requested: nodePort)
            }
            #expect(error?.message.contains("already allocated to default/np/http") == true)
            try await env.proxy.setServices([ServiceEntry(
                namespace: "default", name: "np", clusterIP: vip,
                ports: [ServicePortSpec(name: "http", port: 80, targetPort: 8080, nodePort: nodePort)],
                endpoints: [ServiceEndpoint(ip: backend.ip)])])
            #expect(NetFixtures.nodeGet("http://127.0.0.1:\(nodePort)/") == "via-nodeport")
            // Another local address of the node: the bridge's.
            #expect(NetFixtures.nodeGet("http://\(env.config.gateway):\(nodePort)/") == "via-nodeport")
            // And the node's own external address, if it has one.
            let global = NetFixtures.ip(["-4", "-o", "addr", "show", "scope", "global"]).split(separator: "\n")
                .first { !$0.contains("bertht") }?.split(separator: " ").first { $0.contains("/") }?.split(separator: "/").first
            if let nodeIP = global {
                #expect(NetFixtures.nodeGet("http://\(nodeIP):\(nodePort)/") == "via-nodeport")
            }
            try await env.proxy.releaseService(namespace: "default", name: "np")
            #expect(try await env.proxy.allocateNodePort(namespace: "default", name: "other", port: "http", requested: nodePort) == nodePort)
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    @Test func podsResolveServicesByNameThroughClusterDNS() async throws {
        let env = try NetTestEnv("dns")
        do {
            try await env.start()
            let backend = try await env.pod("api", namespace: "shop", serve: "api-by-name")
            let client = try await env.pod("client", namespace: "shop")
            let vip = try await env.proxy.allocateClusterIP(namespace: "shop", name: "api")
            let services = [ServiceEntry(namespace: "shop", name: "api", clusterIP: vip,
                                         ports: [ServicePortSpec(port: 80, targetPort: 8080)],
                                         endpoints: [ServiceEndpoint(ip: backend.ip)])]
            try await env.proxy.setServices(services)
            try await env.dns.start(host: env.config.gateway.description, port: 53)
            await env.dns.setServices(services)

            let short = try await env.sh(in: client.id, "timeout 5 wget -q -O - http://api/", namespace: "shop")
            #expect(short == "api-by-name")
            let withNS = try await env.sh(in: client.id, "timeout 5 wget -q -O - http://api.shop/", namespace: "shop")
            #expect(withNS == "api-by-name")
            let fqdn = try await env.sh(in: client.id, "timeout 5 wget -q -O - http://api.shop.svc.cluster.local/", namespace: "shop")
            #expect(fqdn == "api-by-name")
            let lookup = try await env.sh(in: client.id, "nslookup api.shop.svc.cluster.local", namespace: "shop")
            #expect(lookup.contains(vip), "\(lookup)")
            let unknown = try await env.sh(in: client.id, "nslookup nope.shop.svc.cluster.local; echo rc=$?", namespace: "shop")
            #expect(unknown.contains("NXDOMAIN") || unknown.contains("can't find"), "\(unknown)")
            #expect(!unknown.contains(vip))
            let resolv = try await env.sh(in: client.id, "cat /etc/resolv.conf", namespace: "shop")
            #expect(resolv.contains("nameserver \(env.config.gateway)"))
            #expect(resolv.contains("search shop.svc.cluster.local svc.cluster.local cluster.local"))
            #expect(resolv.contains("options ndots:5"))
            // Outside the cluster domain: refused, nothing forwarded.
            let outside = NetFixtures.nodeNslookup("example.com", server: env.config.gateway.description)
            #expect(outside.contains("REFUSED") || outside.contains("can't find"), "\(outside)")
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }
}
}

extension NetFixtures {
    static func nodeNslookup(_ name: String, server: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/busybox")
        p.arguments = ["nslookup", name, server]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try? p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
