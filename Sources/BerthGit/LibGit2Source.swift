import BerthAPI
import CGit2
import Dispatch
import Foundation

/// The real ``GitSource``: libgit2 (1.5, Debian's, built with libssh2 for ssh://).
///
/// Mirrors live in `<dataDirectory>/git/<name>.git` as bare repositories.
/// libgit2 calls block, so they run on one serial queue, never on Swift's
/// cooperative pool. The queue is shared by every instance in the process, so
/// that two instances (the server's and a CLI command's) can never write the
/// same mirror at once; the price is that one slow fetch delays the others.
public final class LibGit2Source: GitSource, Sendable {
    public let dataDirectory: URL
    private static let queue = DispatchQueue(label: "berth.git.libgit2")
    private var queue: DispatchQueue { Self.queue }

    public init(dataDirectory: URL) {
        _ = LibGit2.initialized
        self.dataDirectory = dataDirectory
    }

    /// Whether this libgit2 can speak ssh:// (Debian's is built with libssh2).
    public static var supportsSSH: Bool {
        _ = LibGit2.initialized
        return UInt32(bitPattern: git_libgit2_features()) & GIT_FEATURE_SSH.rawValue != 0
    }

    /// Adds CA certificates (a PEM file and/or an OpenSSL hashed directory) that https:// servers
    /// may present, on top of the system's trust store: for company CAs and self-signed servers.
    /// Process-wide, as libgit2's TLS context is.
    public static func trustCertificates(file: String? = nil, directory: String? = nil) throws(BerthError) {
        _ = LibGit2.initialized
        guard berth_git_set_ssl_cert_locations(file, directory) == 0 else {
            let failure = LibGit2.lastFailure(-1)
            throw BerthError(
                .invalidArgument, "cannot load CA certificates from \(file ?? directory ?? "?"): \(failure.message)",
                hint: "give a PEM file of CA certificates")
        }
    }

    /// Where the mirror of `remote` lives (whether or not it exists yet).
    public func mirrorPath(for remote: GitRemote) throws(BerthError) -> URL {
        let url = try GitRemoteURL(remote.url)
        let name = remote.name.map(MirrorName.forName) ?? MirrorName.forURL(url.normalized)
        return dataDirectory.appendingPathComponent("git", isDirectory: true).appendingPathComponent(name, isDirectory: true)
    }

    /// Runs `body` on the git queue.
    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: - Fetch

    public func fetch(_ remote: GitRemote) async throws -> GitMirror {
        try await run(try fetchWork(remote))
    }

