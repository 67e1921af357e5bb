import BerthAPI
import Foundation
import Testing

@testable import BerthGit

#if canImport(Glibc)
import Glibc
#endif

/// Fetching over real ssh:// (sshd) and http:// (lighttpd + git http-backend) servers that the
/// tests start on free loopback ports and always stop. Serialized: one server at a time.
@Suite(.serialized) struct GitServerTests {
    /// An upstream work-tree repository with a manifest, plus a bare copy at `bareAt`.
    static func makeUpstream(in temp: TemporaryDirectory, bareAt bare: URL) throws -> String {
        let repo = try GitFixture(at: temp.appending("upstream"))
        try repo.write("deploy/app.yaml", "kind: Deployment\n")
        let sha = try repo.commit("first")
        try run("/usr/bin/git", ["clone", "-q", "--bare", repo.path, bare.path], environment: GitFixture.environment)
        return sha
    }

    func fetchError(_ git: LibGit2Source, _ remote: GitRemote) async -> BerthError? {
        do {
            _ = try await git.fetch(remote)
            Issue.record("fetch of \(remote.url) should have failed")
            return nil
        } catch let error as BerthError {
            return error
        } catch {
            Issue.record("not a BerthError: \(error)")
            return nil
        }
    }

    // MARK: - SSH

    @Test func sshClonesWithKeyAndKnownHosts() async throws {
        try await SSHTestServer.with { server in
            let temp = try TemporaryDirectory()
            defer { temp.remove() }
            let bare = temp.appending("served.git")
            let sha = try Self.makeUpstream(in: temp, bareAt: bare)
            let knownHosts = temp.appending("known_hosts")
            try Data(try server.knownHostsLine().utf8).write(to: knownHosts)
            let git = LibGit2Source(dataDirectory: temp.appending("data"))
            let remote = GitRemote(
                url: "ssh://root@127.0.0.1:\(server.port)\(bare.path)",
                credentials: .sshKey(privateKeyPath: server.userKey, knownHostsPath: knownHosts.path))
            let checkout: GitCheckout
            do {
                checkout = try await git.checkout(remote, ref: .branch("main"), subpath: "deploy")
            } catch {
                Issue.record("ssh clone failed: \(error)\nsshd log:\n\(server.log)")
                return
            }
            #expect(checkout.commit.id.hex == sha)
            #expect(checkout.files.map(\.path) == ["deploy/app.yaml"])

            // Hashed known_hosts (ssh-keygen -H) work too.
            try run("/usr/bin/ssh-keygen", ["-q", "-H", "-f", knownHosts.path])
            let hashed = try String(contentsOf: knownHosts, encoding: .utf8)
            #expect(hashed.hasPrefix("|1|"))
            _ = try await git.fetch(remote)

            // A path on the server that is no repository.
            let missing = await fetchError(git, GitRemote(
                url: "ssh://root@127.0.0.1:\(server.port)\(temp.appending("missing.git").path)",
                credentials: .sshKey(privateKeyPath: server.userKey, knownHostsPath: knownHosts.path)))
            #expect(missing?.code == .gitNotARepository, "\(missing?.description ?? "")")
        }
    }

    @Test func sshWrongKeyIsAuthFailed() async throws {
        try await SSHTestServer.with { server in
            let temp = try TemporaryDirectory()
            defer { temp.remove() }
            let bare = temp.appending("served.git")
            _ = try Self.makeUpstream(in: temp, bareAt: bare)
            let knownHosts = temp.appending("known_hosts")
            try Data(try server.knownHostsLine().utf8).write(to: knownHosts)
            let git = LibGit2Source(dataDirectory: temp.appending("data"))
            let error = await fetchError(git, GitRemote(
                url: "ssh://root@127.0.0.1:\(server.port)\(bare.path)",
                credentials: .sshKey(privateKeyPath: server.strangerKey, knownHostsPath: knownHosts.path)))
            #expect(error?.code == .gitAuthFailed, "\(error?.description ?? "")")
            #expect(error?.hint != nil)
        }
    }

