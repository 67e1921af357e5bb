import BerthTestSupport
import Foundation
import Testing

/// `bench/service/run`: wrk against one busybox httpd pod of a real
/// `berth serve` (the binary in BERTH_E2E_BERTH, a release build when run by
/// the script), once at the pod IP and once at its Service's ClusterIP
/// (nftables DNAT), alternating, several runs each. Only with BERTH_BENCH=1.
@Suite(.serialized, .enabled(if: getuid() == 0 && ProcessInfo.processInfo.environment["BERTH_BENCH"] == "1"))
struct ServiceBenchmarkTests {
    struct Run { var rps: Double; var p99ms: Double }

    static func wrk(_ url: String, seconds: Int) throws -> Run {
        let out = try E2ECluster.run("/usr/bin/wrk", ["-t2", "-c16", "-d\(seconds)s", "--latency", url]).output
        var run = Run(rps: 0, p99ms: 0)
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.first == "Requests/sec:", f.count > 1 { run.rps = Double(f[1]) ?? 0 }
            if f.first == "99%", f.count > 1 { run.p99ms = milliseconds(String(f[1])) }
        }
        return run
    }

    static func milliseconds(_ s: String) -> Double {
        if s.hasSuffix("us") { return (Double(s.dropLast(2)) ?? 0) / 1000 }
        if s.hasSuffix("ms") { return Double(s.dropLast(2)) ?? 0 }
        if s.hasSuffix("s") { return (Double(s.dropLast(1)) ?? 0) * 1000 }
        return 0
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }

    @Test func clusterIPVersusDirectPod() throws {
        let cluster = try E2ECluster()
        defer { cluster.destroy() }
        try cluster.importImage()
        try cluster.startServe()
        try cluster.apply(ServicesEndToEndTests.service() + "\n---\n" + ServicesEndToEndTests.web(replicas: 1, period: 10))
        let tests = ServicesEndToEndTests()
        let pod = try #require(try tests.waitReady(cluster, app: "web", count: 1).first)
        let ip = try #require(pod.ip)
        let vip = try tests.clusterIP(cluster)
        try waitUntil("the ClusterIP answers", timeout: 20) { E2ECluster.httpGet(vip, port: 80) == pod.name }

        let runs = Int(ProcessInfo.processInfo.environment["BERTH_BENCH_RUNS"] ?? "") ?? 5
        let seconds = Int(ProcessInfo.processInfo.environment["BERTH_BENCH_SECONDS"] ?? "") ?? 5
        _ = try Self.wrk("http://\(ip):8080/", seconds: 2)  // warm-up
        var direct: [Run] = [], service: [Run] = []
        for i in 0..<runs {
            // Alternate which goes first, so drift in machine load hits both sides alike.
            if i % 2 == 0 {
                direct.append(try Self.wrk("http://\(ip):8080/", seconds: seconds))
                service.append(try Self.wrk("http://\(vip):80/", seconds: seconds))
            } else {
                service.append(try Self.wrk("http://\(vip):80/", seconds: seconds))
                direct.append(try Self.wrk("http://\(ip):8080/", seconds: seconds))
            }
        }
        let d = Run(rps: Self.median(direct.map(\.rps)), p99ms: Self.median(direct.map(\.p99ms)))
        let s = Run(rps: Self.median(service.map(\.rps)), p99ms: Self.median(service.map(\.p99ms)))
        let binary = ProcessInfo.processInfo.environment["BERTH_E2E_BERTH"] ?? E2ECluster.executable
        var lines = [
            "berth serve: \(binary); wrk -t2 -c16 -d\(seconds)s, \(runs) alternating runs each, medians",
            String(format: "direct pod IP:  %.0f req/s, p99 %.2f ms   (runs: %@)", d.rps, d.p99ms,
                   direct.map { String(format: "%.0f/%.1f", $0.rps, $0.p99ms) }.joined(separator: " ")),
            String(format: "via ClusterIP:  %.0f req/s, p99 %.2f ms   (runs: %@)", s.rps, s.p99ms,
                   service.map { String(format: "%.0f/%.1f", $0.rps, $0.p99ms) }.joined(separator: " ")),
        ]
        lines.append(String(format: "ratio service/direct: %.2f× requests/s, %.2f× p99 latency (target ≥ 0.8× requests/s)",
                            s.rps / max(d.rps, 1), s.p99ms / max(d.p99ms, 0.001)))
        print(lines.joined(separator: "\n"))
        #expect(d.rps > 0 && s.rps > 0)
        if let out = ProcessInfo.processInfo.environment["BERTH_BENCH_OUT"] {
            try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        }
    }
}
