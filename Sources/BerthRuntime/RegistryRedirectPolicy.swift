import Foundation

/// Where a redirect may go and what it may carry.
///
/// Registries redirect blob downloads to storage (S3, a CDN). The
/// Authorization header is for the registry only: it is sent again only
/// when the redirect stays on the same scheme, host and port. Sending it to
/// the storage host leaked registry credentials in containerd
/// (CVE-2020-15157); here `127.0.0.1` and `localhost` are two hosts, as they
/// are two origins to a browser.
public enum RegistryRedirectPolicy {
    public static let maxRedirects = 5

    /// The absolute URL a `Location` header points to, relative to `base`.
    public static func resolve(location: String, against base: String) -> String? {
        guard let baseURL = URL(string: base), let url = URL(string: location, relativeTo: baseURL)?.absoluteURL,
              let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else { return nil }
        return url.absoluteString
    }

    /// Same scheme, host and (effective) port.
    public static func isSameOrigin(_ a: String, _ b: String) -> Bool {
        guard let left = origin(a), let right = origin(b) else { return false }
        return left == right
    }

    static func origin(_ text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host?.lowercased() else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }

    /// A redirect must not downgrade HTTPS to plain HTTP (except to a host
    /// that may be reached in clear text).
    public static func allows(from source: String, to target: String, allowPlainHTTP: (String) -> Bool) -> Bool {
        guard let from = URLComponents(string: source), let to = URLComponents(string: target), let host = to.host else { return false }
        if from.scheme?.lowercased() == "https", to.scheme?.lowercased() == "http" {
            return allowPlainHTTP(to.port.map { "\(host):\($0)" } ?? host)
        }
        return true
    }
}

/// Bounded exponential backoff for transient failures: 5xx, 429, 408 and
/// network errors (timeouts, resets, refused connections).
public struct RegistryRetryPolicy: Sendable {
    public var maxAttempts: Int
    public var initialBackoff: Duration

    public init(maxAttempts: Int, initialBackoff: Duration) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
    }

    public static func isTransient(status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status) && status != 501 && status != 505
    }

    /// 200 ms, 400 ms, 800 ms … capped at 10 s.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let factor = 1 << min(max(attempt - 1, 0), 10)
        return min(initialBackoff * factor, .seconds(10))
    }
}
