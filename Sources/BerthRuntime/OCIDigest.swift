import BerthAPI
import Crypto
import Foundation

/// A content digest, `sha256:<64 lowercase hex>`.
///
/// Blobs are stored and looked up by digest, and every digest that comes from
/// outside is checked against the bytes, so a value of this type is always
/// well-formed (the initializer refuses anything else: a digest is also a
/// file name in the store, and `sha256:../../x` must never become one).
public struct OCIDigest: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    /// The 64 lowercase hex digits.
    public let hex: String

    public init(hex: String) throws {
        guard ImageReference.isValidDigest("sha256:" + hex) else {
            throw BerthError(.imageCorrupt, "invalid digest \"sha256:\(hex)\"", hint: "only sha256 digests are supported")
        }
        self.hex = hex
    }

    public init(parsing text: String) throws {
        guard text.hasPrefix("sha256:") else {
            throw BerthError(.imageCorrupt, "unsupported digest \"\(text)\"", hint: "only sha256 digests are supported")
        }
        try self.init(hex: String(text.dropFirst(7)))
    }

    /// The digest of `data`.
    public init(of data: some DataProtocol) {
        var hasher = DigestHasher()
        hasher.update(data)
        self = hasher.finalize()
    }

    fileprivate init(uncheckedHex: String) { self.hex = uncheckedHex }

    public var description: String { "sha256:\(hex)" }
    /// The 12-hex-digit form Docker prints as IMAGE ID.
    public var short: String { String(hex.prefix(12)) }

    public static func < (lhs: OCIDigest, rhs: OCIDigest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Incremental SHA-256, fed while bytes stream through (copying a blob,
/// decompressing a layer), so content is read once and verified on the way.
public struct DigestHasher {
    private var hasher = SHA256()
    public private(set) var count: Int64 = 0

    public init() {}

    public mutating func update(_ data: some DataProtocol) {
        hasher.update(data: data)
        count += Int64(data.count)
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: buffer)
        count += Int64(buffer.count)
    }

    public func finalize() -> OCIDigest {
        let digest = hasher.finalize()
        var hex = ""
        hex.reserveCapacity(64)
        for byte in digest {
            let text = String(byte, radix: 16)
            if text.count == 1 { hex += "0" }
            hex += text
        }
        return OCIDigest(uncheckedHex: hex)
    }
}
