import BerthAPI
import Foundation
import Testing

@testable import BerthGit

/// A ``GitSource`` over in-memory data, to test logic built on the protocol. Its real
/// counterpart, ``LibGit2Source``, runs the same `checkout` in LibGit2SourceTests.
actor FakeGitSource: GitSource {
    var fetched: [String] = []
    let refsValue: GitRefs
    let filesByCommit: [GitCommitID: [GitFile]]

    init(refs: GitRefs, files: [GitCommitID: [GitFile]]) {
        refsValue = refs
        filesByCommit = files
    }

    func fetch(_ remote: GitRemote) async throws -> GitMirror {
        fetched.append(remote.url)
        return GitMirror(path: URL(fileURLWithPath: "/fake"), remoteURL: remote.url)
    }

    func refs(in mirror: GitMirror) async throws -> GitRefs { refsValue }

    func resolve(_ ref: GitRef, in mirror: GitMirror) async throws -> GitResolvedRef {
        let known = Set(filesByCommit.keys)
        return try GitRefResolver(refs: refsValue).resolve(ref) { prefix in known.first { $0.hex.hasPrefix(prefix) } }
    }

    func commit(_ id: GitCommitID, in mirror: GitMirror) async throws -> GitCommit {
        let who = GitSignature(name: "A", email: "a@example.com", date: Date(timeIntervalSince1970: 0))
        return GitCommit(id: id, author: who, committer: who, summary: "s", message: "s\n")
    }

    func files(at commit: GitCommitID, subpath: String, in mirror: GitMirror) async throws -> [GitFile] {
        (filesByCommit[commit] ?? []).filter { TreePath.isInside($0.path, subpath) }
    }

    func changedPaths(from: GitCommitID?, to: GitCommitID, in mirror: GitMirror) async throws -> [String] { [] }
}

@Suite struct CheckoutTests {
    let one = GitCommitID(String(repeating: "1", count: 40))!
    let two = GitCommitID(String(repeating: "2", count: 40))!

    func source() -> FakeGitSource {
        FakeGitSource(
            refs: GitRefs(branches: ["main": one], tags: ["v1.0.0": one, "v1.1.0": two], head: "main"),
            files: [
                one: [GitFile(path: "deploy/a.yaml", contents: Data("a".utf8)), GitFile(path: "other/b.yaml", contents: Data())],
                two: [GitFile(path: "deploy/c.yaml", contents: Data("c".utf8))],
            ])
    }

    @Test func fetchesResolvesAndReadsTheSubpath() async throws {
        let git = source()
        let checkout = try await git.checkout(GitRemote(url: "https://example.com/r.git"), ref: .head, subpath: "./deploy/")
        #expect(checkout.commit.id == one)
        #expect(checkout.subpath == "deploy")
        #expect(checkout.files.map(\.path) == ["deploy/a.yaml"])
        #expect(await git.fetched == ["https://example.com/r.git"])
    }

    @Test func semverPicksTheHighestTag() async throws {
        let checkout = try await source().checkout(GitRemote(url: "/r"), ref: .semver("^1.0"), subpath: "deploy")
        #expect(checkout.ref.name == "refs/tags/v1.1.0")
        #expect(checkout.files.map(\.path) == ["deploy/c.yaml"])
    }

    @Test func badSubpathFailsBeforeFetching() async throws {
        let git = source()
        await #expect(throws: BerthError.self) { try await git.checkout(GitRemote(url: "/r"), subpath: "../etc") }
        #expect(await git.fetched.isEmpty)
    }
}
