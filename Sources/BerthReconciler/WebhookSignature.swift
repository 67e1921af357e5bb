import Crypto
import Foundation

/// Webhook authentication, pure: HMAC-SHA256 signatures (GitHub, Gitea,
/// generic) and shared tokens (GitLab, generic bearer), always compared in
/// constant time so that the time a refusal takes says nothing about how
/// much of a guess was right.
public enum WebhookSignature {
    /// Lower-case hex HMAC-SHA256 of `body` keyed with `secret`.
    public static func hmacSHA256Hex(secret: String, body: Data) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Compares every byte whatever the first difference; only the length
    /// (public: a hex digest's length is fixed) ends it early.
    public static func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        constantTimeEquals(Array(a.utf8), Array(b.utf8))
    }

    /// `sha256=<hex>` (GitHub's X-Hub-Signature-256, generic X-Signature) or bare hex (Gitea).
    public static func verifyHMAC(header: String?, secret: String, body: Data, prefixed: Bool) -> Bool {
        guard var given = header?.trimmingCharacters(in: .whitespaces) else { return false }
        if prefixed {
            guard given.lowercased().hasPrefix("sha256=") else { return false }
            given = String(given.dropFirst(7))
        }
        let expected = hmacSHA256Hex(secret: secret, body: body)
        return constantTimeEquals(given.lowercased(), expected)
    }

    /// Checks a request of `provider` against `secret`. Headers have lower-case names.
    public static func verify(provider: WebhookProvider, headers: [String: String], body: Data, secret: String) -> Bool {
        switch provider {
        case .github:
            // SHA-1 (X-Hub-Signature) alone is refused: only the SHA-256 header counts.
            return verifyHMAC(header: headers["x-hub-signature-256"], secret: secret, body: body, prefixed: true)
        case .gitea:
            if let signature = headers["x-gitea-signature"] {
                return verifyHMAC(header: signature, secret: secret, body: body, prefixed: false)
            }
            return verifyHMAC(header: headers["x-hub-signature-256"], secret: secret, body: body, prefixed: true)
        case .gitlab:
            guard let token = headers["x-gitlab-token"] else { return false }
            return constantTimeEquals(token, secret)
        case .generic:
            if let signature = headers["x-signature"] {
                return verifyHMAC(header: signature, secret: secret, body: body, prefixed: true)
            }
            if let authorization = headers["authorization"], authorization.hasPrefix("Bearer ") {
                return constantTimeEquals(String(authorization.dropFirst(7)), secret)
            }
            return false
        }
    }
}

public enum WebhookProvider: String, Sendable, CaseIterable {
    case github, gitlab, gitea, generic
}
