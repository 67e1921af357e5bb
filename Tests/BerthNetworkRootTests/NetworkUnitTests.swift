@testable import BerthRuntime
import BerthAPI
import Testing

/// Pure logic of the pod network: no root needed.
@Suite("Network pure logic")
struct NetworkUnitTests {
    @Test func cidrArithmetic() throws {
        let c = try IPv4CIDR("10.88.0.0/16")
        #expect(c.host(1).description == "10.88.0.1")
        #expect(c.broadcast.description == "10.88.255.255")
        #expect(c.overlaps(try IPv4CIDR("10.88.3.0/24")))
        #expect(try IPv4CIDR("10.88.3.0/24").overlaps(c))
        #expect(!c.overlaps(try IPv4CIDR("10.89.0.0/16")))
        #expect(throws: BerthError.self) { try IPv4CIDR("10.88.0.1/16") }
        #expect(throws: BerthError.self) { try IPv4CIDR("10.88.0.0") }
    }

    @Test func dnsNames() throws {
        let svc = ServiceEntry(namespace: "shop", name: "api", clusterIP: "10.89.0.7", ports: [])
        let other = ServiceEntry(namespace: "default", name: "web", clusterIP: "10.89.0.8", ports: [])
        let t = DNSNameTable(services: [svc, other])
        let ip = try #require(IPv4Address("10.89.0.7"))
        #expect(t.resolve("api.shop.svc.cluster.local.") == .address(ip))
        #expect(t.resolve("API.shop.svc.cluster.local") == .address(ip))
        #expect(t.resolve("api.shop.svc") == .address(ip))
        #expect(t.resolve("api.shop") == .address(ip))
        #expect(t.resolve("api") == .address(ip)) // the only "api"
        #expect(t.resolve("web") == .address(try #require(IPv4Address("10.89.0.8"))))
        #expect(t.resolve("nope.shop.svc.cluster.local") == .nxDomain)
        #expect(t.resolve("api.shop.pod.cluster.local") == .nxDomain)
        #expect(t.resolve("example.com") == .refused)
        #expect(t.resolve("nope") == .refused)
    }

    @Test func dnsWireFormat() throws {
        let t = DNSNameTable(services: [ServiceEntry(namespace: "shop", name: "api", clusterIP: "10.89.0.7", ports: [])])
        let a = try #require(t.answer(DNSMessage.query(id: 0x1234, name: "api.shop.svc.cluster.local")))
        #expect(a[0] == 0x12 && a[1] == 0x34)
        #expect(a[3] & 0x0f == 0) // NOERROR
        #expect(a[7] == 1) // one answer
        #expect(Array(a.suffix(4)) == [10, 89, 0, 7])
        let aaaa = try #require(t.answer(DNSMessage.query(id: 1, name: "api.shop.svc.cluster.local", type: 28)))
        #expect(aaaa[3] & 0x0f == 0 && aaaa[7] == 0)
        let nx = try #require(t.answer(DNSMessage.query(id: 2, name: "x.shop.svc.cluster.local")))
        #expect(nx[3] & 0x0f == 3)
        let refused = try #require(t.answer(DNSMessage.query(id: 3, name: "example.com")))
        #expect(refused[3] & 0x0f == 5)
        #expect(t.answer([1, 2, 3]) == nil)
    }

    @Test func serviceEnvironment() {
        let s = ServiceEntry(namespace: "default", name: "redis-master", clusterIP: "10.0.0.11",
                             ports: [ServicePortSpec(name: "redis", port: 6379, targetPort: 6379)])
        let elsewhere = ServiceEntry(namespace: "other", name: "x", clusterIP: "10.0.0.12", ports: [ServicePortSpec(port: 1, targetPort: 1)])
        let env = ServiceEnvironment.variables(for: [s, elsewhere], namespace: "default")
        #expect(env["REDIS_MASTER_SERVICE_HOST"] == "10.0.0.11")
        #expect(env["REDIS_MASTER_SERVICE_PORT"] == "6379")
        #expect(env["REDIS_MASTER_SERVICE_PORT_REDIS"] == "6379")
        #expect(env["REDIS_MASTER_PORT"] == "tcp://10.0.0.11:6379")
        #expect(env["REDIS_MASTER_PORT_6379_TCP"] == "tcp://10.0.0.11:6379")
        #expect(env["REDIS_MASTER_PORT_6379_TCP_PROTO"] == "tcp")
        #expect(env["REDIS_MASTER_PORT_6379_TCP_PORT"] == "6379")
        #expect(env["REDIS_MASTER_PORT_6379_TCP_ADDR"] == "10.0.0.11")
        #expect(env["X_SERVICE_HOST"] == nil)
    }

    @Test func dnsConfigForPods() throws {
        let c = NetworkConfig.standard(dataDir: "/tmp/x")
        let d = c.dnsConfig(namespace: "shop")
        #expect(d.nameservers == ["10.88.0.1"])
        #expect(d.searches == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"])
        #expect(d.options == ["ndots:5"])
    }

    @Test func serviceRulesUseOnlyReadyEndpoints() {
        let rules = ServiceProxyRules.render([ServiceEntry(
            namespace: "d", name: "s", clusterIP: "10.89.0.5", ports: [ServicePortSpec(port: 80, targetPort: 8080, nodePort: 30080)],
            endpoints: [ServiceEndpoint(ip: "10.88.0.2"), ServiceEndpoint(ip: "10.88.0.3", ready: false), ServiceEndpoint(ip: "10.88.0.4")])])
        #expect(rules.contains("numgen random mod 2"))
        #expect(rules.contains("dnat to 10.88.0.2:8080") && rules.contains("dnat to 10.88.0.4:8080"))
        #expect(!rules.contains("10.88.0.3"))
        #expect(rules.contains("fib daddr type local tcp dport 30080"))
    }

    @Test func masqueradeOnlyWhenConfigured() throws {
        var c = NetworkConfig.standard(dataDir: "/tmp/x")
        let off = NetworkRules.render(config: c, hostPorts: [])
        #expect(off.contains("iifname \"berth0\" drop"))
        #expect(!off.contains("oifname != \"berth0\" masquerade"))
        c.masquerade = true
        let on = NetworkRules.render(config: c, hostPorts: [])
        #expect(!on.contains("iifname \"berth0\" drop"))
        #expect(on.contains("ip saddr 10.88.0.0/16 oifname != \"berth0\" masquerade"))
    }
}
