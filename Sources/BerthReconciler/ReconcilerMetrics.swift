import Foundation
import Prometheus

/// Berth's Prometheus metrics. One registry per server (not the global
/// MetricsSystem, which can be bootstrapped once per process), so that tests
/// can run several servers side by side.
public final class ReconcilerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static let durationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    func recordSync(source: String, result: SyncResult, duration: TimeInterval) {
        registry.makeCounter(descriptor: Self.name("sync", "total", "Syncs by source and result"), labels: [("source", source), ("result", result.rawValue)]).increment()
        registry.makeDurationHistogram(
            descriptor: Self.name("sync_duration", "seconds", "Time from the start of a sync to its result"),
            labels: [("source", source)], buckets: Self.durationBuckets)
            .record(.milliseconds(Int64(duration * 1000)))
    }

    func recordRollback(source: String) {
        registry.makeCounter(descriptor: Self.name("rollbacks", "total", "Automatic rollbacks after failed rollouts"), labels: [("source", source)]).increment()
    }

    func setDrift(source: String, count: Int) {
        registry.makeGauge(descriptor: Self.name("drift", "objects", "Owned objects that differ from git"), labels: [("source", source)]).set(Double(count))
    }

    /// Counts a webhook request: provider github/gitlab/gitea/generic, result
    /// queued/ignored/unauthorized/forbidden/not_found/too_large/bad_request/ping.
    public func recordWebhook(provider: String, result: String) {
        registry.makeCounter(descriptor: Self.name("webhook_requests", "total", "Webhook requests by provider and result"), labels: [("provider", provider), ("result", result)]).increment()
    }

    /// Sets a gauge (the server fills `berth_objects{kind}` and
    /// `berth_containers{state}` at scrape time).
    public func setGauge(_ metric: String, unit: String, help: String, labels: [(String, String)], value: Double) {
        registry.makeGauge(descriptor: Self.name(metric, unit, help), labels: labels).set(value)
    }

    /// `berth_<metric>_<unit>` (an empty metric gives `berth_<unit>`).
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        metric.isEmpty
            ? MetricNameDescriptor(metricName: "berth", unitName: unit, helpText: help)
            : MetricNameDescriptor(namespace: "berth", metricName: metric, unitName: unit, helpText: help)
    }

    /// The text exposition format.
    public func render() -> String {
        registry.emitToString()
    }
}
