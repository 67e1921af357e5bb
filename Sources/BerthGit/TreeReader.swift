import BerthAPI
import CGit2
import Foundation

/// Walks one commit's tree below a subpath and collects the manifest files.
///
/// Reads blobs straight from the object database: no work tree, so nothing
/// on disk (and no checkout filter or hook) can change what is applied.
struct TreeReader {
    static let ignoreFile = ".berthignore"
    static let maxLinkHops = 8

    let repo: GitRepositoryHandle
    let root: GitObjectHandle
    let commit: GitCommitID
    let subpath: String
    var ignore = IgnoreRules()
    var files: [GitFile] = []

    init(repo: GitRepositoryHandle, root: GitObjectHandle, commit: GitCommitID, subpath: String) {
        self.repo = repo
        self.root = root
        self.commit = commit
        self.subpath = subpath
    }

    mutating func read() throws(BerthError) -> [GitFile] {
        // Keep the entry alive while its subtree is walked.
        var start = root
        if !subpath.isEmpty {
            guard let entry = GitTreeEntryHandle.lookup(root.pointer, subpath) else {
                throw BerthError(
                    .notFound, "path '\(subpath)' does not exist at commit \(commit.short)",
                    hint: "check the source's path; it is relative to the repository root")
            }
            guard git_tree_entry_type(entry.pointer) == GIT_OBJECT_TREE else {
                throw BerthError(.invalidArgument, "path '\(subpath)' at commit \(commit.short) is not a directory", hint: "give a directory")
            }
            var tree: OpaquePointer?
            try LibGit2.check(git_tree_lookup(&tree, repo.pointer, git_tree_entry_id(entry.pointer)), "reading \(subpath)")
            guard let tree else { throw BerthError(.git, "tree \(subpath) is missing") }
            start = GitObjectHandle(tree)
        }
        if let text = try blobText(at: Self.ignoreFile) { ignore.add(text, base: "") }
        if !subpath.isEmpty, let text = try blobText(at: subpath + "/" + Self.ignoreFile) { ignore.add(text, base: subpath) }
        try walk(start.pointer, prefix: subpath)
        return files.sorted { $0.path < $1.path }
    }

    private func blobText(at path: String) throws(BerthError) -> String? {
        guard let entry = GitTreeEntryHandle.lookup(root.pointer, path),
              git_tree_entry_type(entry.pointer) == GIT_OBJECT_BLOB,
              let oid = git_tree_entry_id(entry.pointer)
        else { return nil }
        return String(decoding: try repo.blob(oid), as: UTF8.self)
    }

    private mutating func walk(_ tree: OpaquePointer, prefix: String) throws(BerthError) {
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index), let cName = git_tree_entry_name(entry),
                  let oid = git_tree_entry_id(entry)
            else { continue }
            let name = String(cString: cName)
            let path = prefix.isEmpty ? name : prefix + "/" + name
            switch git_tree_entry_filemode(entry) {
            case GIT_FILEMODE_TREE:
                guard !ignore.isIgnored(path, isDirectory: true) else { continue }
                var subtree: OpaquePointer?
                try LibGit2.check(git_tree_lookup(&subtree, repo.pointer, oid), "reading \(path)")
                guard let subtree else { continue }
                let handle = GitObjectHandle(subtree)
                try walk(handle.pointer, prefix: path)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                guard TreePath.isManifest(path), !ignore.isIgnored(path) else { continue }
                files.append(GitFile(path: path, contents: Data(try repo.blob(oid))))
            case GIT_FILEMODE_LINK:
                guard TreePath.isManifest(path), !ignore.isIgnored(path) else { continue }
                if let file = try followLink(path, target: String(decoding: try repo.blob(oid), as: UTF8.self)) {
                    files.append(file)
                }
            default:
                continue  // submodules
            }
        }
    }

    /// Reads the file a symlink points to, if it stays inside the subpath; a link to a directory
    /// is skipped (its files are read where they really are).
    private func followLink(_ path: String, target: String) throws(BerthError) -> GitFile? {
        var linkPath = path
        var linkTarget = target
        for _ in 0..<Self.maxLinkHops {
            let resolved = try TreePath.resolveLink(linkPath, target: linkTarget, within: subpath)
            guard let entry = GitTreeEntryHandle.lookup(root.pointer, resolved), let oid = git_tree_entry_id(entry.pointer) else {
                throw BerthError(
                    .invalidManifest, "symlink \(path) points to \(resolved), which does not exist at commit \(commit.short)",
                    hint: "fix or remove the symlink", location: SourceLocation(file: path, line: 1))
            }
            switch git_tree_entry_filemode(entry.pointer) {
            case GIT_FILEMODE_LINK:
                linkPath = resolved
                linkTarget = String(decoding: try repo.blob(oid), as: UTF8.self)
            case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                return GitFile(path: path, contents: Data(try repo.blob(oid)), linkTarget: resolved)
            default:
                return nil
            }
        }
        throw BerthError(
            .invalidManifest, "symlink \(path) goes through more than \(Self.maxLinkHops) links",
            hint: "point it at the file directly", location: SourceLocation(file: path, line: 1))
    }
}
