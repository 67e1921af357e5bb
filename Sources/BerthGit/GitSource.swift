import BerthAPI

/// Everything the reconciler needs from git, as a protocol so that the sync
/// logic can be unit-tested without repositories. ``LibGit2Source`` is the
/// real implementation.
///
/// All operations work on a local mirror; only ``fetch(_:)`` talks to the network.
public protocol GitSource: Sendable {
    /// Clones `remote` into its mirror (first time) or fetches into it: all branches and tags,
    /// refs deleted on the remote are pruned. Returns the mirror.
    func fetch(_ remote: GitRemote) async throws -> GitMirror

    /// The mirror's branches and tags, each peeled to a commit.
    func refs(in mirror: GitMirror) async throws -> GitRefs

    /// Resolves `ref` to a commit (`.gitUnknownRef` listing some existing refs if it does not exist).
    func resolve(_ ref: GitRef, in mirror: GitMirror) async throws -> GitResolvedRef

    /// Author, committer, time and message of a commit.
    func commit(_ id: GitCommitID, in mirror: GitMirror) async throws -> GitCommit

    /// The manifest files (`.yaml`, `.yml`, `.json`) under `subpath` at `commit`, read from the
    /// object database, honouring `.berthignore`, sorted by path.
    func files(at commit: GitCommitID, subpath: String, in mirror: GitMirror) async throws -> [GitFile]

    /// Paths (relative to the root) that differ between two commits; `from: nil` means every path
    /// in `to`. Both sides of a rename are listed.
    func changedPaths(from: GitCommitID?, to: GitCommitID, in mirror: GitMirror) async throws -> [String]

    /// Fetches `remote`, resolves `ref` and reads the manifests under `subpath`. The extension
    /// below does it step by step; ``LibGit2Source`` does it in one go. Called through `any
    /// GitSource`, give all three arguments: the defaults belong to the extension's method,
    /// which is then called directly.
    func checkout(_ remote: GitRemote, ref: GitRef, subpath: String) async throws -> GitCheckout
}

/// A fetched, resolved and read commit: what `berth render --repo` and a sync start from.
public struct GitCheckout: Sendable {
    public var mirror: GitMirror
    public var ref: GitResolvedRef
    public var commit: GitCommit
    public var subpath: String
    public var files: [GitFile]
}

extension GitSource {
    /// Fetches `remote`, resolves `ref` and reads the manifests under `subpath`, in one call.
    ///
    ///     let git = LibGit2Source(dataDirectory: dataDir)
    ///     let checkout = try await git.checkout(GitRemote(url: "https://…/app.git"), ref: GitRef(parsing: "main"), subpath: "deploy")
    public func checkout(_ remote: GitRemote, ref: GitRef = .head, subpath: String = "") async throws -> GitCheckout {
        let normalized = try TreePath.normalizeSubpath(subpath)
        let mirror = try await fetch(remote)
        let resolved = try await resolve(ref, in: mirror)
        let commit = try await commit(resolved.commit, in: mirror)
        let files = try await files(at: resolved.commit, subpath: normalized, in: mirror)
        return GitCheckout(mirror: mirror, ref: resolved, commit: commit, subpath: normalized, files: files)
    }
}
