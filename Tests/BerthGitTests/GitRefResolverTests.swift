import BerthAPI
import Foundation
import Testing

@testable import BerthGit

@Suite struct GitRefResolverTests {
    static func id(_ c: Character) -> GitCommitID { GitCommitID(String(repeating: c, count: 40))! }

    static let refs = GitRefs(
        branches: ["main": id("a"), "feature/x": id("b"), "1.x": id("c")],
        tags: [
            "v1.0.0": id("1"), "v1.2.0": id("2"), "1.2.5": id("3"), "v1.10.0": id("4"), "v2.0.0-rc.1": id("5"),
            "v2.0.0": id("6"), "latest": id("7"), "main": id("8"),
        ],
        head: "main")

    /// Commits the fake object database knows, by full sha.
    static func lookup(_ prefix: String) throws -> GitCommitID? {
        let known = [id("a"), id("d"), GitCommitID("dddd" + String(repeating: "e", count: 36))!]
        let matches = known.filter { $0.hex.hasPrefix(prefix) }
        if matches.count > 1 { throw BerthError(.gitUnknownRef, "ambiguous") }
        return matches.first
    }

    @Test(arguments: [
        (GitRef.head, "a", "refs/heads/main"), (.branch("main"), "a", "refs/heads/main"),
        (.branch("refs/heads/feature/x"), "b", "refs/heads/feature/x"), (.tag("v1.2.0"), "2", "refs/tags/v1.2.0"),
        (.tag("main"), "8", "refs/tags/main"), (.named("main"), "a", "refs/heads/main"), (.named("latest"), "7", "refs/tags/latest"),
        (.named("refs/tags/main"), "8", "refs/tags/main"), (.named("1.x"), "c", "refs/heads/1.x"),
        (.semver("1.x"), "4", "refs/tags/v1.10.0"), (.semver("~1.2"), "3", "refs/tags/1.2.5"),
        (.semver(">=1.0.0 <2.0.0"), "4", "refs/tags/v1.10.0"), (.semver("*"), "6", "refs/tags/v2.0.0"),
        (.semver("=2.0.0-rc.1"), "5", "refs/tags/v2.0.0-rc.1"), (.named("^1.0"), "4", "refs/tags/v1.10.0"),
        (.named("1.2.5"), "3", "refs/tags/1.2.5"), (.named("1.0.0"), "1", "refs/tags/v1.0.0"),
        (.commit(String(repeating: "d", count: 40)), "d", String(repeating: "d", count: 40)),
        (.commit("aaaaaaa"), "a", String(repeating: "a", count: 40)), (.named("aaaa"), "a", String(repeating: "a", count: 40)),
    ])
    func resolves(ref: GitRef, commit: Character, name: String) throws {
        let resolved = try GitRefResolver(refs: Self.refs).resolve(ref, lookupCommit: Self.lookup)
        #expect(resolved.commit == Self.id(commit), "\(ref)")
        #expect(resolved.name == name)
    }

    @Test func commitIDsAreCodableAsPlainStrings() throws {
        let id = Self.id("a")
        let data = try JSONEncoder().encode([id])
        #expect(String(decoding: data, as: UTF8.self) == "[\"\(id.hex)\"]")
        #expect(try JSONDecoder().decode([GitCommitID].self, from: data) == [id])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([GitCommitID].self, from: Data("[\"main\"]".utf8)) }
        #expect(GitCommitID(String(repeating: "A", count: 40))?.hex == String(repeating: "a", count: 40))
        #expect(GitCommitID("abc") == nil)
    }

    @Test func parsesUserInput() {
        #expect(GitRef(parsing: "") == .head)
        #expect(GitRef(parsing: "HEAD") == .head)
        #expect(GitRef(parsing: "branch:dev") == .branch("dev"))
        #expect(GitRef(parsing: "tag:v1") == .tag("v1"))
        #expect(GitRef(parsing: "commit:abc1") == .commit("abc1"))
        #expect(GitRef(parsing: "semver:>=1.0 <2") == .semver(">=1.0 <2"))
        #expect(GitRef(parsing: " main ") == .named("main"))
    }

    @Test(arguments: [GitRef.branch("mian"), .tag("v9"), .semver("3.x"), .named("nope"), .commit("ffff")])
    func unknownRefsListWhatExists(ref: GitRef) {
        do {
            _ = try GitRefResolver(refs: Self.refs).resolve(ref, lookupCommit: Self.lookup)
            Issue.record("\(ref) should not resolve")
        } catch let error as BerthError {
            #expect(error.code == .gitUnknownRef)
            #expect(error.message.contains(ref.description))
            #expect(error.message.contains("main") && error.message.contains("v2.0.0"), "lists existing refs: \(error.message)")
            #expect(error.hint != nil)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func ambiguousShortShaIsAnError() {
        #expect(throws: BerthError.self) {
            try GitRefResolver(refs: Self.refs).resolve(.commit("dddd"), lookupCommit: Self.lookup)
        }
    }

    @Test func badCommitTextIsInvalid() {
        #expect(throws: BerthError.self) { try GitRefResolver(refs: Self.refs).resolve(.commit("xyz"), lookupCommit: Self.lookup) }
    }

    @Test func emptyRepositorySaysSo() {
        do {
            _ = try GitRefResolver(refs: GitRefs()).resolve(.head, lookupCommit: { _ in nil })
            Issue.record("expected an error")
        } catch let error as BerthError {
            #expect(error.message.contains("no branches or tags"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