    /// Checks `remote` and its credentials, and returns the fetch itself, which blocks and must
    /// run on the git queue.
    private func fetchWork(_ remote: GitRemote) throws -> @Sendable () throws -> GitMirror {
        let url = try GitRemoteURL(remote.url)
        let path = try mirrorPath(for: remote)
        let credentials = try ResolvedCredentials(remote.credentials)
        var knownHosts: KnownHosts?
        var knownHostsPath: String?
        if case .sshKey(_, let file, _, _) = remote.credentials {
            do {
                knownHosts = try KnownHosts(path: file)
                knownHostsPath = file
            } catch {
                throw BerthError(.invalidArgument, "cannot read known_hosts file \(file)", hint: "create it, e.g. with ssh-keyscan")
            }
        }
        if url.transport == .ssh && knownHosts == nil {
            throw BerthError(
                .invalidArgument, "\(Redaction.scrub(remote.url)) is an SSH remote but no SSH key and known_hosts are configured",
                hint: "use .sshKey(privateKeyPath:knownHostsPath:) credentials")
        }
        if let local = url.localPath {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw BerthError(.gitUnreachable, "repository path \(local) does not exist", hint: "check the path")
            }
        }
        let shownURL = Redaction.scrub(url.normalized)
        let hosts = knownHosts
        let hostsPath = knownHostsPath
        return {
            let context = FetchContext(url: url, credentials: credentials, knownHosts: hosts, knownHostsPath: hostsPath)
            try Self.fetchSync(url: url, into: path, context: context)
            return GitMirror(path: path, remoteURL: shownURL)
        }
    }

    // MARK: - Checkout

    /// Fetch, resolve, commit and files in ONE trip to the git queue, on one
    /// opened mirror: a sync used to queue four jobs and open the mirror four
    /// times, and under load each job waited for a Dispatch thread again.
    public func checkout(_ remote: GitRemote, ref: GitRef = .head, subpath: String = "") async throws -> GitCheckout {
        let normalized = try TreePath.normalizeSubpath(subpath)
        let fetch = try fetchWork(remote)
        return try await run {
            let mirror = try fetch()
            let repo = try GitRepositoryHandle(open: mirror.path.path)
            let resolved = try Self.resolve(ref, in: repo)
            let commit = try Self.commit(resolved.commit, in: repo)
            var reader = TreeReader(repo: repo, root: try repo.tree(of: resolved.commit), commit: resolved.commit, subpath: normalized)
            return GitCheckout(mirror: mirror, ref: resolved, commit: commit, subpath: normalized, files: try reader.read())
        }
    }

    private static func fetchSync(url: GitRemoteURL, into path: URL, context: FetchContext) throws {
        let files = FileManager.default
        try files.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        let exists = files.fileExists(atPath: path.appendingPathComponent("HEAD").path)
        if exists {
            let repo = try GitRepositoryHandle(open: path.path)
            try fetch(repo: repo, url: url, context: context)
            return
        }
        // First clone: build it aside and move it in place only when complete, so that a failed
        // clone leaves nothing behind that would later be taken for a mirror.
        let partial = path.deletingLastPathComponent().appendingPathComponent(".\(path.lastPathComponent).partial-\(UUID().uuidString)")
        defer { try? files.removeItem(at: partial) }
        do {
            var raw: OpaquePointer?
            try LibGit2.check(git_repository_init(&raw, partial.path, 1), "creating mirror \(path.path)")
            guard let raw else { throw BerthError(.git, "creating mirror \(path.path) failed") }
            let repo = GitRepositoryHandle(raw)
            try fetch(repo: repo, url: url, context: context)
        }
        if files.fileExists(atPath: path.path) { try files.removeItem(at: path) }
        try files.moveItem(at: partial, to: path)
    }

    /// Mirror refspecs: every branch and tag, forced, so that rewritten history is followed too.
    static let refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]

    private static func fetch(repo: GitRepositoryHandle, url: GitRemoteURL, context: FetchContext) throws {
        // An in-memory remote: the URL (which may carry a user's inline credentials) is never
        // written to the mirror's config, and a changed URL needs no bookkeeping.
        var created: OpaquePointer?
        try LibGit2.check(git_remote_create_anonymous(&created, repo.pointer, url.normalized), "configuring the remote")
        guard let remote = created else { throw BerthError(.git, "configuring the remote failed") }
        defer { git_remote_free(remote) }

        var options = git_fetch_options()
        try LibGit2.check(git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)), "initialising fetch options")
        options.prune = GIT_FETCH_PRUNE
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE  // the tags refspec fetches them all
        options.update_fetchhead = 0
        options.callbacks.credentials = credentialCallback
        options.callbacks.certificate_check = certificateCallback
        var cStrings = refspecs.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let code = withExtendedLifetime(context) {
            options.callbacks.payload = Unmanaged.passUnretained(context).toOpaque()
            return cStrings.withUnsafeMutableBufferPointer { buffer in
                var specs = git_strarray(strings: buffer.baseAddress, count: buffer.count)
                return git_remote_fetch(remote, &specs, &options, "berth: fetch")
            }
        }
        if code < 0 { throw classify(LibGit2.lastFailure(code), context: context) }

        // Point HEAD at the remote's default branch, so that `.head` means what it means on the remote.
        var buffer = git_buf()
        if git_remote_default_branch(&buffer, remote) == 0, let name = buffer.ptr {
            _ = git_repository_set_head(repo.pointer, name)
        }
        git_buf_dispose(&buffer)
    }

    /// Turns a failed fetch into one of the documented error codes, without credentials.
    static func classify(_ failure: LibGit2.Failure, context: FetchContext) -> BerthError {
        let url = Redaction.scrub(context.url.normalized)
        let detail = Redaction.scrub(failure.message, secrets: context.credentials.secrets)
        if let hostKeyFailure = context.hostKeyFailure { return hostKeyFailure }
        if context.authRejected {
            let hint = context.url.transport == .ssh
                ? "check that the key's public half is in the server's authorized_keys for that user"
                : "check the user name and the password or token, and that it may read this repository"
            return BerthError(.gitAuthFailed, "authentication to \(url) failed: the credentials were rejected", hint: hint)
        }
        if context.credentialsMissing {
            return BerthError(
                .gitAuthFailed, "\(url) requires authentication, and no matching credentials are configured",
                hint: "configure basic, token (https) or sshKey (ssh) credentials for this source")
        }
        if let owned = LibGit2.ownershipError(failure, path: context.url.localPath ?? url) { return owned }
        if failure.code == GIT_ECERTIFICATE.rawValue {
            return BerthError(
                .gitAuthFailed, "the TLS certificate of \(url) is not trusted: \(detail)",
                hint: "if the server uses a private CA, trust it with LibGit2Source.trustCertificates(file:) or the system store (update-ca-certificates)")
        }
        let lower = detail.lowercased()
        let errorClass = git_error_t(rawValue: UInt32(bitPattern: failure.errorClass))
        if failure.code == GIT_EAUTH.rawValue || lower.contains("401") || lower.contains("authentication") || lower.contains("unauthorized") {
            return BerthError(.gitAuthFailed, "authentication to \(url) failed: \(detail)", hint: "check the configured credentials")
        }
        let notRepo = ["could not find repository", "not a git repository", "does not appear to be a git repository", "404", "repository not found", "not valid: is this a git repository"]
        if notRepo.contains(where: lower.contains) {
            return BerthError(.gitNotARepository, "\(url) is not a git repository: \(detail)", hint: "check the URL or path of the repository")
        }
        let netClasses = [GIT_ERROR_NET, GIT_ERROR_SSH, GIT_ERROR_HTTP, GIT_ERROR_SSL, GIT_ERROR_OS]
        let netWords = ["connect", "resolve", "timed out", "refused", "unreachable", "no route", "connection", "eof"]
        if netClasses.contains(errorClass) || netWords.contains(where: lower.contains) {
            return BerthError(.gitUnreachable, "cannot reach \(url): \(detail)", hint: "check the URL, the network and that the server is up")
        }
        return BerthError(.git, "fetching \(url) failed: \(detail)")
    }

    // MARK: - Refs

    public func refs(in mirror: GitMirror) async throws -> GitRefs {
        try await run {
            let repo = try GitRepositoryHandle(open: mirror.path.path)
            return try Self.refs(repo)
        }
    }

    static func refs(_ repo: GitRepositoryHandle) throws(BerthError) -> GitRefs {
        var names = git_strarray()
        try LibGit2.check(git_reference_list(&names, repo.pointer), "listing refs")
        defer { git_strarray_dispose(&names) }
        var refs = GitRefs()
        for index in 0..<names.count {
            guard let cName = names.strings[index] else { continue }
            let name = String(cString: cName)
            let isBranch = name.hasPrefix("refs/heads/")
            guard isBranch || name.hasPrefix("refs/tags/") else { continue }
            var ref: OpaquePointer?
            guard git_reference_lookup(&ref, repo.pointer, name) == 0, let ref else { continue }
            defer { git_reference_free(ref) }
            var object: OpaquePointer?
            // Tags of trees or blobs exist; they name no commit and are skipped.
            guard git_reference_peel(&object, ref, GIT_OBJECT_COMMIT) == 0, let object else { continue }
            defer { git_object_free(object) }
            guard let oid = git_object_id(object), let id = LibGit2.commitID(oid) else { continue }
            if isBranch {
                refs.branches[String(name.dropFirst("refs/heads/".count))] = id
            } else {
                refs.tags[String(name.dropFirst("refs/tags/".count))] = id
            }
        }
        var head: OpaquePointer?
        if git_reference_lookup(&head, repo.pointer, "HEAD") == 0, let head {
            if let target = git_reference_symbolic_target(head) {
                let name = String(cString: target)
                if name.hasPrefix("refs/heads/") { refs.head = String(name.dropFirst("refs/heads/".count)) }
            }
            git_reference_free(head)
        }
        return refs
    }

    public func resolve(_ ref: GitRef, in mirror: GitMirror) async throws -> GitResolvedRef {
        try await run {
            try Self.resolve(ref, in: try GitRepositoryHandle(open: mirror.path.path))
        }
    }

    static func resolve(_ ref: GitRef, in repo: GitRepositoryHandle) throws -> GitResolvedRef {
        let resolver = GitRefResolver(refs: try Self.refs(repo))
        return try resolver.resolve(ref) { prefix throws(BerthError) in try Self.lookupCommit(repo, prefix: prefix) }
    }

    /// The commit an abbreviated or full sha names (a tag object's sha is peeled to its commit).
    static func lookupCommit(_ repo: GitRepositoryHandle, prefix: String) throws(BerthError) -> GitCommitID? {
        var oid = git_oid()
        guard git_oid_fromstrn(&oid, prefix, prefix.utf8.count) == 0 else { return nil }
        var object: OpaquePointer?
        let code = git_object_lookup_prefix(&object, repo.pointer, &oid, prefix.utf8.count, GIT_OBJECT_ANY)
        if code == GIT_EAMBIGUOUS.rawValue {
            throw BerthError(.gitUnknownRef, "the sha prefix \(prefix) is ambiguous", hint: "give more hex digits")
        }
        guard code == 0, let object else { return nil }
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        guard git_object_peel(&commit, object, GIT_OBJECT_COMMIT) == 0, let commit else { return nil }
        defer { git_object_free(commit) }
        return git_object_id(commit).flatMap(LibGit2.commitID)
    }

    // MARK: - Commits

    public func commit(_ id: GitCommitID, in mirror: GitMirror) async throws -> GitCommit {
        try await run { try Self.commit(id, in: try GitRepositoryHandle(open: mirror.path.path)) }
    }

    static func commit(_ id: GitCommitID, in repo: GitRepositoryHandle) throws -> GitCommit {
        let commit = try repo.commit(id)
        func signature(_ pointer: UnsafePointer<git_signature>?) -> GitSignature {
            guard let sig = pointer?.pointee else { return GitSignature(name: "", email: "", date: Date(timeIntervalSince1970: 0)) }
            return GitSignature(
                name: sig.name.map { String(cString: $0) } ?? "",
                email: sig.email.map { String(cString: $0) } ?? "",
                date: Date(timeIntervalSince1970: TimeInterval(sig.when.time)),
                timeZoneOffsetMinutes: Int(sig.when.offset))
        }
        let message = git_commit_message(commit.pointer).map { String(cString: $0) } ?? ""
        let summary = git_commit_summary(commit.pointer).map { String(cString: $0) } ?? ""
        var parents: [GitCommitID] = []
        for index in 0..<git_commit_parentcount(commit.pointer) {
            if let oid = git_commit_parent_id(commit.pointer, index), let parent = LibGit2.commitID(oid) { parents.append(parent) }
        }
        return GitCommit(
            id: id, author: signature(git_commit_author(commit.pointer)),
            committer: signature(git_commit_committer(commit.pointer)),
            summary: summary, message: message, parents: parents)
    }

    // MARK: - Changed paths

    public func changedPaths(from: GitCommitID?, to: GitCommitID, in mirror: GitMirror) async throws -> [String] {
        try await run {
            let repo = try GitRepositoryHandle(open: mirror.path.path)
            let old = try from.map { id throws(BerthError) in try repo.tree(of: id) }
            let new = try repo.tree(of: to)
            var diff: OpaquePointer?
            try LibGit2.check(git_diff_tree_to_tree(&diff, repo.pointer, old?.pointer, new.pointer, nil), "comparing commits")
            guard let diff else { return [] }
            defer { git_diff_free(diff) }
            var paths = Set<String>()
            for index in 0..<git_diff_num_deltas(diff) {
                guard let delta = git_diff_get_delta(diff, index)?.pointee else { continue }
                if let path = delta.old_file.path { paths.insert(String(cString: path)) }
                if let path = delta.new_file.path { paths.insert(String(cString: path)) }
            }
            return paths.sorted()
        }
    }

    // MARK: - Files

    public func files(at commit: GitCommitID, subpath: String, in mirror: GitMirror) async throws -> [GitFile] {
        let subpath = try TreePath.normalizeSubpath(subpath)
        return try await run {
            let repo = try GitRepositoryHandle(open: mirror.path.path)
            var reader = TreeReader(repo: repo, root: try repo.tree(of: commit), commit: commit, subpath: subpath)
            return try reader.read()
        }
    }
}
