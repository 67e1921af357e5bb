import BerthAPI
import BerthManifests
import Crypto

/// `ObjectNormalizer.contentHash` (sha256 of the canonical JSON, hex) through
/// swift-crypto: the same value, computed by BoringSSL, which matters when a
/// sync hashes 1,000 objects.
enum ContentHash {
    static func of(_ tree: JSONValue) -> String {
        hex(SHA256.hash(data: CanonicalJSON.encode(tree)))
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for byte in digest {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
