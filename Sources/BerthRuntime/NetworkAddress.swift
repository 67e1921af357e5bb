import BerthAPI

/// An IPv4 address as a number, so that CIDR arithmetic (ranges, overlap,
/// the n-th host) is integer arithmetic.
public struct IPv4Address: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard let octet = UInt8(p) else { return nil }
            v = v << 8 | UInt32(octet)
        }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// `10.88.0.0/16`: a network and its prefix length.
public struct IPv4CIDR: Sendable, Hashable, Codable, CustomStringConvertible {
    public var network: IPv4Address
    public var prefix: Int

    /// Parses `a.b.c.d/n`; host bits must be zero so that a typo is not silently widened.
    public init(_ text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), let prefix = Int(parts[1]),
              (8...30).contains(prefix) else {
            throw BerthError(.invalidArgument, "\(text) is not an IPv4 CIDR with a prefix between /8 and /30",
                             hint: "write it like 10.88.0.0/16")
        }
        let mask = Self.mask(prefix)
        guard address.value & ~mask == 0 else {
            throw BerthError(.invalidArgument, "\(text) has host bits set",
                             hint: "use \(IPv4Address(address.value & mask))/\(prefix)")
        }
        network = address
        self.prefix = prefix
    }

    public init(network: IPv4Address, prefix: Int) {
        self.network = IPv4Address(network.value & Self.mask(prefix))
        self.prefix = prefix
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }

    public var mask: UInt32 { Self.mask(prefix) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    /// The n-th address of the network (1 is the first host).
    public func host(_ n: UInt32) -> IPv4Address { IPv4Address(network.value + n) }
    public func contains(_ a: IPv4Address) -> Bool { a.value & mask == network.value }
    public func overlaps(_ other: IPv4CIDR) -> Bool {
        let m = prefix < other.prefix ? mask : other.mask
        return network.value & m == other.network.value & m
    }

    public var description: String { "\(network)/\(prefix)" }
}
