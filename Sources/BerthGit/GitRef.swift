import BerthAPI
import Foundation

/// What a source follows: a branch, a tag, a commit, or a semver range over tags (as Flux does).
public enum GitRef: Sendable, Hashable, CustomStringConvertible {
    /// The repository's `HEAD` (the remote's default branch).
    case head
    case branch(String)
    /// A tag, annotated or lightweight; annotated tags are peeled to their commit.
    case tag(String)
    /// A full or abbreviated (at least 4 digits) commit sha.
    case commit(String)
    /// A semver range such as `>=1.2.0 <2.0.0`, `1.x`, `~1.2`, `^1.2.0`; the highest matching tag wins.
    case semver(String)
    /// Anything a user typed: tried as a full sha, a branch, a tag, a short sha, then a semver range.
    case named(String)

    /// Parses the CLI/config form: `branch:main`, `tag:v1`, `commit:abc123`, `semver:^1.2`,
    /// `HEAD` (or empty) for the default branch, anything else as ``named(_:)``.
    public init(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "HEAD" {
            self = .head
            return
        }
        let prefixes: [(String, (String) -> GitRef)] = [
            ("branch:", { .branch($0) }), ("tag:", { .tag($0) }),
            ("commit:", { .commit($0) }), ("semver:", { .semver($0) }),
        ]
        for (prefix, make) in prefixes where trimmed.hasPrefix(prefix) {
            self = make(String(trimmed.dropFirst(prefix.count)))
            return
        }
        self = .named(trimmed)
    }

    public var description: String {
        switch self {
        case .head: "HEAD"
        case .branch(let name): "branch:\(name)"
        case .tag(let name): "tag:\(name)"
        case .commit(let sha): "commit:\(sha)"
        case .semver(let range): "semver:\(range)"
        case .named(let name): name
        }
    }
}
