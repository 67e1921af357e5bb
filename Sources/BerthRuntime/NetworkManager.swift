import BerthAPI
import CBerthLinux
import Foundation

/// The node's pod network — what a CNI bridge plugin plus host-local IPAM do
/// for a kubelet: one bridge, one veth per pod sandbox, an address per pod
/// from a persisted IPAM, hostPort publishing, and crash-leftover collection.
///
/// Links, addresses and routes are made over rtnetlink (netlink.c), not by
/// spawning `ip`; the pod side is configured by a C child inside the pod's
/// network namespace. Firewall state is one nftables table owned by this
/// actor and always replaced whole, in one transaction.
public actor NetworkManager {
    public nonisolated let config: NetworkConfig
    let ipam: IPAM
    private var started = false
    /// Netlink, `nft` and IPAM file locks block: they run on this actor's own queue, not the cooperative pool.
    private let executor = DispatchQueueExecutor(label: "berth.network")
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// What `attach` returns: the pod's address and its host-side interface.
    public struct Attachment: Sendable, Hashable {
        public var ip: IPv4Address
        public var hostInterface: String
    }

    public init(config: NetworkConfig) throws {
        self.config = config
        guard config.bridgeName.utf8.count <= 15, !config.bridgeName.isEmpty else {
            throw BerthError(.invalidArgument, "bridge name \(config.bridgeName) must be 1–15 characters")
        }
        ipam = try IPAM(path: config.dataDir + "/network/\(config.bridgeName)-pods.json", cidr: config.podCIDR, reserved: 1)
    }

    // MARK: - Start / stop

    /// Brings the bridge up (idempotent), after checking that neither CIDR
    /// overlaps a route that is not ours, then collects what a crash left
    /// behind: veths and IPAM entries of sandboxes not in `liveSandboxes`.
    @discardableResult
    public func start(liveSandboxes: Set<String>) throws -> [String] {
        if config.podCIDR.overlaps(config.serviceCIDR) {
            throw BerthError(.invalidArgument, "the pod CIDR \(config.podCIDR) overlaps the service CIDR \(config.serviceCIDR)",
                             hint: "give them disjoint ranges")
        }
        for route in Self.routes() where route.dev != config.bridgeName && route.cidr.prefix > 0 {
            for (what, cidr) in [("pod", config.podCIDR), ("service", config.serviceCIDR)] where cidr.overlaps(route.cidr) {
                throw BerthError(.conflict, "the \(what) CIDR \(cidr) overlaps the existing route \(route.cidr) dev \(route.dev)",
                                 hint: "configure a \(what) CIDR that no interface of this machine uses")
            }
        }
        let index = try BridgeNetlink.ensureBridge(config.bridgeName)
        try BridgeNetlink.addAddress(ifindex: index, config.gateway, prefix: config.podCIDR.prefix, on: config.bridgeName)
        let conf = "/proc/sys/net/ipv4/conf/\(config.bridgeName)"
        // Forwarding only for packets that arrive on the bridge (pod → ClusterIP → pod); the
        // machine-wide ip_forward stays as it is. route_localnet lets 127.0.0.1 be DNATed to a pod.
        try NetworkCommand.writeSysctl(conf + "/forwarding", "1")
        try NetworkCommand.writeSysctl(conf + "/route_localnet", "1")
        // The node's own connections to ClusterIPs need a route before the nat output hook rewrites them.
        try BridgeNetlink.addLinkRoute(config.serviceCIDR, oif: index, src: config.gateway, dev: config.bridgeName)
        started = true
        let collected = try collectLeftovers(liveSandboxes: liveSandboxes)
        try applyRules()
        return collected
    }

    /// Removes the bridge (and with it every veth still on it), the route and
    /// the nftables table. With `removeState`, the IPAM file goes too.
    public func teardown(removeState: Bool = false) throws {
        try NetworkCommand.deleteTable(config.networkTable)
        let index = BridgeNetlink.ifindex(config.bridgeName)
        if index > 0 {
            try BridgeNetlink.deleteLinkRoute(config.serviceCIDR, oif: index, dev: config.bridgeName)
            for link in Self.links(masterIndex: index) { try BridgeNetlink.deleteLink(link) }
            try BridgeNetlink.deleteLink(config.bridgeName)
        }
        if removeState {
            try? FileManager.default.removeItem(atPath: ipam.path)
            try? FileManager.default.removeItem(atPath: ipam.path + ".lock")
        }
        started = false
    }

    // MARK: - Pods

    /// Gives the sandbox whose network namespace is at `netnsPath` (normally
    /// `/proc/<pause pid>/ns/net`) an address, a veth on the bridge and a
    /// default route; publishes its hostPorts. Idempotent per sandbox id.
    public func attach(sandboxID: String, namespace: String, netnsPath: String,
                       portMappings: [PortMapping] = []) throws -> Attachment {
        guard started else { throw BerthError(.unavailable, "the pod network is not started") }
        let hostName = Self.vethName(bridge: config.bridgeName, sandboxID: sandboxID)
        try checkHostPorts(portMappings, sandboxID: sandboxID)
        let allocation = try ipam.allocate(
            owner: sandboxID,
            attributes: ["veth": hostName, "namespace": namespace, "hostPorts": PortMapEntry.encode(portMappings)],
            describe: { IPv4Address($0).description })
        let ip = IPv4Address(allocation.value)
        let bridgeIndex = BridgeNetlink.ifindex(config.bridgeName)
        guard bridgeIndex > 0 else { throw BerthError(.unavailable, "bridge \(config.bridgeName) is gone") }
        if BridgeNetlink.ifindex(hostName) == 0 {
            do {
                try BridgeNetlink.plugPod(netnsPath: netnsPath, hostName: hostName, bridgeIndex: bridgeIndex, ip: ip,
                                          prefix: config.podCIDR.prefix, gateway: config.gateway)
            } catch {
                _ = try? ipam.release(owner: sandboxID)
                throw error
            }
        }
        // Hairpin: a pod reaching itself through its Service's ClusterIP gets its packet back on the
        // port it came in on. Needed whenever br_netfilter runs the nat hooks on bridged frames.
        try NetworkCommand.writeSysctl("/sys/class/net/\(hostName)/brport/hairpin_mode", "1")
        if !portMappings.isEmpty { try applyRules() }
        return Attachment(ip: ip, hostInterface: hostName)
    }

    /// Releases the sandbox's address, deletes its veth and unpublishes its hostPorts.
    public func detach(sandboxID: String) throws {
        let gone = try ipam.release(owner: sandboxID)
        try BridgeNetlink.deleteLink(Self.vethName(bridge: config.bridgeName, sandboxID: sandboxID))
        if gone.contains(where: { !($0.attributes["hostPorts"] ?? "").isEmpty }) { try applyRules() }
    }

    /// The address recorded for a sandbox, if any.
    public func address(sandboxID: String) throws -> IPv4Address? {
        try ipam.allocations().first { $0.owner == sandboxID }.map { IPv4Address($0.value) }
    }

    public func allocations() throws -> [IPAMAllocation] { try ipam.allocations() }

    /// Deletes veths on the bridge that belong to no live sandbox and releases
    /// IPAM entries of sandboxes that are gone; returns what it removed.
    @discardableResult
    public func collectLeftovers(liveSandboxes: Set<String>) throws -> [String] {
        var removed: [String] = []
        var keep: Set<String> = []
        var hadPorts = false
        for a in try ipam.allocations() {
            if liveSandboxes.contains(a.owner) {
                keep.insert(a.attributes["veth"] ?? "")
            } else {
                try ipam.release(owner: a.owner)
                if let veth = a.attributes["veth"] { try BridgeNetlink.deleteLink(veth) }
                hadPorts = hadPorts || !(a.attributes["hostPorts"] ?? "").isEmpty
                removed.append("address \(IPv4Address(a.value)) of sandbox \(a.owner)")
            }
        }
        let index = BridgeNetlink.ifindex(config.bridgeName)
        if index > 0 {
            for link in Self.links(masterIndex: index) where !keep.contains(link) {
                try BridgeNetlink.deleteLink(link)
                removed.append("interface \(link)")
            }
        }
        if hadPorts && started { try applyRules() }
        return removed
    }

    // MARK: - Rules

    private func checkHostPorts(_ mappings: [PortMapping], sandboxID: String) throws {
        guard !mappings.isEmpty else { return }
        let mine = mappings.map(PortMapEntry.init)
        for a in try ipam.allocations() where a.owner != sandboxID {
            for other in PortMapEntry.decode(a.attributes["hostPorts"] ?? "") {
                if let clash = mine.first(where: { $0.clashes(with: other) }) {
                    throw BerthError(.conflict, "hostPort \(clash.hostIP):\(clash.hostPort)/\(clash.proto) is already published by sandbox \(a.owner)",
                                     hint: "choose another hostPort")
                }
            }
        }
    }

    /// Re-renders and atomically replaces the pod network's nftables table.
    func applyRules() throws {
        var published: [(PortMapEntry, IPv4Address)] = []
        for a in try ipam.allocations() {
            for e in PortMapEntry.decode(a.attributes["hostPorts"] ?? "") { published.append((e, IPv4Address(a.value))) }
        }
        try NetworkCommand.replaceTable(config.networkTable, body: NetworkRules.render(config: config, hostPorts: published))
    }

    // MARK: - Machine state

    struct Route { var cidr: IPv4CIDR; var dev: String }

    /// IPv4 routes of the main table (/proc/net/route).
    static func routes() -> [Route] {
        guard let text = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count >= 8, let dst = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16) else { return nil }
            let prefix = mask.nonzeroBitCount
            return Route(cidr: IPv4CIDR(network: IPv4Address(dst.byteSwapped), prefix: prefix), dev: String(f[0]))
        }
    }

    /// Names of the interfaces enslaved to the bridge with this ifindex.
    static func links(masterIndex: Int32) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
        return names.filter { name in
            guard let text = try? String(contentsOfFile: "/sys/class/net/\(name)/master/ifindex", encoding: .utf8) else { return false }
            return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) == masterIndex
        }
    }

    /// `vb` + 12 hex digits of a hash of bridge and sandbox: stable (so attach
    /// is idempotent and leftovers are recognizable) and within IFNAMSIZ.
    public static func vethName(bridge: String, sandboxID: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (bridge + "/" + sandboxID).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        let padded = String(repeating: "0", count: max(0, 16 - hex.count)) + hex
        return "vb" + padded.prefix(12)
    }
}
