import BerthAPI

/// How the node's pod network and Services dataplane are laid out.
///
/// Everything that names machine-global state (bridge, nftables tables, CIDRs)
/// is configurable so that tests — and a second Berth — never collide with a
/// running one.
public struct NetworkConfig: Sendable, Hashable {
    /// The Linux bridge every pod's veth is attached to (≤ 15 characters).
    public var bridgeName: String
    /// Pod addresses; the bridge gets the first host address and is every pod's gateway.
    public var podCIDR: IPv4CIDR
    /// ClusterIPs; routed to the bridge so that the node's own connections reach the nat output hook.
    public var serviceCIDR: IPv4CIDR
    /// Where the IPAM files live.
    public var dataDir: String
    /// Prefix of the nftables tables (`<prefix>` for the pod network, `<prefix>-svc` for Services).
    public var tablePrefix: String
    /// Off by default: pods get no route off the machine. On: masquerade pod traffic leaving the bridge.
    public var masquerade: Bool
    public var nodePortRange: ClosedRange<Int>
    public var clusterDomain: String

    public init(
        bridgeName: String = "berth0", podCIDR: IPv4CIDR, serviceCIDR: IPv4CIDR, dataDir: String,
        tablePrefix: String = "berth", masquerade: Bool = false, nodePortRange: ClosedRange<Int> = 30000...32767,
        clusterDomain: String = "cluster.local"
    ) {
        self.bridgeName = bridgeName
        self.podCIDR = podCIDR
        self.serviceCIDR = serviceCIDR
        self.dataDir = dataDir
        self.tablePrefix = tablePrefix
        self.masquerade = masquerade
        self.nodePortRange = nodePortRange
        self.clusterDomain = clusterDomain
    }

    /// Berth's defaults: `berth0`, 10.88.0.0/16 for pods, 10.89.0.0/16 for Services.
    public static func standard(dataDir: String) -> NetworkConfig {
        // Both literals are valid CIDRs.
        NetworkConfig(podCIDR: (try? IPv4CIDR("10.88.0.0/16")) ?? IPv4CIDR(network: IPv4Address(0x0A58_0000), prefix: 16),
                      serviceCIDR: (try? IPv4CIDR("10.89.0.0/16")) ?? IPv4CIDR(network: IPv4Address(0x0A59_0000), prefix: 16),
                      dataDir: dataDir)
    }

    /// The bridge's address: the pods' gateway and the cluster DNS server.
    public var gateway: IPv4Address { podCIDR.host(1) }
    public var networkTable: String { tablePrefix }
    public var serviceTable: String { tablePrefix + "-svc" }

    /// resolv.conf for a pod in `namespace`, as Kubernetes' ClusterFirst policy writes it.
    public func dnsConfig(namespace: String) -> DNSConfig {
        DNSConfig(nameservers: [gateway.description],
                  searches: ["\(namespace).svc.\(clusterDomain)", "svc.\(clusterDomain)", clusterDomain],
                  options: ["ndots:5"])
    }
}
