import BerthAPI
import BerthRuntime
import Foundation
import Logging

/// The Services half of the control plane, keyed by Service name:
///
/// - allocates a ClusterIP (and NodePorts for `type: NodePort`) when the
///   Service has none and writes them into its spec; a taken or out-of-range
///   request becomes a Warning Event on the Service;
/// - keeps the Endpoints object of the same name (owned by the Service) equal
///   to the matching pods, ready ones in `addresses`, others in `notReadyAddresses`;
/// - on deletion releases the allocations and deletes the Endpoints;
/// - pushes all Services with their endpoints to the node's dataplane
///   (nftables proxy and cluster DNS) whenever that table changes.
///
/// Without `networking` (tests of the pure control plane) only Endpoints are kept.
public struct ServiceController: Sendable {
    let store: any OrchestratorStore
    let networking: (any ServiceNetworking)?
    let dataplane = DataplaneState()
    let logger: Logger

    public init(store: any OrchestratorStore, networking: (any ServiceNetworking)?, logger: Logger = Logger(label: "berth.services")) {
        self.store = store
        self.networking = networking
        self.logger = logger
    }

    public func reconcile(namespace: String, name: String) async throws -> ReconcileResult {
        guard var service = try await store.get(BerthAPI.Service.self, namespace: namespace, name: name), !service.isTerminating else {
            try await networking?.releaseService(namespace: namespace, name: name)
            if try await store.get(Endpoints.self, namespace: namespace, name: name) != nil {
                do { try await store.delete(.endpoints, namespace: namespace, name: name) } catch let e as BerthError where e.code == .notFound {}
            }
            try await syncDataplane()
            return .done
        }
        var result = ReconcileResult.done
        if networking != nil {
            result = try await allocate(&service)
        }
        if service.spec.selector != nil {
            try await writeEndpoints(for: service)
        }
        try await syncDataplane()
        return result
    }

    // MARK: - Allocation

    static func wantsNodePorts(_ service: BerthAPI.Service) -> Bool {
        service.spec.type == "NodePort" || service.spec.type == "LoadBalancer"
    }

    static func portKey(_ port: ServicePort) -> String {
        "\(port.port)-\((port.protocol ?? "TCP").uppercased())"
    }

    private func allocate(_ service: inout BerthAPI.Service) async throws -> ReconcileResult {
        guard let networking else { return .done }
        var changed = service
        do {
            if changed.spec.clusterIP != "None" {
                let requested = changed.spec.clusterIP.flatMap { $0.isEmpty ? nil : $0 }
                let ip = try await networking.allocateClusterIP(namespace: service.namespace, name: service.name, requested: requested)
                changed.spec.clusterIP = ip
                changed.spec.clusterIPs = [ip]
            }
            var keep: Set<String> = []
            if Self.wantsNodePorts(changed) {
                for i in (changed.spec.ports ?? []).indices {
                    guard let port = changed.spec.ports?[i] else { continue }
                    let allocated = try await networking.allocateNodePort(namespace: service.namespace, name: service.name,
                                                                          port: Self.portKey(port), requested: port.nodePort)
                    changed.spec.ports?[i].nodePort = allocated
                    keep.insert(Self.portKey(port))
                }
            }
            // Ports that were removed, or every port once the type is no longer NodePort, free their nodePorts.
            try await networking.releaseNodePorts(namespace: service.namespace, name: service.name, keeping: keep)
        } catch let error as BerthError where error.code != .runtime {
            await store.recordEvent(involving: service.objectReference, reason: "FailedAllocation",
                                    message: error.message + (error.hint.map { " (\($0))" } ?? ""), type: "Warning")
            logger.warning("service \(service.namespace)/\(service.name): \(error.message)")
            return .requeueAfter(30)
        }
        if changed != service {
            service = try await store.update(changed)
            await store.recordEvent(involving: service.objectReference, reason: "Allocated",
                                    message: "clusterIP \(service.spec.clusterIP ?? "-")"
                                        + ((service.spec.ports ?? []).compactMap(\.nodePort).map { ", nodePort \($0)" }.joined()),
                                    type: "Normal")
        }
        return .done
    }

    // MARK: - Endpoints

    private func writeEndpoints(for service: BerthAPI.Service) async throws {
        let pods = try await store.list(Pod.self, namespace: service.namespace)
        let subsets = EndpointsComputation.subsets(for: service, pods: pods)
        let owner = OwnerReference(apiVersion: "v1", kind: "Service", name: service.name, uid: service.uid, controller: true)
        if var existing = try await store.get(Endpoints.self, namespace: service.namespace, name: service.name) {
            if (existing.subsets ?? []) == subsets && existing.metadata.ownerReferences == [owner] { return }
            existing.subsets = subsets
            existing.metadata.ownerReferences = [owner]
            _ = try await store.update(existing)
        } else {
            var meta = ObjectMeta(name: service.name, namespace: service.namespace, labels: service.metadata.labels)
            meta.ownerReferences = [owner]
            _ = try await store.create(Endpoints(metadata: meta, subsets: subsets))
        }
    }

    // MARK: - Dataplane

    /// Every Service with its Endpoints as the proxy and DNS see them.
    public func dataplaneEntries() async throws -> [ServiceEntry] {
        let services = try await store.list(BerthAPI.Service.self, namespace: nil)
        var endpoints: [String: Endpoints] = [:]
        for e in try await store.list(Endpoints.self, namespace: nil) { endpoints["\(e.namespace)/\(e.name)"] = e }
        return services.filter { !$0.isTerminating }.map { service in
            var entry = EndpointsComputation.entry(for: service, endpoints: endpoints["\(service.namespace)/\(service.name)"])
            if !Self.wantsNodePorts(service) {
                for i in entry.ports.indices { entry.ports[i].nodePort = nil }
            }
            return entry
        }.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    /// Pushes the table to the dataplane when it differs from the last one pushed.
    public func syncDataplane() async throws {
        guard let networking else { return }
        let entries = try await dataplaneEntries()
        guard await dataplane.needsPush(entries) else { return }
        do {
            try await networking.setServices(entries)
            await dataplane.pushed(entries)
        } catch {
            await dataplane.failed()
            throw error
        }
    }
}

/// The last table pushed to the dataplane, so that unrelated pod changes do
/// not rewrite the nftables table.
actor DataplaneState {
    private var last: [ServiceEntry]?
    func needsPush(_ entries: [ServiceEntry]) -> Bool { last != entries }
    func pushed(_ entries: [ServiceEntry]) { last = entries }
    func failed() { last = nil }
    /// Services the dataplane knows: a resync revisits them, so that a
    /// deletion missed by the change feed still releases its allocation.
    func knownNames() -> [(namespace: String, name: String)] { (last ?? []).map { ($0.namespace, $0.name) } }
}
