import BerthAPI
import BerthReconciler
import BerthStore
import Foundation
import Hummingbird

/// `GET /metrics`, Prometheus text format: the reconciler's counters plus
/// gauges read from the store at scrape time (`berth_objects{kind}`,
/// `berth_containers{state}`). No token: it holds counts, never names or
/// values, and the server listens on loopback by default.
public struct MetricsRoutes: RouteProvider {
    public let metrics: ReconcilerMetrics

    public init(metrics: ReconcilerMetrics) {
        self.metrics = metrics
    }

    public func addRoutes(to router: Router<BerthRequestContext>, api: APIServer) {
        router.get("/metrics") { _, _ in
            try await self.refreshGauges(store: api.store)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }

    func refreshGauges(store: Store) async throws {
        for kind in ResourceKind.allCases {
            let count = try await store.list(kind).items.count
            metrics.setGauge("", unit: "objects", help: "Objects in the store by kind", labels: [("kind", kind.rawValue)], value: Double(count))
        }
        var states: [String: Int] = ["running": 0, "waiting": 0, "terminated": 0]
        for pod in try await store.list(.pod).items {
            for container in pod.object["status"]?["containerStatuses"]?.arrayValue ?? [] {
                for state in ["running", "waiting", "terminated"] where container["state"]?[state] != nil {
                    states[state, default: 0] += 1
                }
            }
        }
        for (state, count) in states {
            metrics.setGauge("", unit: "containers", help: "Containers by state", labels: [("state", state)], value: Double(count))
        }
    }
}
