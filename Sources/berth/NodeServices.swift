import BerthAPI
import BerthOrchestrator
import BerthRuntime
import BerthServer
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// Joins the orchestrator and the Linux node runtime to `berth serve`: the
/// controllers run in the same ServiceGroup as the API, and the API serves
/// pod logs from the runtime's CRI log files.
enum NodeServices {
    static func make(store: Store, api: inout APIServer, dataDirectory: String) throws -> [any ServiceLifecycle.Service] {
        let base = try LinuxNodeRuntime(dataDir: dataDirectory)
        let network = try NetworkManager(config: NetworkEnvironment.config(dataDirectory: dataDirectory))
        let runtime = NetworkNodeRuntime(base: base, network: network)
        api.logProvider = RuntimeLogProvider(store: store, runtime: runtime)
        return [
            NetworkStartService(runtime: runtime),
            Orchestrator.serving(store: store, runtime: runtime, dataDirectory: dataDirectory),
        ]
    }
}

/// Brings the bridge up and collects a crash's leftovers before the
/// orchestrator starts pods; a CIDR that overlaps a route stops `serve`
/// with the route named.
struct NetworkStartService: ServiceLifecycle.Service {
    let runtime: NetworkNodeRuntime

    func run() async throws {
        let collected = try await runtime.start()
        if !collected.isEmpty {
            Logger(label: "berth.network").info("collected leftovers of a crash: \(collected.joined(separator: ", "))")
        }
        try? await gracefulShutdown()
    }
}

/// Pod logs for the API: the pod's status names the runtime container
/// (`berth://<id>`); the log is the runtime's CRI log of that container.
struct RuntimeLogProvider: LogProvider {
    let store: Store
    let runtime: any NodeRuntime

    func logs(
        namespace: String, pod: String, container: String, tailLines: Int?, follow: Bool
    ) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let id = try await containerID(namespace: namespace, pod: pod, container: container)
        let runtime = runtime
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var printed = 0
                    var lines = try await runtime.readLog(containerID: id, tailLines: nil)
                    if let tailLines, lines.count > tailLines { printed = lines.count - tailLines }
                    while true {
                        for line in lines.dropFirst(printed) {
                            continuation.yield(Array((line.text + "\n").utf8))
                        }
                        printed = max(printed, lines.count)
                        guard follow else { break }
                        let state = try? await runtime.containerStatus(id: id).state
                        if state != .running && state != .created { break }
                        try await Task.sleep(for: .milliseconds(250))
                        lines = try await runtime.readLog(containerID: id, tailLines: nil)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func containerID(namespace: String, pod: String, container: String) async throws -> String {
        let key = ObjectKey(apiVersion: "v1", kind: "Pod", namespace: namespace, name: pod)
        guard let stored = try await store.get(key) else {
            throw BerthError(.notFound, "pod \(namespace)/\(pod) not found")
        }
        let object: Pod = try stored.object.decode()
        let statuses = (object.status?.containerStatuses ?? []) + (object.status?.initContainerStatuses ?? [])
        guard let status = statuses.first(where: { $0.name == container }) else {
            throw BerthError(.notFound, "container \(container) is not in pod \(namespace)/\(pod)")
        }
        guard let id = status.containerID ?? status.lastState?.terminated?.containerID else {
            throw BerthError(
                .unavailable, "container \(container) in pod \(namespace)/\(pod) has not started yet",
                hint: "see `berth describe pod \(pod)` for why")
        }
        return id.hasPrefix("berth://") ? String(id.dropFirst("berth://".count)) : id
    }
}
