import Foundation
import Testing

@testable import BerthGit

@Suite struct KnownHostsTests {
    /// An SSH wire-format public key blob: string type, string key.
    static func blob(_ type: String, _ fill: UInt8) -> [UInt8] {
        func string(_ bytes: [UInt8]) -> [UInt8] {
            let n = UInt32(bytes.count)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
        }
        return string(Array(type.utf8)) + string([UInt8](repeating: fill, count: 32))
    }

    static func line(_ hosts: String, _ key: [UInt8], marker: String = "") -> String {
        let type = KnownHosts.keyType(of: key) ?? "?"
        return "\(marker)\(marker.isEmpty ? "" : " ")\(hosts) \(type) \(Data(key).base64EncodedString())"
    }

    let good = blob("ssh-ed25519", 1)
    let other = blob("ssh-ed25519", 2)
    let ecdsa = blob("ecdsa-sha2-nistp256", 3)

    @Test func sha1AndHMACMatchReferenceVectors() {
        func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex(SHA1.hash(long)) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(SHA1.hmac(key: [UInt8](repeating: 0x0B, count: 20), message: Array("Hi There".utf8))) == "b617318655057264e28bc0b6fb378c8ef146be00")
    }

    @Test func keyTypeComesFromTheBlob() {
        #expect(KnownHosts.keyType(of: good) == "ssh-ed25519")
        #expect(KnownHosts.keyType(of: [0, 0]) == nil)
    }

    @Test func plainHostsAndPorts() {
        let hosts = KnownHosts(contents: """
            # comment
            git.example.com,10.0.0.1 \(Self.line("", good).dropFirst())
            \(Self.line("[127.0.0.1]:2222", other))
            """)
        #expect(hosts.verify(host: "git.example.com", port: 22, key: good) == .trusted)
        #expect(hosts.verify(host: "10.0.0.1", port: 22, key: good) == .trusted)
        #expect(hosts.verify(host: "git.example.com", port: 2222, key: good) == .unknown)
        #expect(hosts.verify(host: "127.0.0.1", port: 2222, key: other) == .trusted)
        #expect(hosts.verify(host: "127.0.0.1", port: 2222, key: good) == .mismatch)
        #expect(hosts.verify(host: "127.0.0.1", port: 2222, key: ecdsa) == .unknown, "another key type is not a mismatch")
        #expect(hosts.verify(host: "elsewhere", port: 22, key: good) == .unknown)
    }

    @Test func hashedHostsMatchOpenSSHFormat() {
        // Computed with Python's hmac for salt "0123456789abcdefghij" and host "[127.0.0.1]:2222".
        let hosts = KnownHosts(contents: Self.line("|1|MDEyMzQ1Njc4OWFiY2RlZmdoaWo=|kjl9J932vxVxCmU2IfKMefPFSKM=", good))
        #expect(hosts.verify(host: "127.0.0.1", port: 2222, key: good) == .trusted)
        #expect(hosts.verify(host: "127.0.0.1", port: 2223, key: good) == .unknown)
    }

    @Test func wildcardsNegationAndRevocation() {
        let hosts = KnownHosts(contents: [
            Self.line("*.example.com,!bad.example.com", good),
            Self.line("revoked.example.com", other, marker: "@revoked"),
            Self.line("revoked.example.com", other),
            Self.line("ca.example.org", other, marker: "@cert-authority"),
        ].joined(separator: "\n"))
        #expect(hosts.verify(host: "git.example.com", port: 22, key: good) == .trusted)
        #expect(hosts.verify(host: "GIT.Example.com", port: 22, key: good) == .trusted)
        #expect(hosts.verify(host: "bad.example.com", port: 22, key: good) == .unknown)
        #expect(hosts.verify(host: "revoked.example.com", port: 22, key: other) == .revoked)
        #expect(hosts.verify(host: "ca.example.org", port: 22, key: other) == .unknown)
    }
}
