import BerthAPI
import Foundation

/// kube-proxy for one node, in nftables mode: ClusterIPs and NodePorts are
/// DNATed in the kernel to a ready endpoint chosen by `numgen random mod N`.
///
/// Why the kernel and not a userspace proxy: no extra copy and no extra hop
/// per byte (a userspace proxy doubles the sockets and context switches on
/// every request), connections keep their conntrack entry after a rule change
/// (existing ones live on, new ones follow the new map at once), and the node's
/// own connections are handled by the same rules through the nat output hook.
///
/// The whole table is re-rendered and replaced in one `nft -f` transaction on
/// every `setServices` call, so a removed or unready endpoint stops getting
/// new connections as soon as the call returns. ClusterIPs and NodePorts are
/// allocated from persisted IPAMs, like pod addresses.
public actor ServiceProxy {
    public nonisolated let config: NetworkConfig
    let clusterIPs: IPAM
    let nodePorts: IPAM
    private var services: [ServiceEntry] = []
    /// `nft -f` and IPAM file locks block: they run on this actor's own queue, not the cooperative pool.
    private let executor = DispatchQueueExecutor(label: "berth.service-proxy")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(config: NetworkConfig) throws {
        self.config = config
        clusterIPs = try IPAM(path: config.dataDir + "/network/\(config.bridgeName)-clusterips.json", cidr: config.serviceCIDR, reserved: 0)
        nodePorts = try IPAM(path: config.dataDir + "/network/\(config.bridgeName)-nodeports.json",
                             range: UInt32(config.nodePortRange.lowerBound)...UInt32(config.nodePortRange.upperBound))
    }

    // MARK: - Allocation

    /// A ClusterIP for the Service (the same one again on repeated calls);
    /// `requested` is honoured if free and inside the service CIDR.
    public func allocateClusterIP(namespace: String, name: String, requested: String? = nil) throws -> String {
        var wanted: UInt32?
        if let requested, !requested.isEmpty {
            guard let a = IPv4Address(requested), config.serviceCIDR.contains(a) else {
                throw BerthError(.invalidArgument, "clusterIP \(requested) is not an address in the service CIDR \(config.serviceCIDR)",
                                 object: "Service/\(namespace)/\(name)")
            }
            wanted = a.value
        }
        return IPv4Address(try clusterIPs.allocate(owner: "\(namespace)/\(name)", requested: wanted,
                                                   describe: { IPv4Address($0).description }).value).description
    }

    /// A NodePort for one port of the Service: `requested` (a clear error when
    /// another Service holds it or it is outside the range), else a free one.
    /// A port whose requested nodePort changed moves to the new one.
    public func allocateNodePort(namespace: String, name: String, port: String, requested: Int? = nil) throws -> Int {
        if let requested, !config.nodePortRange.contains(requested) {
            throw BerthError(.invalidArgument,
                             "nodePort \(requested) is outside the node port range \(config.nodePortRange.lowerBound)–\(config.nodePortRange.upperBound)",
                             hint: "choose a port in the range or leave nodePort out to get a free one",
                             object: "Service/\(namespace)/\(name)")
        }
        do {
            return Int(try nodePorts.allocate(owner: "\(namespace)/\(name)/\(port)", requested: requested.map { UInt32($0) }, move: true).value)
        } catch var e as BerthError {
            e.message = "nodePort: " + e.message
            e.object = "Service/\(namespace)/\(name)"
            throw e
        }
    }

    /// Releases the Service's NodePorts except those of the ports in `keeping`
    /// (port keys as passed to `allocateNodePort`): ports that were removed,
    /// or all of them when the Service is no longer of type NodePort.
    public func releaseNodePorts(namespace: String, name: String, keeping: Set<String>) throws {
        try nodePorts.release(ownerPrefix: "\(namespace)/\(name)/", keeping: Set(keeping.map { "\(namespace)/\(name)/\($0)" }))
    }

    /// Which Service holds each allocated NodePort (`namespace/name`).
    public func nodePortHolders() throws -> [Int: String] {
        var holders: [Int: String] = [:]
        for a in try nodePorts.allocations() {
            holders[Int(a.value)] = a.owner.split(separator: "/").prefix(2).joined(separator: "/")
        }
        return holders
    }

    /// Releases the Service's ClusterIP and NodePorts.
    public func releaseService(namespace: String, name: String) throws {
        try clusterIPs.release(owner: "\(namespace)/\(name)")
        try nodePorts.release(ownerPrefix: "\(namespace)/\(name)/")
    }

    // MARK: - Dataplane

    /// Replaces the whole Services dataplane with these entries, atomically.
    public func setServices(_ entries: [ServiceEntry]) throws {
        try NetworkCommand.replaceTable(config.serviceTable, body: ServiceProxyRules.render(entries))
        services = entries
    }

    public func currentServices() -> [ServiceEntry] { services }

    /// Deletes the table; with `removeState`, the allocation files too.
    public func teardown(removeState: Bool = false) throws {
        try NetworkCommand.deleteTable(config.serviceTable)
        services = []
        if removeState {
            for p in [clusterIPs.path, nodePorts.path] {
                try? FileManager.default.removeItem(atPath: p)
                try? FileManager.default.removeItem(atPath: p + ".lock")
            }
        }
    }
}
