import BerthAPI
import BerthTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `berth serve` for the schedule-time pull tests: the shared
/// `E2ECluster` harness (isolated data dir, port, bridge, CIDRs, nftables;
/// full cleanup), with async wrappers that run its blocking
/// subprocess work off the cooperative pool, and pod helpers.
final class ServeNode: Sendable {
    let cluster: E2ECluster
    var dataDir: String { cluster.dataDir }
    var environment: [String: String] { cluster.environment }
    var serveLog: String { cluster.serveLogText }

    static var executable: String { E2ECluster.executable }
    static var canRun: Bool { E2ECluster.canRun }

    init() throws { cluster = try E2ECluster(prefix: "breg") }

    typealias Result = E2ECluster.Result

    /// Runs a program to completion on a Dispatch thread (stdout and stderr together).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await offPool { try E2ECluster.run(executable, arguments, environment: environment) }
    }

    /// `berth ARGS --server … --data-dir …`, throwing on a non-zero exit.
    @discardableResult
    func client(_ arguments: [String]) async throws -> String {
        let cluster = cluster
        return try await offPool { try cluster.client(arguments) }
    }

    /// Starts `berth serve` with `arguments` added and `environment` on top
    /// of the isolation variables, and waits until its API answers.
    func start(arguments: [String] = [], environment extra: [String: String] = [:]) async throws {
        let cluster = cluster
        try await offPool { try cluster.startServe(arguments: arguments, environment: extra) }
    }

    func apply(_ yaml: String) async throws {
        let cluster = cluster
        try await offPool { try cluster.apply(yaml) }
    }

    /// `berth get pod NAME -o json`, parsed.
    func pod(_ name: String) async throws -> [String: Any] {
        let cluster = cluster
        let text = try await offPool { try cluster.client(["get", "pod", name, "-o", "json"]) }
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw BerthError(.internal, "berth get pod \(name) printed no JSON object: \(text)")
        }
        return object
    }

    /// Polls the pod until `condition` holds for it; returns it, or throws with its last state.
    @discardableResult
    func waitForPod(_ name: String, _ what: String, timeout: Duration = .seconds(120), _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            if let object = try? await pod(name) {
                last = object
                if condition(object) { return object }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let status = (try? JSONSerialization.data(withJSONObject: last["status"] ?? [:])).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        throw BerthError(.internal, "pod \(name) is not \(what) after \(timeout); status: \(status)")
    }

    /// The first container's state (`running`, `waiting` …) of a pod object.
    static func containerState(_ pod: [String: Any]) -> [String: Any] {
        let status = pod["status"] as? [String: Any]
        return ((status?["containerStatuses"] as? [[String: Any]])?.first?["state"] as? [String: Any]) ?? [:]
    }

    static func isRunning(_ pod: [String: Any]) -> Bool {
        (pod["status"] as? [String: Any])?["phase"] as? String == "Running" && containerState(pod)["running"] != nil
    }

    /// Stops serve and removes everything this node left on the machine.
    func destroy() async {
        let cluster = cluster
        _ = try? await offPool { cluster.destroy() }
    }
}
