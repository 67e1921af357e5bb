import BerthAPI
import BerthRuntime
import Foundation
import Testing

extension NetworkRootTests {
/// `bench/service/run`: wrk against busybox httpd in a pod, directly and through
/// its Service's ClusterIP. Only with BERTH_BENCH=1 (it takes ~25 s).
@Suite("Service benchmark (root, wrk)", .enabled(if: ProcessInfo.processInfo.environment["BERTH_BENCH"] == "1"))
struct ServiceBenchRootTests {
    struct WrkResult { var rps: Double; var p99ms: Double }

    func wrk(_ url: String, seconds: Int) throws -> WrkResult {
        let out = try NetFixtures.run("/usr/bin/wrk", ["-t2", "-c16", "-d\(seconds)s", "--latency", url])
        var rps = 0.0, p99 = 0.0
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.first == "Requests/sec:", f.count > 1 { rps = Double(f[1]) ?? 0 }
            if f.first == "99%", f.count > 1 { p99 = Self.toMs(String(f[1])) }
        }
        return WrkResult(rps: rps, p99ms: p99)
    }

    static func toMs(_ s: String) -> Double {
        if s.hasSuffix("us") { return (Double(s.dropLast(2)) ?? 0) / 1000 }
        if s.hasSuffix("ms") { return Double(s.dropLast(2)) ?? 0 }
        if s.hasSuffix("s") { return (Double(s.dropLast(1)) ?? 0) * 1000 }
        return 0
    }

    @Test func serviceVersusDirect() async throws {
        let env = try NetTestEnv("bench")
        var lines: [String] = []
        do {
            try await env.start()
            let pod = try await env.pod("bench", serve: "bench")
            let vip = try await env.proxy.allocateClusterIP(namespace: "default", name: "bench")
            try await env.proxy.setServices([ServiceEntry(namespace: "default", name: "bench", clusterIP: vip,
                                                          ports: [ServicePortSpec(port: 80, targetPort: 8080)],
                                                          endpoints: [ServiceEndpoint(ip: pod.ip)])])
            _ = try wrk("http://\(pod.ip):8080/", seconds: 2) // warm-up
            var direct: [WrkResult] = [], service: [WrkResult] = []
            for _ in 0..<2 {
                direct.append(try wrk("http://\(pod.ip):8080/", seconds: 5))
                service.append(try wrk("http://\(vip):80/", seconds: 5))
            }
            let d = WrkResult(rps: direct.map(\.rps).reduce(0, +) / 2, p99ms: direct.map(\.p99ms).reduce(0, +) / 2)
            let s = WrkResult(rps: service.map(\.rps).reduce(0, +) / 2, p99ms: service.map(\.p99ms).reduce(0, +) / 2)
            lines.append(String(format: "direct pod IP:  %.0f req/s, p99 %.2f ms", d.rps, d.p99ms))
            lines.append(String(format: "via ClusterIP:  %.0f req/s, p99 %.2f ms", s.rps, s.p99ms))
            lines.append(String(format: "ratio service/direct: %.2f× requests/s; p99 direct/service: %.2f× (≥ 0.8 = the Service adds ≤ 25%%)", s.rps / max(d.rps, 1), d.p99ms / max(s.p99ms, 0.001)))
            print(lines.joined(separator: "\n"))
            #expect(d.rps > 0 && s.rps > 0)
        } catch {
            await env.close()
            throw error
        }
        await env.close()
        if let out = ProcessInfo.processInfo.environment["BERTH_BENCH_OUT"] {
            try? (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        }
    }
}
}
