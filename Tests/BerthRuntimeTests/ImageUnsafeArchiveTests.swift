import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// Hand-crafted malicious layers (the CVE-2018-15664 / CVE-2021-32760
/// classes): each must be refused with `.unsafeArchive` naming the entry,
/// write nothing outside the layer directory, and register nothing.
@Suite struct ImageUnsafeArchiveTests {
    typealias T = ImageTestSupport
    typealias Entry = ImageTestSupport.Entry

    struct Fixture {
        let dir: String
        /// A directory next to the store that no layer may touch.
        let outside: String
        let secret: String
        let store: ImageStore

        init() throws {
            dir = try T.makeTempDir("unsafe")
            outside = dir + "/outside"
            secret = outside + "/secret"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try "original\n".write(toFile: secret, atomically: false, encoding: .utf8)
            store = try ImageStore(dataDir: dir + "/data")
        }

        /// Imports the crafted tar as a rootfs, through an OCI layout as
        /// well, and checks the refusal and that nothing escaped.
        func expectRefused(_ entries: [Entry], naming entry: String, compression: String = "none") async throws {
            let tar = dir + "/evil.tar"
            try T.craftTar(entries, to: tar, compression: compression)
            let before = T.listTree(outside)
            let error = await T.expectBerthError(.unsafeArchive) { try await store.importImage(from: tar, options: ImageImportOptions(tag: "evil")) }
            #expect(error?.message.contains("\"\(entry)\"") == true, "message must name the entry: \(error?.message ?? "")")

            _ = try T.craftLayout(at: dir + "/layout", name: "evil:layout", layers: [tar])
            _ = await T.expectBerthError(.unsafeArchive) { try await store.importImage(from: dir + "/layout") }

            #expect(T.listTree(outside) == before, "something was written outside the layer")
            #expect(try String(contentsOfFile: secret, encoding: .utf8) == "original\n")
            #expect(try await store.list().isEmpty, "a refused image must not be registered")
            // No half-unpacked layer remains visible.
            let layers = T.listTree(dir + "/data/images/layers").filter { !$0.contains("/") }
            #expect(layers.isEmpty, "\(layers)")
        }

        func cleanup() { T.cleanup(dir) }
    }

    @Test func absolutePath() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        try await f.expectRefused([.file("ok", "x"), .file(f.outside + "/evil", "pwned")], naming: f.outside + "/evil")
        #expect(!FileManager.default.fileExists(atPath: f.outside + "/evil"))
    }

    @Test func dotDotTraversal() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        // From <data>/images/layers/.tmp-x/fs, six levels up is above the temp dir.
        let name = "a/../../../../../../../outside/evil"
        try await f.expectRefused([.dir("a"), .file(name, "pwned")], naming: name, compression: "gzip")
    }

    @Test func symlinkEscapeThenWriteThrough() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        try await f.expectRefused([.symlink("escape", to: f.outside), .file("escape/evil", "pwned")], naming: "escape/evil")
        #expect(!FileManager.default.fileExists(atPath: f.outside + "/evil"))
    }

    @Test func relativeSymlinkEscapeThenWriteThrough() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let up = String(repeating: "../", count: 6) + "outside"
        try await f.expectRefused([.symlink("up", to: up), .file("up/secret", "pwned")], naming: "up/secret")
    }

    @Test func symlinkPlantedUnderLaterPath() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        // A directory first, then replaced by a symlink, then written "into" it.
        try await f.expectRefused(
            [.dir("etc"), .file("etc/hostname", "box"), .symlink("etc", to: f.outside), .file("etc/secret", "pwned")],
            naming: "etc/secret", compression: "zstd")
    }

    @Test func hardLinkToOutsideFile() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        try await f.expectRefused([.hardlink("leak", to: f.secret)], naming: "leak")
        try await f.expectRefused([.hardlink("leak", to: "../../../../../../../outside/secret")], naming: "leak")
    }

    @Test func hardLinkThroughSymlink() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        try await f.expectRefused([.symlink("s", to: f.outside), .hardlink("leak", to: "s/secret")], naming: "leak")
    }

    /// A symlink at the final component is replaced, never written through:
    /// harmless, so accepted.
    @Test func regularFileReplacesSymlinkInsteadOfFollowingIt() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let tar = f.dir + "/replace.tar"
        try T.craftTar([.symlink("secret", to: f.secret), .file("secret", "inside\n", mode: 0o600)], to: tar)
        let records = try await f.store.importImage(from: tar, options: ImageImportOptions(tag: "replace"))
        #expect(records.count == 1)
        let fs = try #require(try await f.store.resolve("replace").layerPaths.first)
        #expect(try String(contentsOfFile: f.secret, encoding: .utf8) == "original\n")
        #expect(try String(contentsOfFile: fs + "/secret", encoding: .utf8) == "inside\n")
        #expect(T.lstat(fs + "/secret").map { $0.st_mode & S_IFMT } == S_IFREG)
    }

    /// Absolute symlink targets are normal in images (`/bin/sh -> /bin/busybox`)
    /// and stay verbatim: they only resolve inside the container later.
    @Test func absoluteSymlinkTargetsAreKept() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let tar = f.dir + "/links.tar"
        try T.craftTar([.symlink("passwd", to: "/etc/passwd"), .symlink("up", to: "../../..")], to: tar)
        try await f.store.importImage(from: tar, options: ImageImportOptions(tag: "links"))
        let fs = try #require(try await f.store.resolve("links").layerPaths.first)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fs + "/passwd") == "/etc/passwd")
        // Reading the image's files never follows such a link to the host.
        #expect(try await f.store.resolve("links").readFile("passwd") == nil)
        #expect(try await f.store.resolve("links").readFile("up/etc/passwd") == nil)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fs + "/up") == "../../..")
    }

    /// overlayfs control attributes from a tar would steer the kernel's
    /// merge (redirects, metacopy): they are dropped.
    @Test func overlayXattrsFromTarAreDropped() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let tar = f.dir + "/xattr.tar"
        var dir = Entry.dir("d")
        dir.xattrs = ["trusted.overlay.redirect": "/etc", "user.keep": "yes"]
        try T.craftTar([dir], to: tar)
        try await f.store.importImage(from: tar, options: ImageImportOptions(tag: "xattr"))
        let fs = try #require(try await f.store.resolve("xattr").layerPaths.first)
        #expect(T.xattr(fs + "/d", "trusted.overlay.redirect") == nil)
        #expect(T.xattr(fs + "/d", "user.keep") == "yes")
    }
}
