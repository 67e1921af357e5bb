import BerthAPI
import BerthGit
import Foundation

/// One git source Berth keeps the cluster in line with: where the
/// manifests are, how often to look, and what to do when a rollout fails.
///
/// Secrets (git credentials, the webhook secret) are only ever *named* here
/// (a file or an environment variable) and read when used, so that they are
/// never stored, printed or logged.
public struct SourceConfig: Sendable, Hashable {
    public var name: String
    public var url: String
    /// Branch, tag, commit or semver range, as `GitRef(parsing:)` reads it.
    public var ref: String
    /// Directory inside the repository holding the manifests.
    public var path: String
    /// How often to fetch without a webhook.
    public var interval: Duration
    /// Delete owned objects that are gone from git.
    public var prune: Bool
    /// Revert live changes to owned objects on the next sync.
    public var selfHeal: Bool
    public var credentials: GitCredentials
    /// Where the webhook secret is; nil means webhooks for this source are refused (403).
    public var webhookSecret: GitSecretSource?
    /// Namespace for objects that name none.
    public var namespace: String
    /// How long every touched Deployment may take to become Available.
    public var rolloutTimeout: Duration
    /// Restarts of a new pod's containers (a failing liveness probe restarts them; or CrashLoopBackOff),
    /// or readiness probe failures in a row (at least the probe's own failureThreshold), after which a
    /// rollout counts as failed without waiting for its progress deadline.
    public var failureThreshold: Int

    public init(
        name: String, url: String, ref: String = "HEAD", path: String = "", interval: Duration = .seconds(60),
        prune: Bool = true, selfHeal: Bool = true, credentials: GitCredentials = .none,
        webhookSecret: GitSecretSource? = nil, namespace: String = "default",
        rolloutTimeout: Duration = .seconds(300), failureThreshold: Int = 3
    ) {
        self.name = name
        self.url = url
        self.ref = ref
        self.path = path
        self.interval = interval
        self.prune = prune
        self.selfHeal = selfHeal
        self.credentials = credentials
        self.webhookSecret = webhookSecret
        self.namespace = namespace
        self.rolloutTimeout = rolloutTimeout
        self.failureThreshold = failureThreshold
    }

    public var gitRef: GitRef { GitRef(parsing: ref) }
    public var remote: GitRemote { GitRemote(url: url, name: name, credentials: credentials) }
}

/// A registry mirror/credential entry (`registries:` in berth.yaml). Parsed
/// here; image pulls use it.
public struct RegistryConfig: Sendable, Hashable {
    public var host: String
    public var mirrors: [String]
    public var insecure: Bool
    public var username: String?
    public var password: GitSecretSource?

    public init(host: String, mirrors: [String] = [], insecure: Bool = false, username: String? = nil, password: GitSecretSource? = nil) {
        self.host = host
        self.mirrors = mirrors
        self.insecure = insecure
        self.username = username
        self.password = password
    }
}

/// The whole berth.yaml.
public struct BerthConfig: Sendable, Hashable {
    public var sources: [SourceConfig]
    public var registries: [RegistryConfig]
    /// Syncs kept per source.
    public var historyRetention: Int

    public init(sources: [SourceConfig] = [], registries: [RegistryConfig] = [], historyRetention: Int = 1000) {
        self.sources = sources
        self.registries = registries
        self.historyRetention = historyRetention
    }

    public func source(named name: String) -> SourceConfig? {
        sources.first { $0.name == name }
    }
}

/// `1m`, `30s`, `500ms`, `1h30m`, `2h`, or plain seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        var total: Int64 = 0
        var number = ""
        var index = trimmed.startIndex
        var sawUnit = false
        while index < trimmed.endIndex {
            let char = trimmed[index]
            if char.isNumber || char == "." {
                number.append(char)
                index = trimmed.index(after: index)
                continue
            }
            var unit = ""
            while index < trimmed.endIndex, trimmed[index].isLetter {
                unit.append(trimmed[index])
                index = trimmed.index(after: index)
            }
            guard let value = Double(number), !unit.isEmpty else { return nil }
            let factor: Double
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            default: return nil
            }
            total += Int64(value * factor)
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty else { return nil }
        return .milliseconds(total)
    }

    public static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 3_600_000 == 0, ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0, ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}
