import BerthAPI
import CGit2

/// Thin, owning wrappers around libgit2 handles and its error state.
///
/// Every function here must run on ``LibGit2Source``'s queue: libgit2 keeps
/// its last error per thread, and the handles are not shared between threads.
enum LibGit2 {
    /// `git_libgit2_init` exactly once per process; never shut down (other
    /// sources may still be using the library).
    static let initialized: Bool = git_libgit2_init() > 0

    /// libgit2's own description of the last failure on this thread.
    struct Failure {
        var code: Int32
        var errorClass: Int32
        var message: String
    }

    static func lastFailure(_ code: Int32) -> Failure {
        guard let error = git_error_last(), let text = error.pointee.message else {
            return Failure(code: code, errorClass: 0, message: "libgit2 error \(code)")
        }
        return Failure(code: code, errorClass: error.pointee.klass, message: String(cString: text))
    }

    /// Throws a generic `.git` error for a failed call that no caller classifies further.
    static func check(_ code: Int32, _ what: @autoclosure () -> String) throws(BerthError) {
        guard code < 0 else { return }
        let failure = lastFailure(code)
        throw BerthError(.git, "\(what()): \(Redaction.scrub(failure.message))")
    }

    /// libgit2 (like git since 2.35.2) refuses repositories owned by another user unless they are
    /// listed as `safe.directory`; its message for that ("config value 'safe.directory' was not
    /// found") explains nothing, so say what it means and what to do.
    static func ownershipError(_ failure: Failure, path: String) -> BerthError? {
        guard failure.message.contains("safe.directory") else { return nil }
        return BerthError(
            .gitNotARepository, "\(path) is owned by another user, and git refuses to read other users' repositories",
            hint: "run berth as the repository's owner, or trust it: git config --global --add safe.directory \(path)")
    }

    static func hex(_ oid: UnsafePointer<git_oid>) -> String {
        var buffer = [CChar](repeating: 0, count: 40)
        _ = git_oid_fmt(&buffer, oid)
        return String(decoding: buffer.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func commitID(_ oid: UnsafePointer<git_oid>) -> GitCommitID? {
        GitCommitID(hex(oid))
    }

    static func oid(_ id: GitCommitID) -> git_oid {
        var oid = git_oid()
        _ = git_oid_fromstr(&oid, id.hex)
        return oid
    }
}

/// An open repository; freed when the wrapper goes away.
final class GitRepositoryHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// Opens exactly `path` (no search upwards), bare or not.
    convenience init(open path: String) throws(BerthError) {
        var repo: OpaquePointer?
        let code = git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        guard code == 0, let repo else {
            let failure = LibGit2.lastFailure(code)
            if let owned = LibGit2.ownershipError(failure, path: path) { throw owned }
            throw BerthError(
                .gitNotARepository, "\(path) is not a git repository: \(Redaction.scrub(failure.message))",
                hint: "check the path; a damaged mirror under the data directory can be deleted and is cloned again")
        }
        self.init(repo)
    }

    deinit { git_repository_free(pointer) }

    func commit(_ id: GitCommitID) throws(BerthError) -> GitObjectHandle {
        var oid = LibGit2.oid(id)
        var commit: OpaquePointer?
        let code = git_commit_lookup(&commit, pointer, &oid)
        guard code == 0, let commit else {
            throw BerthError(.gitUnknownRef, "commit \(id.short) is not in the repository", hint: "fetch again, or check the sha")
        }
        return GitObjectHandle(commit)
    }

    func tree(of id: GitCommitID) throws(BerthError) -> GitObjectHandle {
        let commit = try commit(id)
        var tree: OpaquePointer?
        try LibGit2.check(git_commit_tree(&tree, commit.pointer), "reading the tree of \(id.short)")
        guard let tree else { throw BerthError(.git, "commit \(id.short) has no tree") }
        return GitObjectHandle(tree)
    }

    /// The contents of the blob with the given id.
    func blob(_ oid: UnsafePointer<git_oid>) throws(BerthError) -> [UInt8] {
        var blob: OpaquePointer?
        try LibGit2.check(git_blob_lookup(&blob, pointer, oid), "reading blob \(LibGit2.hex(oid))")
        guard let blob else { throw BerthError(.git, "blob \(LibGit2.hex(oid)) is missing") }
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let raw = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: size))
    }
}

/// Any `git_object` (commit, tree, tag, blob); `git_object_free` works for all of them.
final class GitObjectHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { git_object_free(pointer) }
}

/// A tree entry returned by `git_tree_entry_bypath`, which the caller owns.
final class GitTreeEntryHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { git_tree_entry_free(pointer) }

    /// The entry at `path` below `tree`, or nil when there is none.
    static func lookup(_ tree: OpaquePointer, _ path: String) -> GitTreeEntryHandle? {
        var entry: OpaquePointer?
        guard git_tree_entry_bypath(&entry, tree, path) == 0, let entry else { return nil }
        return GitTreeEntryHandle(entry)
    }
}
