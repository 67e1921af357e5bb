import BerthAPI
import Testing

@testable import BerthGit

@Suite struct RemoteURLTests {
    @Test(arguments: [
        ("https://user:s3cret@example.com/a.git", "https://***@example.com/a.git"),
        ("https://ghp_TOKEN@github.com/o/r", "https://***@github.com/o/r"),
        ("http://u:p@127.0.0.1:8080/x and ssh://git:pw@h/y", "http://***@127.0.0.1:8080/x and ssh://***@h/y"),
        ("ssh://git@example.com:2222/r.git", "ssh://git@example.com:2222/r.git"),
        ("failed for 'https://a:b@h/x': 401", "failed for 'https://***@h/x': 401"),
        ("no url here", "no url here"), ("/local/path", "/local/path"),
    ])
    func scrubsCredentials(input: String, expected: String) {
        #expect(Redaction.scrub(input) == expected)
    }

    @Test func scrubsKnownSecretValues() {
        #expect(Redaction.scrub("bad password hunter2!", secrets: ["hunter2"]) == "bad password ***!")
    }

    @Test func parsesTransportsHostsAndPorts() throws {
        let ssh = try GitRemoteURL("ssh://root@127.0.0.1:2222/srv/repo.git")
        #expect(ssh.transport == .ssh && ssh.host == "127.0.0.1" && ssh.port == 2222 && ssh.user == "root")
        let scp = try GitRemoteURL("git@github.com:org/repo.git")
        #expect(scp.transport == .ssh && scp.host == "github.com" && scp.port == 22 && scp.user == "git")
        let https = try GitRemoteURL("https://u:p@example.com/x.git")
        #expect(https.transport == .https && https.host == "example.com" && https.port == nil)
        let v6 = try GitRemoteURL("ssh://[::1]:2200/x")
        #expect(v6.host == "::1" && v6.port == 2200)
        let local = try GitRemoteURL("repos/app", relativeTo: "/work")
        #expect(local.transport == .local && local.normalized == "/work/repos/app" && local.localPath == "/work/repos/app")
        let file = try GitRemoteURL("file:///srv/app.git")
        #expect(file.transport == .file && file.localPath == "/srv/app.git")
        #expect(throws: BerthError.self) { try GitRemoteURL("ftp://example.com/x") }
    }

    @Test func mirrorNamesAreSafeStableAndCredentialFree() {
        let a = MirrorName.forURL("https://user:pw@example.com/team/app.git")
        let b = MirrorName.forURL("https://user:other@example.com/team/app.git")
        let c = MirrorName.forURL("https://example.com/team/app2.git")
        #expect(a == b, "a rotated password does not move the mirror")
        #expect(a != c)
        #expect(a.hasPrefix("example.com-team-app-") && a.hasSuffix(".git"))
        #expect(!a.contains("pw") && !a.contains("user"))
        #expect(MirrorName.forName("../../etc/passwd") == "etc-passwd.git")
        #expect(MirrorName.forName("my source") == "my-source.git")
        #expect(!MirrorName.forURL("/tmp/../x").contains("/"))
    }

    @Test func credentialDescriptionsNameSourcesNotSecrets() {
        let text = "\(GitCredentials.basic(username: "bob", passwordEnv: "BOB_PW")) \(GitCredentials.token(file: "/run/token"))"
        #expect(text.contains("$BOB_PW") && text.contains("/run/token"))
    }
}
