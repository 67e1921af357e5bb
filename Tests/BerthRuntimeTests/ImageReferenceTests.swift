import BerthAPI
import Testing

@testable import BerthRuntime

@Suite struct ImageReferenceTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("user/app", "docker.io/user/app:latest"),
        ("user/app:v2", "docker.io/user/app:v2"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/x@\(digest)", "localhost:5000/x@\(digest)"),
        ("localhost:5000/x:t@\(digest)", "localhost:5000/x:t@\(digest)"),
        ("127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b:t"),
        ("ghcr.io/org/team/app:1.0.0-rc.1", "ghcr.io/org/team/app:1.0.0-rc.1"),
        ("busybox@\(digest)", "docker.io/library/busybox@\(digest)"),
        ("my-app__x/z_z.y", "docker.io/my-app__x/z_z.y:latest"),
        ("my.registry/app", "my.registry/app:latest"),
        ("registry.example.com:443/app:Tag_1", "registry.example.com:443/app:Tag_1"),
    ])
    func normalizes(input: String, expected: String) throws {
        #expect(try ImageReference.normalize(input) == expected)
        // Normalizing is idempotent.
        #expect(try ImageReference.normalize(expected) == expected)
    }

    @Test(arguments: [
        ("busybox", "busybox"),
        ("docker.io/user/app:1", "user/app"),
        ("localhost:5000/x:1", "localhost:5000/x"),
        ("docker.io/library/a/b", "library/a/b"),
    ])
    func familiarName(input: String, expected: String) throws {
        #expect(try ImageReference(parsing: input).familiarName == expected)
    }

    @Test func parts() throws {
        let reference = try ImageReference(parsing: "127.0.0.1:5000/a/b:t")
        #expect(reference.domain == "127.0.0.1:5000")
        #expect(reference.path == "a/b")
        #expect(reference.tag == "t")
        #expect(reference.digest == nil)
        let pinned = try ImageReference(parsing: "localhost:5000/x@\(Self.digest)")
        #expect(pinned.tag == nil)
        #expect(pinned.digest == Self.digest)
    }

    @Test(arguments: [
        ("", "empty"),
        ("Busybox", "lowercase"),
        ("busybox:", "tag"),
        ("busybox:-bad", "tag"),
        ("busybox@sha256:123", "digest"),
        ("busybox@md5:" + String(repeating: "a", count: 32), "digest"),
        ("a//b", "path component"),
        ("-app", "path component"),
        ("app-", "path component"),
        ("a...b", "path component"),
        ("localhost:port/x", "registry"),
        ("busybox:" + String(repeating: "t", count: 129), "tag"),
    ])
    func rejects(input: String, reason: String) {
        #expect {
            try ImageReference.normalize(input)
        } throws: { error in
            guard let error = error as? BerthError else { return false }
            return error.code == .invalidArgument && error.message.contains(reason)
        }
    }

    @Test func digestsAreChecked() throws {
        let digest = OCIDigest(of: Array("hello".utf8))
        #expect(digest.description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(throws: BerthError.self) { try OCIDigest(parsing: "sha256:../../etc/passwd") }
        #expect(throws: BerthError.self) { try OCIDigest(parsing: "sha512:" + String(repeating: "a", count: 128)) }
    }
}
