import Foundation

/// A real git repository with a work tree, driven through the `git` CLI, as a user's repo would be.
struct GitFixture {
    let directory: URL

    /// Identity and isolation from the machine's git configuration.
    static let environment: [String: String] = [
        "GIT_AUTHOR_NAME": "Ada Author", "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Carl Committer", "GIT_COMMITTER_EMAIL": "carl@example.com",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
    ]

    /// `git init` (branch `main`) in `directory`; `bare` for a server-side repository.
    init(at directory: URL, bare: Bool = false) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try git(["init", "-q", "-b", "main"] + (bare ? ["--bare"] : []))
    }

    var path: String { directory.path }

    @discardableResult
    func git(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        try run("/usr/bin/git", ["-C", directory.path] + arguments, environment: Self.environment.merging(environment) { $1 })
    }

    func write(_ path: String, _ contents: String) throws {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    func symlink(_ path: String, to target: String) throws {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    func remove(_ path: String) throws {
        try FileManager.default.removeItem(at: directory.appendingPathComponent(path))
    }

    /// Stages everything and commits; returns the new commit's sha.
    @discardableResult
    func commit(_ message: String, date: String? = nil) throws -> String {
        try git(["add", "-A"])
        let env = date.map { ["GIT_AUTHOR_DATE": $0, "GIT_COMMITTER_DATE": $0] } ?? [:]
        try git(["commit", "-q", "--allow-empty", "-m", message], environment: env)
        return try head()
    }

    func head() throws -> String {
        try git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
