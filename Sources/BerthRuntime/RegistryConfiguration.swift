import BerthAPI
import Foundation

/// How Berth reaches registries: mirrors, plain-HTTP exceptions, credentials
/// and the download/upload knobs. The `registries:` section of berth.yaml
/// decodes straight into this (every key optional):
///
///     registries:
///       mirrors:
///         docker.io: ["http://127.0.0.1:5000"]
///       insecure: ["registry.lan:5000"]
///       auths:
///         ghcr.io: {username: bot, password: "…"}
///       dockerConfig: /root/.docker/config.json
///
/// Like containerd's hosts.toml, mirrors of a registry are tried in order
/// before the registry itself. Plain HTTP is used only for hosts listed in
/// `insecure` and for loopback (127.0.0.0/8, ::1, localhost), which is
/// where a local registry or mirror normally lives.
public struct RegistryConfiguration: Sendable, Codable, Hashable {
    /// Registry domain (`docker.io`, `ghcr.io`) → mirror URLs or hosts, tried in order.
    public var mirrors: [String: [String]]
    /// Hosts (`host` or `host:port`) that may be reached over plain HTTP.
    public var insecure: [String]
    /// Per-registry credentials; they win over the Docker config file.
    public var auths: [String: RegistryCredential]
    /// Docker-style config.json. nil: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`. Empty string: do not read one.
    public var dockerConfig: String?
    /// Layers downloaded (or uploaded) at once for one image.
    public var maxConcurrentDownloads: Int
    /// Attempts for a request that fails with 5xx, 429 or a network error.
    public var maxAttempts: Int
    /// First retry delay; doubled on each attempt.
    public var initialBackoffMilliseconds: Int
    /// Blobs larger than this are uploaded in chunks of this size (PATCH).
    public var uploadChunkSize: Int64
    /// How long one connection attempt to an endpoint may take (an
    /// unreachable host; a refused or unresolvable one fails at once).
    public var connectTimeoutSeconds: Int

