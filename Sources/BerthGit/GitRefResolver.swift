import BerthAPI

/// Turns a ``GitRef`` into a commit, given the repository's refs.
///
/// Pure: the object database is reached only through `lookupCommit`, so the
/// rules (what `named` tries first, which tag a semver range picks, what an
/// unknown-ref error lists) are unit-tested without a repository.
public struct GitRefResolver: Sendable {
    public var refs: GitRefs

    public init(refs: GitRefs) {
        self.refs = refs
    }

    /// - Parameter lookupCommit: finds the commit a (full or abbreviated) sha
    ///   names; returns nil when no object has that prefix, throws when it is ambiguous.
    public func resolve(
        _ ref: GitRef,
        lookupCommit: (String) throws -> GitCommitID?
    ) throws -> GitResolvedRef {
        switch ref {
        case .head:
            if let head = refs.head, let id = refs.branches[head] {
                return GitResolvedRef(commit: id, name: "refs/heads/\(head)")
            }
            throw unknown(ref, detail: "the repository has no HEAD branch")
        case .branch(let name):
            if let id = refs.branches[strip(name, "refs/heads/")] {
                return GitResolvedRef(commit: id, name: "refs/heads/\(strip(name, "refs/heads/"))")
            }
            throw unknown(ref)
        case .tag(let name):
            if let id = refs.tags[strip(name, "refs/tags/")] {
                return GitResolvedRef(commit: id, name: "refs/tags/\(strip(name, "refs/tags/"))")
            }
            throw unknown(ref)
        case .commit(let sha):
            guard Self.looksLikeSHA(sha) else {
                throw BerthError(
                    .invalidArgument, "'\(sha)' is not a commit sha",
                    hint: "give 4 to 40 hex digits, or use branch:, tag: or semver:")
            }
            if let id = try lookupCommit(sha.lowercased()) {
                return GitResolvedRef(commit: id, name: id.hex)
            }
            throw unknown(ref)
        case .semver(let text):
            let range = try SemverRange(text)
            if let (tag, id) = highestTag(in: range) {
                return GitResolvedRef(commit: id, name: "refs/tags/\(tag)")
            }
            throw unknown(ref, detail: "no tag matches the range \(range)")
        case .named(let name):
            if name.count == 40, Self.looksLikeSHA(name), let id = try lookupCommit(name.lowercased()) {
                return GitResolvedRef(commit: id, name: id.hex)
            }
            if let id = refs.branches[strip(name, "refs/heads/")], !name.hasPrefix("refs/tags/") {
                return GitResolvedRef(commit: id, name: "refs/heads/\(strip(name, "refs/heads/"))")
            }
            if let id = refs.tags[strip(name, "refs/tags/")], !name.hasPrefix("refs/heads/") {
                return GitResolvedRef(commit: id, name: "refs/tags/\(strip(name, "refs/tags/"))")
            }
            if Self.looksLikeSHA(name), let id = try lookupCommit(name.lowercased()) {
                return GitResolvedRef(commit: id, name: id.hex)
            }
            if let range = try? SemverRange(name), let (tag, id) = highestTag(in: range) {
                return GitResolvedRef(commit: id, name: "refs/tags/\(tag)")
            }
            throw unknown(ref)
        }
    }

    /// The tag with the highest version inside `range`; ties (`v1.0.0` and `1.0.0`) go to the
    /// lexically first name so that the answer does not depend on dictionary order.
    public func highestTag(in range: SemverRange) -> (String, GitCommitID)? {
        var best: (version: SemanticVersion, tag: String, id: GitCommitID)?
        for (tag, id) in refs.tags {
            guard let version = SemanticVersion(tag), range.contains(version) else { continue }
            if let current = best {
                if version > current.version || (version == current.version && tag < current.tag) {
                    best = (version, tag, id)
                }
            } else {
                best = (version, tag, id)
            }
        }
        return best.map { ($0.tag, $0.id) }
    }

    static func looksLikeSHA(_ text: String) -> Bool {
        (4...40).contains(text.count) && text.allSatisfy(\.isHexDigit)
    }

    private func strip(_ name: String, _ prefix: String) -> String {
        name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
    }

    /// An unknown-ref error that lists a few refs that do exist, so the user can spot a typo.
    func unknown(_ ref: GitRef, detail: String? = nil) -> BerthError {
        let branches = refs.branches.keys.sorted().prefix(5)
        let tags = refs.tags.keys.sorted { a, b in
            switch (SemanticVersion(a), SemanticVersion(b)) {
            case let (va?, vb?): va > vb
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a < b
            }
        }.prefix(5)
        var message = "unknown ref \(ref)"
        if let detail { message += ": \(detail)" }
        var known: [String] = []
        if !branches.isEmpty {
            known.append("branches: " + branches.joined(separator: ", ") + (refs.branches.count > 5 ? ", …" : ""))
        }
        if !tags.isEmpty {
            known.append("tags: " + tags.joined(separator: ", ") + (refs.tags.count > 5 ? ", …" : ""))
        }
        message += known.isEmpty ? " (the repository has no branches or tags)" : " (existing \(known.joined(separator: "; ")))"
        return BerthError(
            .gitUnknownRef, message,
            hint: "check the spelling, or push the branch/tag; use branch:, tag:, commit: or semver: to be explicit")
    }
}
