import BerthAPI
import Foundation

/// Kubernetes' `controller.ComputeHash`: FNV-1a (32 bit) over the pod
/// template and, when non-zero history says so, the collision count (as 8
/// little-endian bytes); the decimal digits of the sum are then rendered in
/// the "safe" alphabet (no vowels, no 0/1/3) so that names never spell words.
///
/// Kubernetes hashes the Go struct dump of the template; Berth hashes its
/// canonical JSON, so hashes differ from a real cluster's but are stable for
/// the same template and change whenever the template does.
public enum PodTemplateHash {
    public static let safeAlphabet = Array("bcdfghjklmnpqrstvwxz2456789".utf8)

    public static func compute(_ template: PodTemplateSpec, collisionCount: Int?) -> String {
        var hasher = FNV1a32()
        let canonical = (try? JSONValue(encoding: template).canonicalJSON()) ?? Data()
        hasher.combine(canonical)
        if let collisionCount {
            var bytes = [UInt8](repeating: 0, count: 8)
            let value = UInt32(truncatingIfNeeded: collisionCount)
            for index in 0..<4 { bytes[index] = UInt8((value >> (8 * UInt32(index))) & 0xff) }
            hasher.combine(bytes)
        }
        return safeEncode(String(hasher.value))
    }

    /// `rand.SafeEncodeString`: each byte mapped into the safe alphabet.
    public static func safeEncode(_ text: String) -> String {
        String(decoding: text.utf8.map { safeAlphabet[Int($0) % safeAlphabet.count] }, as: UTF8.self)
    }

    /// Five random characters of the safe alphabet, as `generateName` uses.
    public static func randomSuffix(length: Int = 5) -> String {
        String(decoding: (0..<length).map { _ in safeAlphabet[Int.random(in: 0..<safeAlphabet.count)] }, as: UTF8.self)
    }
}

struct FNV1a32 {
    private(set) var value: UInt32 = 2_166_136_261

    mutating func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value ^= UInt32(byte)
            value = value &* 16_777_619
        }
    }
}