    @Test func sshUnknownOrChangedHostKeyIsRefused() async throws {
        try await SSHTestServer.with { server in
            let temp = try TemporaryDirectory()
            defer { temp.remove() }
            let bare = temp.appending("served.git")
            _ = try Self.makeUpstream(in: temp, bareAt: bare)
            let git = LibGit2Source(dataDirectory: temp.appending("data"))
            let url = "ssh://root@127.0.0.1:\(server.port)\(bare.path)"

            // Empty known_hosts: the host is unknown.
            let empty = temp.appending("known_hosts_empty")
            try Data().write(to: empty)
            let unknown = await fetchError(git, GitRemote(url: url, credentials: .sshKey(privateKeyPath: server.userKey, knownHostsPath: empty.path)))
            #expect(unknown?.code == .gitAuthFailed)
            #expect(unknown?.message.contains("not in") == true, "\(unknown?.description ?? "")")
            #expect(unknown?.hint?.contains("ssh-keyscan -p \(server.port)") == true)

            // known_hosts names the host with another key: a possible man in the middle.
            let stranger = try String(contentsOfFile: server.strangerKey + ".pub", encoding: .utf8).split(separator: " ")
            let wrong = temp.appending("known_hosts_wrong")
            try Data("[127.0.0.1]:\(server.port) \(stranger[0]) \(stranger[1])\n".utf8).write(to: wrong)
            let changed = await fetchError(git, GitRemote(url: url, credentials: .sshKey(privateKeyPath: server.userKey, knownHostsPath: wrong.path)))
            #expect(changed?.code == .gitAuthFailed)
            #expect(changed?.message.contains("does not match") == true, "\(changed?.description ?? "")")

            // The right key for another port does not vouch for this one.
            let otherPort = temp.appending("known_hosts_port")
            try Data(try server.knownHostsLine().replacingOccurrences(of: ":\(server.port) ", with: ":1 ").utf8).write(to: otherPort)
            let port = await fetchError(git, GitRemote(url: url, credentials: .sshKey(privateKeyPath: server.userKey, knownHostsPath: otherPort.path)))
            #expect(port?.code == .gitAuthFailed)

            // And nothing was left behind as a mirror.
            let mirrors = (try? FileManager.default.contentsOfDirectory(atPath: temp.appending("data/git").path)) ?? []
            #expect(mirrors.isEmpty)
        }
    }

    // MARK: - HTTP

    @Test func httpBasicAuth() async throws {
        try await HTTPGitTestServer.with { server in
            let temp = try TemporaryDirectory()
            defer { temp.remove() }
            let sha = try Self.makeUpstream(in: temp, bareAt: server.repositories.appendingPathComponent("app.git"))
            let git = LibGit2Source(dataDirectory: temp.appending("data"))
            let passwordFile = temp.appending("password")
            try Data((HTTPGitTestServer.password + "\n").utf8).write(to: passwordFile)

            let remote = GitRemote(url: server.url("app.git"), credentials: .basic(username: HTTPGitTestServer.user, passwordFile: passwordFile.path))
            let checkout: GitCheckout
            do {
                checkout = try await git.checkout(remote, subpath: "deploy")
            } catch {
                Issue.record("http clone failed: \(error)\nserver log:\n\(server.log)")
                return
            }
            #expect(checkout.commit.id.hex == sha)
            #expect(checkout.files.map(\.path) == ["deploy/app.yaml"])

            // The same secret as a token from the environment.
            setenv("BERTH_GIT_TEST_TOKEN", HTTPGitTestServer.password, 1)
            defer { unsetenv("BERTH_GIT_TEST_TOKEN") }
            let viaToken = GitRemote(url: server.url("app.git"), name: "token", credentials: .token(env: "BERTH_GIT_TEST_TOKEN", username: HTTPGitTestServer.user))
            #expect(try await git.resolve(.head, in: try await git.fetch(viaToken)).commit.hex == sha)

            // Inline credentials in the URL work, and are not written into the mirror.
            let encoded = try #require(HTTPGitTestServer.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            let inline = try await git.fetch(GitRemote(url: "http://bob:\(encoded)@127.0.0.1:\(server.port)/git/app.git", name: "inline"))
            #expect(inline.remoteURL?.contains(encoded) == false)
            let config = try String(contentsOf: inline.path.appendingPathComponent("config"), encoding: .utf8)
            #expect(!config.contains(encoded) && !config.contains("127.0.0.1"), "\(config)")
        }
    }

