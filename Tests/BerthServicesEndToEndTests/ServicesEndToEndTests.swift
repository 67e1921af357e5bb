import BerthTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Services through the whole stack: a real `berth serve` (controllers,
/// kubelet, pod network, nftables proxy, cluster DNS) with busybox pods.
/// Each backend's httpd serves its own hostname (the pod name), so a response
/// says which pod answered.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root: real containers, bridge, nftables"))
struct ServicesEndToEndTests {
    // MARK: - Manifests

    /// `web`: busybox httpd on :8080 serving its hostname at / and "ok" at
    /// /ready (the readiness probe); deleting /www/ready makes it unready.
    static func web(replicas: Int, period: Int = 1) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: \(replicas)
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: httpd
                image: docker.io/library/busybox:latest
                command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && echo ok > /www/ready && exec httpd -f -p 8080 -h /www"]
                ports:
                - {name: http, containerPort: 8080}
                readinessProbe:
                  httpGet: {path: /ready, port: http}
                  periodSeconds: \(period)
                  failureThreshold: 1
        """
    }

    /// The Service in front of `web`: port 80 → the named port `http`.
    static func service(name: String = "web", nodePort: Int? = nil, type: String? = nil) -> String {
        let type = type ?? (nodePort == nil ? "ClusterIP" : "NodePort")
        return """
            apiVersion: v1
            kind: Service
            metadata:
              name: \(name)
            spec:
              type: \(type)
              selector: {app: web}
              ports:
              - name: http
                port: 80
                targetPort: http
            \(nodePort.map { "    nodePort: \($0)" } ?? "")
            """
    }

    /// A client pod to run wget and nslookup from.
    static let client = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: client
        spec:
          replicas: 1
          selector:
            matchLabels: {app: client}
          template:
            metadata:
              labels: {app: client}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: sh
                image: docker.io/library/busybox:latest
                command: ["sleep", "100000"]
        """

    /// A fresh cluster (busybox image imported unless `image` is false); destroyed even when the body throws.
    func withCluster(image: Bool = true, _ body: (E2ECluster) throws -> Void) throws {
        let cluster = try E2ECluster()
        defer { cluster.destroy() }
        do {
            if image { try cluster.importImage() }
            try cluster.startServe()
            try body(cluster)
        } catch {
            Issue.record("serve log tail:\n\(cluster.serveLogText.suffix(4000))")
            throw error
        }
    }

    // MARK: - Reading state

    typealias PodView = E2ECluster.PodView

    func pods(_ cluster: E2ECluster, app: String) throws -> [PodView] { try cluster.pods(app: app) }

    func waitReady(_ cluster: E2ECluster, app: String, count: Int, timeout: Double = 90) throws -> [PodView] {
        var ready: [PodView] = []
        try waitUntil("\(count) ready \(app) pods", timeout: timeout) {
            let all = try pods(cluster, app: app)
            ready = all.filter { $0.ready && !$0.deleting && $0.ip != nil && $0.containerID != nil }
            return ready.count == count && all.count == count
        }
        return ready.sorted { $0.name < $1.name }
    }

    /// (ready IPs, not-ready IPs) of the Endpoints object `name`.
    func endpoints(_ cluster: E2ECluster, _ name: String = "web") throws -> (ready: Set<String>, notReady: Set<String>) {
        let object = try cluster.get(["endpoints", name])
        var ready = Set<String>(), notReady = Set<String>()
        for subset in object["subsets"] as? [[String: Any]] ?? [] {
            for a in subset["addresses"] as? [[String: Any]] ?? [] { if let ip = a["ip"] as? String { ready.insert(ip) } }
            for a in subset["notReadyAddresses"] as? [[String: Any]] ?? [] { if let ip = a["ip"] as? String { notReady.insert(ip) } }
        }
        return (ready, notReady)
    }

    func serviceSpec(_ cluster: E2ECluster, _ name: String = "web") throws -> [String: Any] {
        try cluster.get(["service", name])["spec"] as? [String: Any] ?? [:]
    }

    func clusterIP(_ cluster: E2ECluster, _ name: String = "web") throws -> String {
        var ip: String?
        try waitUntil("service \(name) has a clusterIP", timeout: 20) {
            ip = try serviceSpec(cluster, name)["clusterIP"] as? String
            return ip.map { !$0.isEmpty } ?? false
        }
        return try #require(ip)
    }

    /// `n` GETs of http://TARGET/ from inside the container, one response body per line.
    /// (`timeout` rather than wget's own -T: this static busybox wget segfaults with -T.)
    func responses(_ cluster: E2ECluster, from containerID: String, target: String, count: Int) throws -> [String] {
        let script = "for i in $(seq \(count)); do timeout 3 wget -q -O - http://\(target)/ || echo FAILED; done"
        let result = try cluster.exec(containerID, ["sh", "-c", script])
        return result.output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func counts(_ lines: [String]) -> [String: Int] { lines.reduce(into: [:]) { $0[$1, default: 0] += 1 } }

    /// A nodePort unlikely to be used by another cluster on this machine.
    static func randomNodePort() -> Int { Int.random(in: 31000...32700) }

    // MARK: - Cases

    /// Pod ↔ pod over pod IPs; a Service by short name, `svc.ns`, FQDN and
    /// ClusterIP; service env vars; load spread over 3 replicas; NodePort
    /// on 127.0.0.1; and nothing left behind after deleting it all.
    @Test func podsReachServicesByNameAndIPAndNothingIsLeftAfterDelete() throws {
        try withCluster { cluster in
            let nodePort = Self.randomNodePort()
            try cluster.apply(Self.service(nodePort: nodePort) + "\n---\n" + Self.web(replicas: 3) + "\n---\n" + Self.client)
            let backends = try waitReady(cluster, app: "web", count: 3)
            let client = try #require(try waitReady(cluster, app: "client", count: 1).first)
            let clientID = try #require(client.containerID)
            let vip = try clusterIP(cluster)
            let names = Set(backends.map(\.name))
            try waitUntil("the Endpoints list the 3 ready pods", timeout: 20) {
                try endpoints(cluster).ready == Set(backends.compactMap(\.ip))
            }

            // Two pods talk over their IPs.
            for pod in backends {
                let ip = try #require(pod.ip)
                #expect(cluster.shell(clientID, "timeout 3 wget -q -O - http://\(ip):8080/") == pod.name, "client → \(pod.name) at \(ip)")
            }

            // The Service by every name Kubernetes gives it, and by its ClusterIP.
            for target in ["web", "web.default", "web.default.svc.cluster.local", vip] {
                let body = cluster.shell(clientID, "timeout 3 wget -q -O - http://\(target)/")
                #expect(body.map { names.contains($0) } == true, "http://\(target)/ from the client answered \(body ?? "nothing")")
            }
            let lookup = cluster.shell(clientID, "nslookup web.default.svc.cluster.local") ?? ""
            #expect(lookup.contains(vip), "nslookup: \(lookup)")
            // Service env vars (the Service existed before the client started).
            #expect(cluster.shell(clientID, "echo $WEB_SERVICE_HOST:$WEB_SERVICE_PORT") == "\(vip):80")

            // Load spreads across the 3 replicas.
            let spread = counts(try responses(cluster, from: clientID, target: "web", count: 60))
            #expect(Set(spread.keys) == names, "responses per backend: \(spread)")
            for name in names { #expect(spread[name, default: 0] >= 5, "\(name) got \(spread[name, default: 0]) of 60: \(spread)") }

            // NodePort on the node's loopback, and the ClusterIP from the node.
            let spec = try serviceSpec(cluster)
            #expect((spec["ports"] as? [[String: Any]])?.first?["nodePort"] as? Int == nodePort)
            let viaNodePort = E2ECluster.httpGet("127.0.0.1", port: nodePort)
            #expect(viaNodePort.map { names.contains($0) } == true, "127.0.0.1:\(nodePort) answered \(viaNodePort ?? "nothing")")
            #expect(E2ECluster.httpGet(vip, port: 80).map { names.contains($0) } == true)

            // Delete everything: no veth, address, rule or allocation may stay.
            #expect(cluster.bridgePorts.count == 4)
            #expect(cluster.ipamOwners("pods").count == 4)
            try cluster.client(["delete", "service", "web"])
            try cluster.client(["delete", "deployment", "web", "client"])
            try waitUntil("every pod is gone", timeout: 60) {
                try pods(cluster, app: "web").isEmpty && pods(cluster, app: "client").isEmpty
            }
            try waitUntil("veths and pod addresses are released", timeout: 20) {
                cluster.bridgePorts.isEmpty && cluster.ipamOwners("pods").isEmpty
            }
            try waitUntil("the Service's allocations and rules are gone", timeout: 20) {
                cluster.ipamOwners("clusterips").isEmpty && cluster.ipamOwners("nodeports").isEmpty
                    && !cluster.nftTable(cluster.nftPrefix + "-svc").contains("dnat to")
            }
            let svcTable = cluster.nftTable(cluster.nftPrefix + "-svc")
            #expect(!svcTable.contains(vip) && !svcTable.contains(String(nodePort)), "left in nftables:\n\(svcTable)")
            #expect(!cluster.nftTable(cluster.nftPrefix).contains("dnat to"))
            #expect(cluster.containerPIDs(commandContaining: "").isEmpty, "container processes left")
            let endpointsGone = try cluster.berth(["get", "endpoints", "web", "--server", cluster.server, "--data-dir", cluster.dataDir])
            #expect(endpointsGone.status != 0, "Endpoints web still exists: \(endpointsGone.output)")
            #expect(E2ECluster.httpGet(vip, port: 80) == nil)
            #expect(E2ECluster.httpGet("127.0.0.1", port: nodePort) == nil)
        }
    }

    /// Scaling down takes endpoints away; a failing readiness probe takes a
    /// pod out of rotation within one probe period, and a passing one brings it back.
    @Test func scaleDownAndReadinessFailureChangeTheRotation() throws {
        try withCluster { cluster in
            let period = 2
            try cluster.apply(Self.service() + "\n---\n" + Self.web(replicas: 3, period: period) + "\n---\n" + Self.client)
            _ = try waitReady(cluster, app: "web", count: 3)
            let clientID = try #require(try waitReady(cluster, app: "client", count: 1).first?.containerID)
            _ = try clusterIP(cluster)

            try cluster.client(["scale", "deployment/web", "--replicas", "2"])
            let remaining = try waitReady(cluster, app: "web", count: 2)
            try waitUntil("the Endpoints list only the 2 remaining pods", timeout: 20) {
                let e = try endpoints(cluster)
                return e.ready == Set(remaining.compactMap(\.ip)) && e.notReady.isEmpty
            }
            let afterScale = counts(try responses(cluster, from: clientID, target: "web", count: 30))
            #expect(Set(afterScale.keys) == Set(remaining.map(\.name)), "after scaling to 2: \(afterScale)")

            // One backend starts failing its readiness probe.
            let victim = try #require(remaining.first)
            let survivor = try #require(remaining.last)
            let victimIP = try #require(victim.ip)
            let failedAt = Date()
            #expect(cluster.shell(try #require(victim.containerID), "rm /www/ready") != nil)
            try waitUntil("\(victim.name) is out of the Endpoints' ready addresses", timeout: 10) {
                try endpoints(cluster).notReady.contains(victimIP)
            }
            let outAfter = Date().timeIntervalSince(failedAt)
            print("readiness failure → out of rotation after \(String(format: "%.2f", outAfter)) s (probe period \(period) s)")
            // One period until the next probe fails, plus the status write and the rule push.
            #expect(outAfter <= Double(period) + 1.5, "took \(outAfter) s")
            let whileUnready = counts(try responses(cluster, from: clientID, target: "web", count: 30))
            #expect(whileUnready == [survivor.name: 30], "while \(victim.name) is unready: \(whileUnready)")

            // And back.
            #expect(cluster.shell(try #require(victim.containerID), "echo ok > /www/ready") != nil)
            try waitUntil("\(victim.name) is back in rotation", timeout: 15) { try endpoints(cluster).ready.contains(victimIP) }
            let back = counts(try responses(cluster, from: clientID, target: "web", count: 40))
            #expect(Set(back.keys) == Set(remaining.map(\.name)), "after recovery: \(back)")
        }
    }

    /// An explicit nodePort held by another Service, or outside the range,
    /// is refused by the API on apply with a message that names the problem;
    /// a Service without one gets a free port.
    @Test func nodePortConflictsAreRefusedOnApply() throws {
        try withCluster(image: false) { cluster in
            let port = Self.randomNodePort()
            try cluster.apply(Self.service(name: "first", nodePort: port))
            try waitUntil("first holds its nodePort", timeout: 20) { cluster.ipamOwners("nodeports").contains { $0.hasPrefix("default/first/") } }

            let path = cluster.dataDir + "/second.yaml"
            try Self.service(name: "second", nodePort: port).write(toFile: path, atomically: true, encoding: .utf8)
            let taken = try cluster.berth(["apply", "-f", path, "--server", cluster.server, "--data-dir", cluster.dataDir])
            #expect(taken.status != 0)
            #expect(taken.output.contains("\(port)") && taken.output.contains("first"), "apply output: \(taken.output)")
            #expect(try cluster.berth(["get", "service", "second", "--server", cluster.server, "--data-dir", cluster.dataDir]).status != 0,
                    "the refused Service must not be stored")

            try Self.service(name: "third", nodePort: 40000).write(toFile: path, atomically: true, encoding: .utf8)
            let outside = try cluster.berth(["apply", "-f", path, "--server", cluster.server, "--data-dir", cluster.dataDir])
            #expect(outside.status != 0)
            #expect(outside.output.contains("40000") && outside.output.contains("30000"), "apply output: \(outside.output)")

            // Re-applying the holder is fine (and keeps its ClusterIP); a Service without nodePort gets a free one.
            let firstIP = try clusterIP(cluster, "first")
            try cluster.apply(Self.service(name: "first", nodePort: port))
            try waitUntil("first has its ClusterIP again after the re-apply", timeout: 20) {
                (try serviceSpec(cluster, "first")["clusterIP"] as? String) == firstIP
            }
            try cluster.apply(Self.service(name: "auto", type: "NodePort"))
            var allocated: Int?
            try waitUntil("auto gets a nodePort", timeout: 20) {
                allocated = (try serviceSpec(cluster, "auto")["ports"] as? [[String: Any]])?.first?["nodePort"] as? Int
                return allocated != nil
            }
            let auto = try #require(allocated)
            #expect((30000...32767).contains(auto) && auto != port)

            // Changing first's nodePort moves the allocation (the old port is free again).
            let moved = auto == 32767 ? 32766 : 32767
            try cluster.apply(Self.service(name: "first", nodePort: moved))
            try waitUntil("first's allocation moved to \(moved)", timeout: 20) {
                let held = cluster.ipamAllocations("nodeports").filter { $0.key.hasPrefix("default/first/") }
                return Array(held.values) == [moved]
            }
            try cluster.apply(Self.service(name: "second", nodePort: port))
            try waitUntil("second holds the freed port", timeout: 20) {
                cluster.ipamAllocations("nodeports").contains { $0.key.hasPrefix("default/second/") && $0.value == port }
            }
        }
    }

    /// A `berth serve` restart (graceful or a crash): pods keep their IPs and
    /// containers, the Service keeps answering (by name once DNS is back).
    @Test(arguments: [SIGTERM, SIGKILL])
    func restartKeepsPodIPsAndServices(signal: Int32) throws {
        try withCluster { cluster in
            try cluster.apply(Self.service() + "\n---\n" + Self.web(replicas: 2) + "\n---\n" + Self.client)
            let before = try waitReady(cluster, app: "web", count: 2)
            let client = try #require(try waitReady(cluster, app: "client", count: 1).first)
            let clientID = try #require(client.containerID)
            let vip = try clusterIP(cluster)
            try waitUntil("the Endpoints list both pods", timeout: 20) { try endpoints(cluster).ready.count == 2 }
            let names = Set(before.map(\.name))
            let allocations = cluster.ipamOwners("pods").sorted()
            let veths = cluster.bridgePorts

            cluster.stopServe(signal: signal)
            // The dataplane lives in the kernel: the ClusterIP still answers while serve is down.
            #expect(E2ECluster.httpGet(vip, port: 80).map { names.contains($0) } == true, "ClusterIP while serve is down")

            try cluster.startServe()
            usleep(3_000_000)
            let after = try waitReady(cluster, app: "web", count: 2)
            #expect(after.map(\.name) == before.map(\.name))
            #expect(after.map(\.ip) == before.map(\.ip), "pod IPs changed")
            #expect(after.map(\.containerID) == before.map(\.containerID), "containers were replaced")
            #expect(after.map(\.restartCount) == before.map(\.restartCount), "containers restarted")
            let clientAfter = try #require(try pods(cluster, app: "client").first)
            #expect(clientAfter.containerID == client.containerID && clientAfter.ip == client.ip)
            #expect(cluster.ipamOwners("pods").sorted() == allocations)
            #expect(cluster.bridgePorts == veths)
            #expect(try clusterIP(cluster) == vip)
            #expect(try endpoints(cluster).ready == Set(before.compactMap(\.ip)))
            try waitUntil("the Service answers by name from the client after the restart", timeout: 20) {
                cluster.shell(clientID, "timeout 3 wget -q -O - http://web.default.svc.cluster.local/").map { names.contains($0) } == true
            }
            let spread = counts(try responses(cluster, from: clientID, target: "web", count: 30))
            #expect(Set(spread.keys) == names, "after restart: \(spread)")
        }
    }

    /// A pod CIDR that overlaps a route of the machine stops `berth serve`
    /// at start, naming the route, and leaves no bridge behind.
    @Test func overlappingPodCIDRStopsServeNamingTheRoute() throws {
        let cluster = try E2ECluster()
        let n = Int.random(in: 1...250)
        let other = "bovl\(String(UInt32.random(in: 0..<0xFFFF_FF), radix: 16))"
        // A bridge stands in for any interface that owns a route.
        _ = try E2ECluster.run("/sbin/ip", ["link", "add", other, "type", "bridge"])
        defer {
            _ = try? E2ECluster.run("/sbin/ip", ["link", "del", other])
            cluster.destroy()
        }
        // 172.29/16 is used by no other test, so the refusal names our route and no one else trips on it.
        _ = try E2ECluster.run("/sbin/ip", ["addr", "add", "172.29.\(n).1/24", "dev", other])
        _ = try E2ECluster.run("/sbin/ip", ["link", "set", other, "up"])
        var environment = cluster.environment
        environment["BERTH_POD_CIDR"] = "172.29.\(n).0/25"
        environment["BERTH_SERVICE_CIDR"] = "172.28.\(n).0/24"
        let result = try E2ECluster.run(
            "/usr/bin/timeout", ["30", E2ECluster.executable, "serve", "--data-dir", cluster.dataDir, "--listen", "127.0.0.1:\(cluster.port)"],
            environment: environment)
        #expect(result.status != 0 && result.status != 124, "serve must stop by itself (status \(result.status))")
        #expect(result.output.contains("172.29.\(n).0/24 dev \(other)"), "serve output:\n\(result.output.suffix(3000))")
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(cluster.bridge)"), "serve left its bridge")
    }
}
