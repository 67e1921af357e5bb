import BerthTestSupport
import BerthAPI
import Foundation
import Testing

@testable import BerthGit

/// LibGit2Source against real repositories made with the git CLI, cloned by path and file://.
@Suite struct LibGit2SourceTests {
    /// A work-tree repository "upstream" and an empty data directory, removed after the test.
    static func withRepo(_ body: (GitFixture, LibGit2Source, TemporaryDirectory) async throws -> Void) async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let repo = try GitFixture(at: temp.appending("upstream"))
        let git = LibGit2Source(dataDirectory: temp.appending("data"))
        try await body(repo, git, temp)
    }

    func errorCode(_ body: () async throws -> Void) async -> BerthError? {
        do {
            try await body()
            return nil
        } catch let error as BerthError {
            return error
        } catch {
            Issue.record("not a BerthError: \(error)")
            return nil
        }
    }

    @Test func libgit2HasSSH() {
        #expect(LibGit2Source.supportsSSH)
    }

    @Test func clonesByPathAndReadsOnlyManifestsUnderTheSubpath() async throws {
        try await Self.withRepo { repo, git, temp in
            try repo.write("deploy/app.yaml", "kind: Deployment\n")
            try repo.write("deploy/svc.yml", "kind: Service\n")
            try repo.write("deploy/nested/cm.json", "{\"kind\":\"ConfigMap\"}")
            try repo.write("deploy/README.md", "# not a manifest")
            try repo.write("deploy/script.sh", "echo hi")
            try repo.write("other/elsewhere.yaml", "kind: Secret\n")
            let sha = try repo.commit("first")

            let checkout = try await git.checkout(GitRemote(url: repo.path), ref: .branch("main"), subpath: "deploy")
            #expect(checkout.commit.id.hex == sha)
            #expect(checkout.files.map(\.path) == ["deploy/app.yaml", "deploy/nested/cm.json", "deploy/svc.yml"])
            #expect(String(decoding: checkout.files[0].contents, as: UTF8.self) == "kind: Deployment\n")

            // The mirror is bare, under <data>/git/, and has no work tree.
            let mirror = checkout.mirror.path
            #expect(mirror.path.hasPrefix(temp.appending("data/git").path))
            #expect(mirror.lastPathComponent.hasSuffix(".git"))
            #expect(FileManager.default.fileExists(atPath: mirror.appendingPathComponent("HEAD").path))
            #expect(!FileManager.default.fileExists(atPath: mirror.appendingPathComponent("deploy").path))

            let whole = try await git.files(at: checkout.commit.id, subpath: "", in: checkout.mirror)
            #expect(whole.count == 4)
        }
    }

    @Test func clonesByFileURLAndFetchSeesNewCommitsAndPrunes() async throws {
        try await Self.withRepo { repo, git, _ in
            try repo.write("a.yaml", "v: 1\n")
            let first = try repo.commit("one")
            try repo.git(["branch", "doomed"])
            try repo.git(["tag", "doomed-tag"])
            let remote = GitRemote(url: "file://" + repo.path, name: "demo")
            let mirror = try await git.fetch(remote)
            #expect(mirror.path.lastPathComponent == "demo.git")
            #expect(try await git.resolve(.head, in: mirror).commit.hex == first)
            #expect(try await git.refs(in: mirror).branches.keys.sorted() == ["doomed", "main"])

            try repo.write("a.yaml", "v: 2\n")
            let second = try repo.commit("two")
            try repo.git(["branch", "-D", "doomed"])
            try repo.git(["tag", "-d", "doomed-tag"])
            try repo.git(["tag", "v2"])
            _ = try await git.fetch(remote)
            let refs = try await git.refs(in: mirror)
            #expect(refs.branches.keys.sorted() == ["main"], "deleted branch pruned")
            #expect(refs.tags.keys.sorted() == ["v2"], "deleted tag pruned, new tag fetched")
            #expect(try await git.resolve(.named("main"), in: mirror).commit.hex == second)
            let files = try await git.files(at: try #require(GitCommitID(second)), subpath: "", in: mirror)
            #expect(files.map { String(decoding: $0.contents, as: UTF8.self) } == ["v: 2\n"])
        }
    }

    @Test func aRepositoryOfAnotherUserGetsAnExplainedRefusal() async throws {
        try await Self.withRepo { repo, git, _ in
            try repo.commit("one")
            try run("/usr/bin/chown", ["-R", "65534:65534", repo.path])
            for url in [repo.path, "file://" + repo.path] {
                let error = await errorCode { _ = try await git.fetch(GitRemote(url: url)) }
                #expect(error?.code == .gitNotARepository, "\(error?.description ?? "")")
                #expect(error?.message.contains("owned by another user") == true)
                #expect(error?.hint?.contains("safe.directory \(repo.path)") == true)
            }
            let opened = await errorCode { _ = try await git.refs(in: GitMirror(path: repo.directory)) }
            #expect(opened?.message.contains("owned by another user") == true, "\(opened?.description ?? "")")
        }
    }

    @Test func aSourceWhoseURLChangesFollowsTheNewRemote() async throws {
        try await Self.withRepo { repo, git, temp in
            try repo.write("a.yaml", "one\n")
            let first = try repo.commit("one")
            let other = try GitFixture(at: temp.appending("other"))
            try other.write("b.yaml", "two\n")
            let second = try other.commit("two")
            let before = try await git.fetch(GitRemote(url: repo.path, name: "app"))
            #expect(try await git.resolve(.head, in: before).commit.hex == first)
            let after = try await git.fetch(GitRemote(url: other.path, name: "app"))
            #expect(after.path == before.path)
            #expect(try await git.resolve(.head, in: after).commit.hex == second)
        }
    }

    @Test func resolvesBranchesTagsShasAndSemverRanges() async throws {
        try await Self.withRepo { repo, git, _ in
            let c1 = try repo.commit("c1")
            try repo.git(["tag", "v1.0.0"])
            let c2 = try repo.commit("c2")
            try repo.git(["tag", "-a", "v1.2.0", "-m", "annotated release"])
            try repo.git(["tag", "1.3.0-rc.1"])
            let c3 = try repo.commit("c3")
            try repo.git(["tag", "-a", "v2.0.0", "-m", "major"])
            try repo.git(["branch", "release", c1])
            try repo.git(["tag", "light", c2])
            let mirror = try await git.fetch(GitRemote(url: repo.path))

            let cases: [(GitRef, String)] = [
                (.head, c3), (.branch("release"), c1), (.tag("v1.0.0"), c1), (.tag("v1.2.0"), c2), (.tag("light"), c2),
                (.commit(c2), c2), (.commit(String(c1.prefix(7))), c1), (.named(String(c2.prefix(10))), c2),
                (.semver("^1.0"), c2), (.semver(">=1.3.0-rc.0 <2"), c2), (.semver("~1.3.0-0"), c2), (.semver("*"), c3),
                (.semver("1.x"), c2), (.named("v2.0.0"), c3), (.named(">=2"), c3),
            ]
            for (ref, expected) in cases {
                let resolved = try await git.resolve(ref, in: mirror)
                #expect(resolved.commit.hex == expected, "\(ref)")
            }
            // The annotated tag's own object id is peeled to its commit too.
            let tagObject = try repo.git(["rev-parse", "v1.2.0"]).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(tagObject != c2)
            #expect(try await git.resolve(.commit(tagObject), in: mirror).commit.hex == c2)

            let error = await errorCode { _ = try await git.resolve(.branch("relase"), in: mirror) }
            #expect(error?.code == .gitUnknownRef)
            #expect(error?.message.contains("relase") == true)
            #expect(error?.message.contains("release") == true && error?.message.contains("v2.0.0") == true)
        }
    }

    @Test func honoursBerthignoreAtRootAndInSubpath() async throws {
        try await Self.withRepo { repo, git, _ in
            try repo.write(".berthignore", "# root rules\n*.json\n/deploy/ci/\n")
            try repo.write("deploy/.berthignore", "/local.yaml\n**/values*.yaml\n!values-keep.yaml\ndrafts/\n")
            for path in [
                "deploy/app.yaml", "deploy/local.yaml", "deploy/sub/local.yaml", "deploy/x.json", "deploy/ci/pipeline.yaml",
                "deploy/helm/values.yaml", "deploy/helm/values-keep.yaml", "deploy/drafts/wip.yaml", "deploy/sub/drafts/wip2.yaml",
            ] {
                try repo.write(path, "x: 1\n")
            }
            let sha = try repo.commit("ignore")
            let mirror = try await git.fetch(GitRemote(url: repo.path))
            let files = try await git.files(at: try #require(GitCommitID(sha)), subpath: "deploy", in: mirror)
            #expect(files.map(\.path) == ["deploy/app.yaml", "deploy/helm/values-keep.yaml", "deploy/sub/local.yaml"])
        }
    }

    @Test func followsSymlinksInsideTheSubpathOnly() async throws {
        try await Self.withRepo { repo, git, _ in
            try repo.write("deploy/real.yaml", "kind: ConfigMap\n")
            try repo.write("deploy/base/shared.yaml", "kind: Service\n")
            try repo.symlink("deploy/link.yaml", to: "real.yaml")
            try repo.symlink("deploy/overlay/shared.yaml", to: "../base/shared.yaml")
            try repo.symlink("deploy/chain.yaml", to: "link.yaml")
            try repo.symlink("deploy/dirlink", to: "base")
            try repo.symlink("deploy/notes", to: "/etc/passwd")  // not a manifest name: never read
            try repo.write("secrets/prod.yaml", "kind: Secret\n")
            let good = try #require(GitCommitID(try repo.commit("links")))
            let mirror = try await git.fetch(GitRemote(url: repo.path))
            let files = try await git.files(at: good, subpath: "deploy", in: mirror)
            #expect(files.map(\.path) == ["deploy/base/shared.yaml", "deploy/chain.yaml", "deploy/link.yaml", "deploy/overlay/shared.yaml", "deploy/real.yaml"])
            let link = try #require(files.first { $0.path == "deploy/link.yaml" })
            #expect(link.linkTarget == "deploy/real.yaml")
            #expect(String(decoding: link.contents, as: UTF8.self) == "kind: ConfigMap\n")
            #expect(files.first { $0.path == "deploy/chain.yaml" }?.linkTarget == "deploy/real.yaml")

            for (name, target) in [("deploy/escape.yaml", "../secrets/prod.yaml"), ("deploy/abs.yaml", "/etc/passwd"), ("deploy/up.yaml", "../../../x.yaml")] {
                try repo.symlink(name, to: target)
                let bad = try #require(GitCommitID(try repo.commit("bad link \(name)")))
                _ = try await git.fetch(GitRemote(url: repo.path))
                let error = await errorCode { _ = try await git.files(at: bad, subpath: "deploy", in: mirror) }
                #expect(error?.code == .invalidManifest, "\(name)")
                #expect(error?.message.contains(name) == true, "names the link: \(error?.message ?? "")")
                try repo.remove(name)
            }
            // Without a subpath, a link into another directory of the repository is fine.
            try repo.symlink("deploy/escape.yaml", to: "../secrets/prod.yaml")
            let whole = try #require(GitCommitID(try repo.commit("root view")))
            _ = try await git.fetch(GitRemote(url: repo.path))
            let all = try await git.files(at: whole, subpath: "", in: mirror)
            #expect(all.first { $0.path == "deploy/escape.yaml" }?.linkTarget == "secrets/prod.yaml")
        }
    }

    @Test func listsChangedPathsBetweenCommits() async throws {
        try await Self.withRepo { repo, git, _ in
            try repo.write("deploy/a.yaml", "a\n")
            try repo.write("deploy/b.yaml", "b\n")
            try repo.write("docs/readme.md", "r\n")
            let first = try #require(GitCommitID(try repo.commit("one")))
            try repo.write("deploy/a.yaml", "a2\n")
            try repo.remove("deploy/b.yaml")
            try repo.write("deploy/c.yaml", "c\n")
            try repo.git(["mv", "docs/readme.md", "docs/README.md"])
            let second = try #require(GitCommitID(try repo.commit("two")))
            let mirror = try await git.fetch(GitRemote(url: repo.path))
            let changed = try await git.changedPaths(from: first, to: second, in: mirror)
            #expect(changed == ["deploy/a.yaml", "deploy/b.yaml", "deploy/c.yaml", "docs/README.md", "docs/readme.md"])
            #expect(try await git.changedPaths(from: second, to: second, in: mirror).isEmpty)
            #expect(try await git.changedPaths(from: nil, to: first, in: mirror) == ["deploy/a.yaml", "deploy/b.yaml", "docs/readme.md"])
        }
    }

    @Test func readsCommitMetadata() async throws {
        try await Self.withRepo { repo, git, _ in
            let parent = try repo.commit("parent")
            let sha = try repo.commit("Deploy v2 of the app\n\nWith a longer body.\nSigned-off-by: Ada", date: "2024-05-01T12:30:00+02:00")
            let mirror = try await git.fetch(GitRemote(url: repo.path))
            let commit = try await git.commit(try #require(GitCommitID(sha)), in: mirror)
            #expect(commit.id.hex == sha)
            #expect(commit.author.name == "Ada Author" && commit.author.email == "ada@example.com")
            #expect(commit.committer.name == "Carl Committer" && commit.committer.email == "carl@example.com")
            #expect(commit.time == Date(timeIntervalSince1970: 1_714_559_400))
            #expect(commit.author.timeZoneOffsetMinutes == 120)
            #expect(commit.summary == "Deploy v2 of the app")
            #expect(commit.message == "Deploy v2 of the app\n\nWith a longer body.\nSigned-off-by: Ada\n")
            #expect(commit.parents.map(\.hex) == [parent])
        }
    }

    @Test func errorsSayWhatWentWrong() async throws {
        try await Self.withRepo { repo, git, temp in
            try repo.write("a.yaml", "a\n")
            let sha = try #require(GitCommitID(try repo.commit("one")))

            let missing = await errorCode { _ = try await git.fetch(GitRemote(url: temp.appending("nowhere").path)) }
            #expect(missing?.code == .gitUnreachable)

            let plainDirectory = temp.appending("plain")
            try FileManager.default.createDirectory(at: plainDirectory, withIntermediateDirectories: true)
            let notRepo = await errorCode { _ = try await git.fetch(GitRemote(url: plainDirectory.path)) }
            #expect(notRepo?.code == .gitNotARepository, "\(notRepo?.description ?? "")")
            #expect(notRepo?.hint != nil)
            let notRepoURL = await errorCode { _ = try await git.fetch(GitRemote(url: "file://" + plainDirectory.path)) }
            #expect(notRepoURL?.code == .gitNotARepository, "\(notRepoURL?.description ?? "")")
            // A failed first clone leaves no half-made mirror behind.
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: temp.appending("data/git").path)) ?? []
            #expect(leftovers.isEmpty, "\(leftovers)")

            // An empty repository can be mirrored; it just has nothing to resolve.
            let empty = try GitFixture(at: temp.appending("empty"))
            let emptyMirror = try await git.fetch(GitRemote(url: empty.path))
            let nothing = await errorCode { _ = try await git.resolve(.head, in: emptyMirror) }
            #expect(nothing?.code == .gitUnknownRef)
            #expect(nothing?.message.contains("no branches or tags") == true, "\(nothing?.description ?? "")")

            let opened = await errorCode { _ = try await git.refs(in: GitMirror(path: plainDirectory)) }
            #expect(opened?.code == .gitNotARepository)

            let mirror = try await git.fetch(GitRemote(url: repo.path))
            let noPath = await errorCode { _ = try await git.files(at: sha, subpath: "deploy", in: mirror) }
            #expect(noPath?.code == .notFound)
            #expect(noPath?.message.contains("deploy") == true)
            let fileAsPath = await errorCode { _ = try await git.files(at: sha, subpath: "a.yaml", in: mirror) }
            #expect(fileAsPath?.code == .invalidArgument)
            let unknownCommit = await errorCode { _ = try await git.resolve(.commit(String(repeating: "f", count: 40)), in: mirror) }
            #expect(unknownCommit?.code == .gitUnknownRef)

            // Nothing listens on a port we just freed: unreachable, and the password stays out of the message.
            let port = try E2ECluster.freePort()
            let closed = await errorCode {
                _ = try await git.fetch(GitRemote(url: "http://bob:hunter22@127.0.0.1:\(port)/repo.git"))
            }
            #expect(closed?.code == .gitUnreachable, "\(closed?.description ?? "")")
            #expect(closed?.description.contains("hunter22") == false)

            let sshWithoutKey = await errorCode { _ = try await git.fetch(GitRemote(url: "ssh://git@127.0.0.1:\(port)/x.git")) }
            #expect(sshWithoutKey?.code == .invalidArgument)
            let keyFile = temp.appending("key")
            try Data("not really a key".utf8).write(to: keyFile)
            try Data().write(to: temp.appending("known_hosts"))
            let sshClosed = await errorCode {
                _ = try await git.fetch(GitRemote(
                    url: "ssh://git@127.0.0.1:\(port)/x.git",
                    credentials: .sshKey(privateKeyPath: keyFile.path, knownHostsPath: temp.appending("known_hosts").path)))
            }
            #expect(sshClosed?.code == .gitUnreachable, "\(sshClosed?.description ?? "")")
        }
    }
}
