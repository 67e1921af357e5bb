/// Just enough of RFC 1035 for a cluster DNS: one question in, an A answer
/// (or an empty NOERROR, NXDOMAIN, REFUSED) out. Pure functions over bytes.
enum DNSMessage {
    enum RCode: UInt16 { case noError = 0, formErr = 1, servFail = 2, nxDomain = 3, notImp = 4, refused = 5 }

    struct Question: Equatable {
        var id: UInt16
        var flags: UInt16
        var name: String
        var type: UInt16
        var klass: UInt16
        /// The question section's bytes, echoed in the reply.
        var raw: ArraySlice<UInt8>
    }

    static let typeA: UInt16 = 1
    static let typeAAAA: UInt16 = 28
    static let typeANY: UInt16 = 255

    /// Parses the header and first question; nil when even the header is unreadable.
    static func parse(_ b: [UInt8]) -> Question? {
        guard b.count >= 12 else { return nil }
        let id = UInt16(b[0]) << 8 | UInt16(b[1])
        let flags = UInt16(b[2]) << 8 | UInt16(b[3])
        let qd = UInt16(b[4]) << 8 | UInt16(b[5])
        guard flags & 0x8000 == 0, qd >= 1 else { return Question(id: id, flags: flags, name: "", type: 0, klass: 0, raw: []) }
        var i = 12
        var labels: [String] = []
        while true {
            guard i < b.count else { return Question(id: id, flags: flags, name: "", type: 0, klass: 0, raw: []) }
            let len = Int(b[i])
            if len == 0 { i += 1; break }
            guard len < 64, i + 1 + len <= b.count else { return Question(id: id, flags: flags, name: "", type: 0, klass: 0, raw: []) }
            labels.append(String(decoding: b[(i + 1)..<(i + 1 + len)], as: UTF8.self))
            i += 1 + len
        }
        guard i + 4 <= b.count else { return Question(id: id, flags: flags, name: "", type: 0, klass: 0, raw: []) }
        let type = UInt16(b[i]) << 8 | UInt16(b[i + 1])
        let klass = UInt16(b[i + 2]) << 8 | UInt16(b[i + 3])
        return Question(id: id, flags: flags, name: labels.joined(separator: "."), type: type, klass: klass, raw: b[12..<(i + 4)])
    }

    /// The reply to `q`: authoritative, recursion not available, with `addresses` as A records.
    static func reply(to q: Question, rcode: RCode, addresses: [IPv4Address] = [], ttl: UInt32 = 5) -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xff)) }
        let hasQuestion = !q.raw.isEmpty
        u16(q.id)
        u16(0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | rcode.rawValue)
        u16(hasQuestion ? 1 : 0)
        u16(UInt16(addresses.count))
        u16(0)
        u16(0)
        out.append(contentsOf: q.raw)
        for a in addresses {
            u16(0xC00C) // the name of the question
            u16(typeA)
            u16(1)
            u16(UInt16(ttl >> 16)); u16(UInt16(ttl & 0xffff))
            u16(4)
            out.append(contentsOf: [UInt8(a.value >> 24), UInt8(a.value >> 16 & 0xff), UInt8(a.value >> 8 & 0xff), UInt8(a.value & 0xff)])
        }
        return out
    }

    /// Builds a query (for tests and the node's own checks).
    static func query(id: UInt16, name: String, type: UInt16 = typeA) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out.append(contentsOf: label.utf8)
        }
        out.append(contentsOf: [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1])
        return out
    }
}
