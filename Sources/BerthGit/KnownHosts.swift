import Foundation

/// An OpenSSH `known_hosts` file, to verify an SSH server's host key.
///
/// libgit2 1.5 does not read `known_hosts` itself (it accepts any host key
/// unless the certificate callback says otherwise), so Berth does: a host
/// that is missing, or whose key differs, is refused. Supported: plain and
/// hashed (`|1|salt|hash`) host fields, `[host]:port` for non-22 ports,
/// comma lists, `*`/`?` wildcards and `!` negation, `@revoked` keys.
/// `@cert-authority` lines are skipped (host certificates are not supported).
public struct KnownHosts: Sendable, Hashable {
    enum HostField: Sendable, Hashable {
        case patterns([String])
        case hashed(salt: [UInt8], hash: [UInt8])
    }

    struct Entry: Sendable, Hashable {
        var revoked: Bool
        var hosts: HostField
        var keyType: String
        var key: [UInt8]
    }

    /// The outcome of checking one host key.
    public enum Verdict: Sendable, Hashable {
        case trusted
        /// The host is not listed at all (or not with a key of this type).
        case unknown
        /// The host is listed with a different key of the same type: possibly someone in the middle.
        case mismatch
        case revoked
    }

    let entries: [Entry]

    public init(contents: String) {
        var entries: [Entry] = []
        for line in contents.split(whereSeparator: \.isNewline) {
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            var revoked = false
            if first.hasPrefix("@") {
                if first == "@revoked" { revoked = true } else { continue }
                fields.removeFirst()
            }
            guard fields.count >= 3, let key = Data(base64Encoded: fields[2]) else { continue }
            let hostField: HostField
            if fields[0].hasPrefix("|1|") {
                let parts = fields[0].split(separator: "|")
                guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])),
                      let hash = Data(base64Encoded: String(parts[2]))
                else { continue }
                hostField = .hashed(salt: Array(salt), hash: Array(hash))
            } else {
                hostField = .patterns(fields[0].split(separator: ",").map(String.init))
            }
            entries.append(Entry(revoked: revoked, hosts: hostField, keyType: fields[1], key: Array(key)))
        }
        self.entries = entries
    }

    /// Loads a file; a missing or unreadable file is an error (refusing every host is never what was meant).
    public init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        self.init(contents: text)
    }

    /// The host name as `known_hosts` writes it: `host` for port 22, `[host]:port` otherwise.
    public static func hostKey(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// Checks `key` (the SSH wire-format public key blob the server presented) for `host:port`.
    public func verify(host: String, port: Int, key: [UInt8]) -> Verdict {
        let name = Self.hostKey(host: host, port: port)
        let keyType = Self.keyType(of: key)
        var sawHost = false
        var sawSameType = false
        for entry in entries where Self.matches(entry.hosts, name) {
            if entry.revoked {
                if entry.key == key { return .revoked }
                continue
            }
            sawHost = true
            if entry.key == key { return .trusted }
            if entry.keyType == keyType { sawSameType = true }
        }
        return sawHost && sawSameType ? .mismatch : .unknown
    }

    /// The algorithm name at the start of a public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256` …).
    public static func keyType(of blob: [UInt8]) -> String? {
        guard blob.count >= 4 else { return nil }
        let length = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard length > 0, length <= blob.count - 4 else { return nil }
        return String(decoding: blob[4..<(4 + length)], as: UTF8.self)
    }

    static func matches(_ field: HostField, _ name: String) -> Bool {
        switch field {
        case .hashed(let salt, let hash):
            return SHA1.hmac(key: salt, message: Array(name.utf8)) == hash
        case .patterns(let patterns):
            var matched = false
            for pattern in patterns {
                if pattern.hasPrefix("!") {
                    if wildcard(String(pattern.dropFirst()), name) { return false }
                } else if wildcard(pattern, name) {
                    matched = true
                }
            }
            return matched
        }
    }

    /// `*` and `?` wildcards, case-insensitive like OpenSSH host matching.
    static func wildcard(_ pattern: String, _ name: String) -> Bool {
        let escaped = Array(pattern.lowercased()).flatMap { c -> [Character] in c == "[" || c == "\\" ? ["\\", c] : [c] }
        return IgnoreRules.globMatch(escaped[...], Array(name.lowercased())[...])
    }
}
