/// The names the cluster DNS knows: `svc.ns.svc.<domain>` for every Service
/// with a ClusterIP, plus the short forms a pod's search list produces.
public struct DNSNameTable: Sendable, Hashable {
    /// "name.namespace" → address.
    var records: [String: IPv4Address] = [:]
    public var clusterDomain: String

    public init(clusterDomain: String = "cluster.local", services: [ServiceEntry] = []) {
        self.clusterDomain = clusterDomain.lowercased()
        for s in services {
            if let ip = s.clusterIP.flatMap(IPv4Address.init) {
                records["\(s.name.lowercased()).\(s.namespace.lowercased())"] = ip
            }
        }
    }

    enum Answer: Equatable { case address(IPv4Address), nxDomain, refused }

    /// NXDOMAIN for unknown names inside the cluster domain; REFUSED for
    /// everything else unknown (there is no upstream to forward to).
    func resolve(_ qname: String) -> Answer {
        var name = qname.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        let suffix = "." + clusterDomain
        if name == clusterDomain || name.hasSuffix(suffix) {
            let labels = name.dropLast(suffix.count).split(separator: ".")
            if labels.count == 3, labels[2] == "svc", let ip = records["\(labels[0]).\(labels[1])"] { return .address(ip) }
            return .nxDomain
        }
        let labels = name.split(separator: ".")
        switch labels.count {
        case 1:
            // A bare name: the "default" namespace's, or the only one with that name.
            if let ip = records["\(labels[0]).default"] { return .address(ip) }
            let matches = records.filter { $0.key.hasPrefix("\(labels[0]).") }
            return matches.count == 1 ? .address(matches[matches.startIndex].value) : .refused
        case 2, 3:
            if labels.count == 3 && labels[2] != "svc" { return .refused }
            if let ip = records["\(labels[0]).\(labels[1])"] { return .address(ip) }
            return .refused
        default:
            return .refused
        }
    }

    /// The reply bytes for a query's bytes; nil when the packet is not a readable query.
    func answer(_ packet: [UInt8]) -> [UInt8]? {
        guard let q = DNSMessage.parse(packet) else { return nil }
        if q.flags & 0x8000 != 0 { return nil }
        if q.raw.isEmpty { return DNSMessage.reply(to: q, rcode: .formErr) }
        if (q.flags >> 11) & 0xf != 0 { return DNSMessage.reply(to: q, rcode: .notImp) }
        guard q.klass == 1 || q.klass == 255 else { return DNSMessage.reply(to: q, rcode: .refused) }
        switch resolve(q.name) {
        case .address(let ip):
            let wantsA = q.type == DNSMessage.typeA || q.type == DNSMessage.typeANY
            return DNSMessage.reply(to: q, rcode: .noError, addresses: wantsA ? [ip] : [])
        case .nxDomain:
            return DNSMessage.reply(to: q, rcode: .nxDomain)
        case .refused:
            return DNSMessage.reply(to: q, rcode: .refused)
        }
    }
}
