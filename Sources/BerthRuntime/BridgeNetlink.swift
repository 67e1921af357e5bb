import BerthAPI
import CBerthLinux
import Glibc

/// Swift face of the rtnetlink shim (netlink.c): turns `-errno` into `BerthError`s that say what failed.
enum BridgeNetlink {
    static func check(_ r: Int32, _ what: @autoclosure () -> String) throws {
        guard r < 0 else { return }
        throw BerthError(.runtime, "\(what()): \(String(cString: strerror(-r)))")
    }

    static func ifindex(_ name: String) -> Int32 { max(0, berth_nl_ifindex(name)) }

    @discardableResult
    static func ensureBridge(_ name: String) throws -> Int32 {
        let r = berth_nl_bridge_ensure(name)
        try check(r, "create bridge \(name)")
        return r
    }

    static func addAddress(ifindex: Int32, _ ip: IPv4Address, prefix: Int, on name: String) throws {
        try check(berth_nl_addr_add(ifindex, ip.description, Int32(prefix)), "add \(ip)/\(prefix) to \(name)")
    }

    static func deleteLink(_ name: String) throws {
        try check(berth_nl_link_delete(name), "delete interface \(name)")
    }

    static func addLinkRoute(_ cidr: IPv4CIDR, oif: Int32, src: IPv4Address?, dev: String) throws {
        try check(berth_nl_route_add_link(cidr.network.description, Int32(cidr.prefix), oif, src?.description),
                  "add route \(cidr) dev \(dev)")
    }

    static func deleteLinkRoute(_ cidr: IPv4CIDR, oif: Int32, dev: String) throws {
        try check(berth_nl_route_del_link(cidr.network.description, Int32(cidr.prefix), oif), "delete route \(cidr) dev \(dev)")
    }

    /// veth pair with the peer created as `eth0` inside the namespace at `netnsPath`, then configured from inside it.
    static func plugPod(netnsPath: String, hostName: String, bridgeIndex: Int32, ip: IPv4Address, prefix: Int,
                        gateway: IPv4Address) throws {
        let fd = open(netnsPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BerthError(.runtime, "open network namespace \(netnsPath): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try check(berth_nl_veth_create(hostName, "eth0", fd, bridgeIndex), "create veth \(hostName) on the bridge")
        var step: UnsafePointer<CChar>? = nil
        let r = berth_nl_pod_configure(fd, "eth0", ip.description, Int32(prefix), gateway.description, &step)
        if r < 0 {
            try? deleteLink(hostName)
            try check(r, "configure the pod interface (\(step.map { String(cString: $0) } ?? "?"))")
        }
    }
}
