import BerthAPI

/// One published hostPort, in the compact form kept in the IPAM record
/// (`tcp|127.0.0.1|8080|80`), so that a restarted Berth re-publishes it.
struct PortMapEntry: Sendable, Hashable {
    var proto: String
    var hostIP: String
    var hostPort: Int
    var containerPort: Int

    init(_ m: PortMapping) {
        proto = m.protocol.lowercased() == "udp" ? "udp" : "tcp"
        hostIP = m.hostIP.isEmpty ? "127.0.0.1" : m.hostIP
        hostPort = m.hostPort
        containerPort = m.containerPort
    }

    init?(_ text: Substring) {
        let f = text.split(separator: "|")
        guard f.count == 4, let hp = Int(f[2]), let cp = Int(f[3]) else { return nil }
        proto = String(f[0]); hostIP = String(f[1]); hostPort = hp; containerPort = cp
    }

    var text: String { "\(proto)|\(hostIP)|\(hostPort)|\(containerPort)" }

    func clashes(with other: PortMapEntry) -> Bool {
        proto == other.proto && hostPort == other.hostPort
            && (hostIP == other.hostIP || hostIP == "0.0.0.0" || other.hostIP == "0.0.0.0")
    }

    static func encode(_ mappings: [PortMapping]) -> String {
        mappings.filter { $0.hostPort > 0 }.map { PortMapEntry($0).text }.joined(separator: ",")
    }

    static func decode(_ text: String) -> [PortMapEntry] {
        text.split(separator: ",").compactMap(PortMapEntry.init)
    }
}
