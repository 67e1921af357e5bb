import BerthAPI
import Foundation

/// The parts of a remote URL that Berth needs: the transport, and for SSH the
/// host and port to look up in `known_hosts`.
public struct GitRemoteURL: Sendable, Hashable {
    public enum Transport: String, Sendable, Hashable { case local, file, http, https, ssh, git }

    public var transport: Transport
    public var host: String?
    public var port: Int?
    public var user: String?
    /// The URL to give libgit2 (a relative local path made absolute).
    public var normalized: String

    /// Parses `url`; `relativeTo` makes relative local paths absolute.
    public init(_ url: String, relativeTo directory: String = FileManager.default.currentDirectoryPath) throws(BerthError) {
        normalized = url
        if let schemeEnd = url.range(of: "://") {
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            switch scheme {
            case "file": transport = .file
            case "http": transport = .http
            case "https": transport = .https
            case "ssh", "git+ssh", "ssh+git": transport = .ssh
            case "git": transport = .git
            default:
                throw BerthError(
                    .invalidArgument, "unsupported URL scheme '\(scheme)' in \(Redaction.scrub(url))",
                    hint: "use a local path, file://, http://, https:// or ssh://")
            }
            let rest = url[schemeEnd.upperBound...]
            let authority = rest.prefix { $0 != "/" }
            var hostPort = Substring(authority)
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                user = String(userInfo.prefix { $0 != ":" })
                hostPort = authority[authority.index(after: at)...]
            }
            if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
                host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") { port = Int(after.dropFirst()) }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = String(hostPort[..<colon])
                port = Int(hostPort[hostPort.index(after: colon)...])
            } else if !hostPort.isEmpty {
                host = String(hostPort)
            }
            if transport == .ssh && port == nil { port = 22 }
            return
        }
        // scp-like `user@host:path` (no slash before the colon) is SSH; anything else is a path.
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/"), url[..<colon].count > 1 {
            transport = .ssh
            let authority = url[..<colon]
            if let at = authority.lastIndex(of: "@") {
                user = String(authority[..<at])
                host = String(authority[authority.index(after: at)...])
            } else {
                host = String(authority)
            }
            port = 22
            return
        }
        transport = .local
        normalized = url.hasPrefix("/") ? url : URL(fileURLWithPath: directory).appendingPathComponent(url).standardizedFileURL.path
    }

    /// For local and file:// URLs: the directory on disk.
    public var localPath: String? {
        switch transport {
        case .local: normalized
        case .file: URL(string: normalized)?.path ?? String(normalized.dropFirst("file://".count))
        default: nil
        }
    }
}

/// Keeps credentials out of everything a user or a log sees.
public enum Redaction {
    /// Removes the password (and for http/https, where a lone user name is often a token, the whole
    /// user part) from every URL in `text`: `https://u:p@h/x` → `https://***@h/x`.
    public static func scrub(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let marker = rest.range(of: "://") {
            let schemeStart = rest[..<marker.lowerBound].lastIndex { !($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") }
                .map { rest.index(after: $0) } ?? rest.startIndex
            let scheme = rest[schemeStart..<marker.lowerBound].lowercased()
            output += rest[..<marker.upperBound]
            rest = rest[marker.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != " " && $0 != "\n" && $0 != "'" && $0 != "\"" }
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                if userInfo.contains(":") || scheme.hasSuffix("http") || scheme.hasSuffix("https") {
                    output += "***"
                    rest = rest[at...]
                }
            }
        }
        return output + rest
    }

    /// Scrubs URLs and also replaces every occurrence of the given secret values.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var result = scrub(text)
        for secret in secrets where secret.count >= 3 {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
    }
}