    public init(
        mirrors: [String: [String]] = [:], insecure: [String] = [], auths: [String: RegistryCredential] = [:],
        dockerConfig: String? = nil, maxConcurrentDownloads: Int = 3, maxAttempts: Int = 4,
        initialBackoffMilliseconds: Int = 200, uploadChunkSize: Int64 = 64 << 20, connectTimeoutSeconds: Int = 10
    ) {
        self.mirrors = mirrors
        self.insecure = insecure
        self.auths = auths
        self.dockerConfig = dockerConfig
        self.maxConcurrentDownloads = maxConcurrentDownloads
        self.maxAttempts = maxAttempts
        self.initialBackoffMilliseconds = initialBackoffMilliseconds
        self.uploadChunkSize = uploadChunkSize
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = RegistryConfiguration()
        mirrors = try c.decodeIfPresent([String: [String]].self, forKey: .mirrors) ?? [:]
        insecure = try c.decodeIfPresent([String].self, forKey: .insecure) ?? []
        auths = try c.decodeIfPresent([String: RegistryCredential].self, forKey: .auths) ?? [:]
        dockerConfig = try c.decodeIfPresent(String.self, forKey: .dockerConfig)
        maxConcurrentDownloads = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentDownloads) ?? defaults.maxConcurrentDownloads
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts
        initialBackoffMilliseconds = try c.decodeIfPresent(Int.self, forKey: .initialBackoffMilliseconds) ?? defaults.initialBackoffMilliseconds
        uploadChunkSize = try c.decodeIfPresent(Int64.self, forKey: .uploadChunkSize) ?? defaults.uploadChunkSize
        connectTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .connectTimeoutSeconds) ?? defaults.connectTimeoutSeconds
    }

    // MARK: - Per-registry entries

    /// Adds one registry entry as berth.yaml writes it (`registries:` list:
    /// host, mirrors, insecure, username + password from a file or the
    /// environment). The entry wins over what the configuration said for
    /// that host: its mirrors replace earlier ones, its credential replaces
    /// the Docker config's. `insecure` allows plain HTTP to the host *and*
    /// to its mirrors (a LAN mirror of an HTTPS registry is the usual case).
    public mutating func add(host: String, mirrors newMirrors: [String], insecure allowHTTP: Bool, credential: RegistryCredential?) throws {
        let key = Self.canonicalRegistry(host)
        guard !key.isEmpty else {
            throw BerthError(.invalidArgument, "a registry entry has an empty host", hint: "write host: registry.example.com[:port]")
        }
        // Check the mirrors first (a plain-HTTP mirror needs `insecure`): fail at startup, not at the first pull.
        var checked = self
        if allowHTTP { checked.insecure += ([host] + newMirrors).map(Self.canonicalRegistry) }
        for name in newMirrors { _ = try checked.endpoint(parsing: name, isMirror: true) }
        if !newMirrors.isEmpty {
            for name in mirrors.keys where Self.canonicalRegistry(name) == key { mirrors[name] = nil }
            mirrors[key] = newMirrors
        }
        if allowHTTP {
            for name in [host] + newMirrors {
                let hostPort = Self.canonicalRegistry(name)
                if !insecure.contains(hostPort) { insecure.append(hostPort) }
            }
        }
        if let credential {
            for name in auths.keys where Self.canonicalRegistry(name) == key { auths[name] = nil }
            auths[key] = credential
        }
    }

    // MARK: - Endpoints

    /// Where requests for a registry domain go, in order: its mirrors, then
    /// the registry itself (`docker.io` is served by registry-1.docker.io).
    public func endpoints(for domain: String) throws -> [RegistryEndpoint] {
        let key = Self.canonicalRegistry(domain)
        var result: [RegistryEndpoint] = []
        for (name, urls) in mirrors where Self.canonicalRegistry(name) == key {
            for url in urls { result.append(try endpoint(parsing: url, isMirror: true)) }
        }
        let upstream = key == ImageReference.defaultDomain ? "registry-1.docker.io" : domain
        result.append(RegistryEndpoint(scheme: allowsPlainHTTP(upstream) ? "http" : "https", host: upstream, isMirror: false))
        return result
    }

    /// `http://h:p`, `https://h`, or a bare `h:p` (HTTPS unless plain HTTP is allowed).
    func endpoint(parsing text: String, isMirror: Bool) throws -> RegistryEndpoint {
        var rest = Substring(text)
        var scheme: String?
        if let range = rest.range(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.hasSuffix("/v2") { rest = rest.dropLast(3) }
        let host = String(rest)
        guard !host.isEmpty, !host.contains("/"), ImageReference.isValidDomain(host) || host.hasPrefix("[") else {
            throw BerthError(.invalidArgument, "registry mirror \"\(text)\" is not a URL like http://host:port or a host[:port]",
                             hint: "fix registries.mirrors in the configuration")
        }
        switch scheme {
        case nil:
            return RegistryEndpoint(scheme: allowsPlainHTTP(host) ? "http" : "https", host: host, isMirror: isMirror)
        case "https":
            return RegistryEndpoint(scheme: "https", host: host, isMirror: isMirror)
        case "http":
            guard allowsPlainHTTP(host) else {
                throw BerthError(.invalidArgument, "registry mirror \(text) uses plain HTTP but \(host) is not listed as insecure",
                                 hint: "add \(host) to registries.insecure, or use https")
            }
            return RegistryEndpoint(scheme: "http", host: host, isMirror: isMirror)
        default:
            throw BerthError(.invalidArgument, "registry mirror \(text): scheme must be http or https")
        }
    }

    /// Plain HTTP is allowed for hosts listed in `insecure` and for loopback.
    public func allowsPlainHTTP(_ hostAndPort: String) -> Bool {
        let host = Self.hostOnly(hostAndPort)
        return Self.isLoopback(host) || insecure.contains { $0 == hostAndPort || $0 == host }
    }

    /// `docker.io`, `index.docker.io` and `registry-1.docker.io` are one registry.
    static func canonicalRegistry(_ name: String) -> String {
        var text = name.lowercased()
        for prefix in ["https://", "http://"] where text.hasPrefix(prefix) { text = String(text.dropFirst(prefix.count)) }
        if let slash = text.firstIndex(of: "/") { text = String(text[..<slash]) }
        if text == "index.docker.io" || text == "registry-1.docker.io" { return ImageReference.defaultDomain }
        return text
    }

    /// `h:p` → `h`; `[::1]:5000` → `::1`.
    static func hostOnly(_ hostAndPort: String) -> String {
        if hostAndPort.hasPrefix("["), let close = hostAndPort.firstIndex(of: "]") {
            return String(hostAndPort[hostAndPort.index(after: hostAndPort.startIndex)..<close])
        }
        if hostAndPort.filter({ $0 == ":" }).count > 1 { return hostAndPort }  // bare IPv6
        if let colon = hostAndPort.lastIndex(of: ":") { return String(hostAndPort[..<colon]) }
        return hostAndPort
    }

    /// 127.0.0.0/8, ::1 and localhost.
    public static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower.hasSuffix(".localhost") || lower == "::1" || lower == "[::1]" { return true }
        let parts = lower.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in UInt8(part) != nil }
    }
}

/// One place requests for a registry go to.
public struct RegistryEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    /// `host[:port]`, as in the URL.
    public var host: String
    public var isMirror: Bool

    public init(scheme: String, host: String, isMirror: Bool) {
        self.scheme = scheme
        self.host = host
        self.isMirror = isMirror
    }

    public var baseURL: String { "\(scheme)://\(host)" }
    public var description: String { isMirror ? "mirror \(baseURL)" : baseURL }
}

/// A user name and password (or token) for a registry. The description
/// never shows the password, so a credential can be logged by mistake
/// without leaking it.
public struct RegistryCredential: Sendable, Codable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "RegistryCredential(username: \(username), password: <redacted>)" }
    public var debugDescription: String { description }

    /// `Basic base64(user:pass)`.
    var basicAuthorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }
}
