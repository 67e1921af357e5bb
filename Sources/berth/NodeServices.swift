import BerthAPI
import BerthOrchestrator
import BerthReconciler
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
    /// - Parameter registries: the `registries:` of berth.yaml (mirrors,
    ///   insecure hosts, credentials), on top of `<dataDir>/registries.json`.
    static func make(
        store: Store, api: inout APIServer, dataDirectory: String, registries: [RegistryConfig] = []
    ) throws -> [any ServiceLifecycle.Service] {
        var base = try LinuxNodeRuntime(dataDir: dataDirectory)
        let registry = try RegistryClient(configuration: RegistrySettings.load(dataDirectory: dataDirectory, registries: registries))
        base.puller = ImagePuller(store: base.images, client: registry)
        let config = try networkConfig(dataDirectory: dataDirectory, environment: ProcessInfo.processInfo.environment)
        let network = try NetworkManager(config: config)
        let runtime = NetworkNodeRuntime(base: base, network: network)
        let proxy = try ServiceProxy(config: config)
        let dns = DNSServer(clusterDomain: config.clusterDomain)
        let dnsPort = ProcessInfo.processInfo.environment["BERTH_DNS_PORT"].flatMap(Int.init) ?? 53
        let networking = ServiceProxyNetworking(proxy: proxy, dns: dns)
        api.logProvider = RuntimeLogProvider(store: store, runtime: runtime)
        api.admissionChecks.append(NodePortAdmission(store: store, networking: networking, range: config.nodePortRange))
        return [
            NetworkStartService(runtime: runtime, dns: dns, dnsHost: config.gateway.description, dnsPort: dnsPort),
            RegistryClientService(client: registry),
            Orchestrator.serving(store: store, runtime: runtime, dataDirectory: dataDirectory, serviceNetworking: networking),
        ]
    }

    /// Berth's standard network, with optional overrides so that tests (and a
    /// second Berth on one machine) use their own bridge, CIDRs and nftables
    /// tables: BERTH_BRIDGE, BERTH_POD_CIDR, BERTH_SERVICE_CIDR, BERTH_NFT_PREFIX.
    static func networkConfig(dataDirectory: String, environment: [String: String]) throws -> NetworkConfig {
        var config = NetworkConfig.standard(dataDir: dataDirectory)
        if let bridge = environment["BERTH_BRIDGE"], !bridge.isEmpty {
            guard bridge.utf8.count <= 15 else {
                throw BerthError(.invalidArgument, "BERTH_BRIDGE \"\(bridge)\" is longer than 15 characters", hint: "use a shorter interface name")
            }
            config.bridgeName = bridge
        }
        if let cidr = environment["BERTH_POD_CIDR"], !cidr.isEmpty { config.podCIDR = try IPv4CIDR(cidr) }
        if let cidr = environment["BERTH_SERVICE_CIDR"], !cidr.isEmpty { config.serviceCIDR = try IPv4CIDR(cidr) }
        if let prefix = environment["BERTH_NFT_PREFIX"], !prefix.isEmpty { config.tablePrefix = prefix }
        return config
    }
}

/// Brings the bridge up and collects a crash's leftovers before the
/// orchestrator starts pods; a CIDR that overlaps a route stops `serve`
/// with the route named.
struct NetworkStartService: ServiceLifecycle.Service {
    let runtime: NetworkNodeRuntime
    /// The cluster DNS listens on the bridge address, so it starts once the bridge is up.
    let dns: DNSServer
    let dnsHost: String
    let dnsPort: Int

    func run() async throws {
        let collected = try await runtime.start()
        if !collected.isEmpty {
            Logger(label: "berth.network").info("collected leftovers of a crash: \(collected.joined(separator: ", "))")
        }
        try await dns.start(host: dnsHost, port: dnsPort)
        try? await gracefulShutdown()
        await dns.stop()
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

/// Owns the registry client's connection pool for the life of `serve`.
struct RegistryClientService: ServiceLifecycle.Service {
    let client: RegistryClient

    func run() async throws {
        try? await gracefulShutdown()
        try? await client.shutdown()
    }
}
