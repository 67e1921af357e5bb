import BerthAPI
import BerthRuntime
import Foundation

/// The pure part of the Endpoints controller: which pods back a Service and
/// on which ports. Kept free of the store so that selector matching, the
/// ready/not-ready split and named-port resolution are unit-testable.
public enum EndpointsComputation {
    /// Whether `labels` satisfy a Service's equality-based selector. An empty
    /// selector selects nothing (Kubernetes: a Service without selector has
    /// hand-managed Endpoints; an empty map is treated the same way).
    public static func selects(_ selector: [String: String], labels: [String: String]?) -> Bool {
        guard !selector.isEmpty else { return false }
        let labels = labels ?? [:]
        return selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// The pod's port for one Service port: a number as is, a name looked up
    /// among the pod's container ports (with the same protocol); nil when the
    /// pod has no such named port, so the pod does not serve that port.
    public static func resolveTargetPort(_ port: ServicePort, in pod: Pod) -> Int? {
        let proto = (port.protocol ?? "TCP").uppercased()
        switch port.targetPort {
        case nil:
            return port.port
        case .int(let n)?:
            return n
        case .string(let name)?:
            if let n = Int(name) { return n }
            for container in pod.spec.containers {
                for p in container.ports ?? [] where p.name == name && (p.protocol ?? "TCP").uppercased() == proto {
                    return p.containerPort
                }
            }
            return nil
        }
    }

    /// The Endpoints subsets for a Service over the pods of its namespace:
    /// pods grouped by their resolved port set; ready pods in `addresses`,
    /// the others in `notReadyAddresses`. Pods without an IP, terminating
    /// or finished pods are left out. Order is stable (by IP) so that
    /// an unchanged cluster yields an unchanged object (no write).
    public static func subsets(for service: BerthAPI.Service, pods: [Pod]) -> [EndpointSubset] {
        guard let selector = service.spec.selector else { return [] }
        let servicePorts = service.spec.ports ?? []
        var groups: [[EndpointPort]: (ready: [EndpointAddress], notReady: [EndpointAddress])] = [:]
        for pod in pods where selects(selector, labels: pod.metadata.labels) {
            guard let ip = pod.status?.podIP, !ip.isEmpty, pod.metadata.deletionTimestamp == nil,
                  !PodUtil.isTerminal(pod) else { continue }
            var ports: [EndpointPort] = []
            for sp in servicePorts {
                guard let target = resolveTargetPort(sp, in: pod) else { continue }
                ports.append(EndpointPort(name: sp.name, port: target, protocol: (sp.protocol ?? "TCP").uppercased()))
            }
            if !servicePorts.isEmpty && ports.isEmpty { continue }
            let address = EndpointAddress(
                ip: ip, nodeName: pod.spec.nodeName,
                targetRef: .init(kind: "Pod", namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name,
                                 uid: pod.metadata.uid))
            var group = groups[ports] ?? (ready: [], notReady: [])
            if PodUtil.isReady(pod) { group.ready.append(address) } else { group.notReady.append(address) }
            groups[ports] = group
        }
        let byIP: (EndpointAddress, EndpointAddress) -> Bool = { ($0.ip, $0.targetRef?.name ?? "") < ($1.ip, $1.targetRef?.name ?? "") }
        return groups.map { ports, group in
            EndpointSubset(addresses: group.ready.isEmpty ? nil : group.ready.sorted(by: byIP),
                           notReadyAddresses: group.notReady.isEmpty ? nil : group.notReady.sorted(by: byIP),
                           ports: ports.isEmpty ? nil : ports)
        }.sorted { key($0) < key($1) }
    }

    private static func key(_ subset: EndpointSubset) -> String {
        (subset.ports ?? []).map { "\($0.name ?? "")/\($0.port)/\($0.protocol ?? "")" }.joined(separator: ",")
    }

    // MARK: - Dataplane entries

    /// What the service proxy and the cluster DNS need for one Service: its
    /// ClusterIP, ports with target ports resolved through its Endpoints
    /// (by port name), and every endpoint address with its readiness.
    /// A Service port whose target differs between pods uses the first subset's.
    public static func entry(for service: BerthAPI.Service, endpoints: Endpoints?) -> ServiceEntry {
        let subsets = endpoints?.subsets ?? []
        var ports: [ServicePortSpec] = []
        for sp in service.spec.ports ?? [] {
            let proto = (sp.protocol ?? "TCP").uppercased()
            let name = sp.name ?? ""
            let fromEndpoints = subsets.lazy.compactMap { s in
                s.ports?.first { ($0.name ?? "") == name && ($0.protocol ?? "TCP").uppercased() == proto }?.port
            }.first
            let target: Int
            switch sp.targetPort {
            case .int(let n)?: target = n
            case nil: target = sp.port
            case .string(let s)?: target = fromEndpoints ?? Int(s) ?? sp.port
            }
            ports.append(ServicePortSpec(name: name, protocol: proto, port: sp.port, targetPort: target, nodePort: sp.nodePort))
        }
        var addresses: [ServiceEndpoint] = []
        var seen = Set<String>()
        for s in subsets {
            for a in s.addresses ?? [] where seen.insert(a.ip).inserted { addresses.append(ServiceEndpoint(ip: a.ip, ready: true)) }
            for a in s.notReadyAddresses ?? [] where seen.insert(a.ip).inserted { addresses.append(ServiceEndpoint(ip: a.ip, ready: false)) }
        }
        let ip = service.spec.clusterIP
        let clusterIP = (ip == nil || ip == "" || ip == "None") ? nil : ip
        return ServiceEntry(namespace: service.metadata.namespace ?? "default", name: service.metadata.name,
                            clusterIP: clusterIP, ports: ports, endpoints: addresses)
    }
}
