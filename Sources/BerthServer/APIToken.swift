import BerthAPI
import Foundation

/// The bearer token that guards the API. Created on first start as 32
/// random bytes in hex in `<dataDir>/token`, mode 0600, so that only root
/// (or whoever runs `berth serve`) can read it and thereby talk to the API —
/// the same trust model as a kubeconfig readable only by its owner.
public enum APIToken {
    public static let fileName = "token"

    /// Reads the token, creating it when missing.
    public static func loadOrCreate(dataDirectory: String) throws -> String {
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let token = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            if !token.isEmpty { return token }
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = bytes.map { String(format: "%02x", $0) }.joined()
        let created = FileManager.default.createFile(
            atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        guard created else {
            throw BerthError(
                .store, "cannot write the API token to \(path)", hint: "check that the data directory is writable")
        }
        return token
    }

    /// Reads the token without creating it (the CLI's side).
    public static func load(dataDirectory: String) -> String? {
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// Compares in time independent of where the first difference is, so that
    /// response timing does not leak the token byte by byte.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