    @Test func httpWrongOrMissingCredentialsAreAuthFailed() async throws {
        try await HTTPGitTestServer.with { server in
            let temp = try TemporaryDirectory()
            defer { temp.remove() }
            _ = try Self.makeUpstream(in: temp, bareAt: server.repositories.appendingPathComponent("app.git"))
            let git = LibGit2Source(dataDirectory: temp.appending("data"))
            let wrongFile = temp.appending("wrong")
            try Data("not-the-password-123".utf8).write(to: wrongFile)

            let wrong = await fetchError(git, GitRemote(url: server.url("app.git"), credentials: .basic(username: "bob", passwordFile: wrongFile.path)))
            #expect(wrong?.code == .gitAuthFailed, "\(wrong?.description ?? "")")
            #expect(wrong?.description.contains("not-the-password-123") == false)

            let none = await fetchError(git, GitRemote(url: server.url("app.git")))
            #expect(none?.code == .gitAuthFailed, "\(none?.description ?? "")")
            #expect(none?.message.contains("requires authentication") == true)

            // Credentials in the URL are used by libgit2 but never shown.
            let inURL = await fetchError(git, GitRemote(url: "http://bob:not-the-password-123@127.0.0.1:\(server.port)/git/app.git"))
            #expect(inURL?.code == .gitAuthFailed, "\(inURL?.description ?? "")")
            #expect(inURL?.description.contains("not-the-password-123") == false, "\(inURL?.description ?? "")")

            let missingSecret = await fetchError(git, GitRemote(url: server.url("app.git"), credentials: .basic(username: "bob", passwordEnv: "BERTH_NO_SUCH_VARIABLE")))
            #expect(missingSecret?.code == .invalidArgument)
        }
    }

    @Test func httpsIsRefusedUntilItsCAIsTrusted() async throws {
        try await HTTPGitTestServer.with(tls: true) { server in
            let temp = try TemporaryDirectory()
            defer { temp.remove() }
            let sha = try Self.makeUpstream(in: temp, bareAt: server.repositories.appendingPathComponent("app.git"))
            let git = LibGit2Source(dataDirectory: temp.appending("data"))
            let passwordFile = temp.appending("password")
            try Data(HTTPGitTestServer.password.utf8).write(to: passwordFile)
            let remote = GitRemote(url: server.url("app.git"), credentials: .basic(username: HTTPGitTestServer.user, passwordFile: passwordFile.path))
            #expect(remote.url.hasPrefix("https://"))

            // Trust is additive and process-wide, so the refusal must be checked first.
            let untrusted = await fetchError(git, remote)
            #expect(untrusted?.code == .gitAuthFailed, "\(untrusted?.description ?? "")")
            #expect(untrusted?.message.contains("certificate") == true)

            try LibGit2Source.trustCertificates(file: server.caFile)
            let checkout: GitCheckout
            do {
                checkout = try await git.checkout(remote, subpath: "deploy")
            } catch {
                Issue.record("https clone failed: \(error)\nserver log:\n\(server.log)")
                return
            }
            #expect(checkout.commit.id.hex == sha)
            #expect(checkout.files.map(\.path) == ["deploy/app.yaml"])
        }
    }

    @Test func httpMissingRepositoryIsNotARepository() async throws {
        try await HTTPGitTestServer.with { server in
            let temp = try TemporaryDirectory()
            defer { temp.remove() }
            let git = LibGit2Source(dataDirectory: temp.appending("data"))
            setenv("BERTH_GIT_TEST_PW", HTTPGitTestServer.password, 1)
            defer { unsetenv("BERTH_GIT_TEST_PW") }
            let error = await fetchError(git, GitRemote(url: server.url("missing.git"), credentials: .basic(username: "bob", passwordEnv: "BERTH_GIT_TEST_PW")))
            #expect(error?.code == .gitNotARepository, "\(error?.description ?? "")")
        }
    }
}
