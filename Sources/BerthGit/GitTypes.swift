import BerthAPI
import Foundation

/// A commit's object id, as 40 lower-case hex digits.
///
/// A value type rather than a bare `String` so that a branch name can never
/// be mistaken for a resolved commit.
public struct GitCommitID: Sendable, Hashable, Codable, CustomStringConvertible {
    public let hex: String

    /// Accepts exactly 40 hex digits (any case); nil otherwise.
    public init?(_ text: String) {
        guard text.count == 40, text.allSatisfy(\.isHexDigit) else { return nil }
        hex = text.lowercased()
    }

    /// The 12-digit abbreviation used in messages and history.
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    /// Encoded as the bare hex string, as history rows and the JSON API show it.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = GitCommitID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a 40-digit commit sha: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Who made a commit and when.
public struct GitSignature: Sendable, Hashable, Codable {
    public var name: String
    public var email: String
    public var date: Date
    /// Offset of the author's time zone from UTC, in minutes (as git records it).
    public var timeZoneOffsetMinutes: Int

    public init(name: String, email: String, date: Date, timeZoneOffsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.date = date
        self.timeZoneOffsetMinutes = timeZoneOffsetMinutes
    }
}

/// The metadata of one commit, as the sync history records it.
public struct GitCommit: Sendable, Hashable, Codable {
    public var id: GitCommitID
    public var author: GitSignature
    public var committer: GitSignature
    /// The first paragraph of the message, on one line.
    public var summary: String
    /// The full message, as written.
    public var message: String
    public var parents: [GitCommitID]

    public init(
        id: GitCommitID, author: GitSignature, committer: GitSignature,
        summary: String, message: String, parents: [GitCommitID] = []
    ) {
        self.id = id
        self.author = author
        self.committer = committer
        self.summary = summary
        self.message = message
        self.parents = parents
    }

    /// The commit time (the committer's), which is what "when did this land" means.
    public var time: Date { committer.date }
}

/// One manifest file read from a commit's tree.
public struct GitFile: Sendable, Hashable {
    /// Path relative to the repository root, `/`-separated, as it appears in the tree.
    public var path: String
    public var contents: Data
    /// When `path` is a symlink: the repository path of the file that was read.
    public var linkTarget: String?

    public init(path: String, contents: Data, linkTarget: String? = nil) {
        self.path = path
        self.contents = contents
        self.linkTarget = linkTarget
    }
}

/// The branches and tags of a repository, each peeled to the commit it names.
///
/// Used to resolve refs (including semver ranges over tags) and to list a few
/// existing refs when the one asked for does not exist.
public struct GitRefs: Sendable, Hashable {
    /// Branch name (without `refs/heads/`) → commit.
    public var branches: [String: GitCommitID]
    /// Tag name (without `refs/tags/`) → commit the tag points to, annotated tags peeled.
    public var tags: [String: GitCommitID]
    /// The branch `HEAD` points to, if any (the remote's default branch in a mirror).
    public var head: String?

    public init(branches: [String: GitCommitID] = [:], tags: [String: GitCommitID] = [:], head: String? = nil) {
        self.branches = branches
        self.tags = tags
        self.head = head
    }
}

/// A local bare mirror of a remote (or any local repository opened in place).
public struct GitMirror: Sendable, Hashable {
    /// Where the repository lives on disk.
    public var path: URL
    /// The remote URL it mirrors, with credentials scrubbed; nil for a repository opened in place.
    public var remoteURL: String?

    public init(path: URL, remoteURL: String? = nil) {
        self.path = path
        self.remoteURL = remoteURL
    }
}

/// A remote repository to mirror: a URL (or local path) and how to log in.
public struct GitRemote: Sendable, Hashable {
    /// `/abs/path`, `relative/path`, `file://`, `http://`, `https://`, `ssh://` or `user@host:path`.
    public var url: String
    /// The mirror's directory name under `<dataDir>/git/`; derived from the URL when nil.
    public var name: String?
    public var credentials: GitCredentials

    public init(url: String, name: String? = nil, credentials: GitCredentials = .none) {
        self.url = url
        self.name = name
        self.credentials = credentials
    }
}

/// The result of resolving a ``GitRef``: the commit and the ref name that matched.
public struct GitResolvedRef: Sendable, Hashable {
    public var commit: GitCommitID
    /// e.g. `refs/heads/main`, `refs/tags/v1.2.3`, or the sha itself for a commit ref.
    public var name: String

    public init(commit: GitCommitID, name: String) {
        self.commit = commit
        self.name = name
    }
}
