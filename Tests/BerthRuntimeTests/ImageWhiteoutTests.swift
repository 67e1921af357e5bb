import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// Whiteouts become overlayfs whiteouts, and the kernel agrees: mounting
/// the unpacked layers with overlayfs shows the merged view the OCI spec
/// describes. Serialized: it mounts.
@Suite(.serialized) struct ImageWhiteoutTests {
    typealias T = ImageTestSupport

    @Test func twoLayerImageWithWhiteoutAndOpaqueDirectory() async throws {
        let dir = try T.makeTempDir("wh")
        defer { T.cleanup(dir) }
        try T.craftTar([
            .dir("etc"), .file("etc/keep", "keep\n"), .file("etc/remove-me", "gone\n"),
            .dir("data"), .file("data/old", "old\n"), .dir("data/sub"), .file("data/sub/deep", "deep\n"),
            .file("top", "v1\n"),
            .dir("implied"), .file("implied/gone", "gone\n"),
        ], to: dir + "/l1.tar.gz", compression: "gzip")
        try T.craftTar([
            .file("etc/.wh.remove-me"),
            .file("data/.wh..wh..opq"), .file("data/new", "new\n"),
            .file("top", "v2\n"),
            .file("implied/.wh.gone"),  // parent directory only implied by the whiteout
        ], to: dir + "/l2.tar.zst", compression: "zstd")
        let digest = try T.craftLayout(at: dir + "/layout", name: "wh:1", layers: [dir + "/l1.tar.gz", dir + "/l2.tar.zst"])

        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/layout")
        let resolved = try await store.resolve("wh:1")
        #expect(resolved.digest == digest)
        #expect(resolved.layerPaths.count == 2)
        let lower = resolved.layerPaths[0], upper = resolved.layerPaths[1]

        // Overlay form on disk: 0:0 char devices and the opaque xattr; no .wh. files.
        let whiteout = try #require(T.lstat(upper + "/etc/remove-me"))
        #expect(whiteout.st_mode & S_IFMT == S_IFCHR)
        #expect(whiteout.st_rdev == 0)
        #expect(whiteout.st_uid == 0 && whiteout.st_gid == 0)
        #expect(T.lstat(upper + "/etc/.wh.remove-me") == nil)
        #expect(T.xattr(upper + "/data", "trusted.overlay.opaque") == "y")
        #expect(T.lstat(upper + "/data/.wh..wh..opq") == nil)
        #expect(T.lstat(upper + "/implied/gone").map { $0.st_mode & S_IFMT } == S_IFCHR)
        #expect(T.xattr(lower + "/data", "trusted.overlay.opaque") == nil)
        #expect(T.lstat(lower + "/etc/remove-me").map { $0.st_mode & S_IFMT } == S_IFREG)

        // The same view without mounting, for user lookups before a container exists.
        func text(_ path: String) -> String? { resolved.readFile(path).map { String(decoding: $0, as: UTF8.self) } }
        #expect(text("/etc/keep") == "keep\n")
        #expect(text("etc/remove-me") == nil)
        #expect(text("data/old") == nil)
        #expect(text("data/sub/deep") == nil)
        #expect(text("data/new") == "new\n")
        #expect(text("top") == "v2\n")
        #expect(text("implied/gone") == nil)

        // The kernel's view: mount both layers read-only (top layer first).
        let merged = dir + "/merged"
        try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: true)
        try T.run(["mount", "-t", "overlay", "overlay", "-o", "ro,lowerdir=\(upper):\(lower)", merged])
        defer { _ = try? T.run(["umount", merged]) }
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: merged + "/etc/keep"))
        #expect(!fm.fileExists(atPath: merged + "/etc/remove-me"))
        #expect(try fm.contentsOfDirectory(atPath: merged + "/data").sorted() == ["new"])
        #expect(try String(contentsOfFile: merged + "/top", encoding: .utf8) == "v2\n")
        #expect(try fm.contentsOfDirectory(atPath: merged + "/implied").isEmpty)
    }

    /// A whiteout of a file added earlier in the same layer removes it.
    @Test func whiteoutInSameLayerReplacesEntry() async throws {
        let dir = try T.makeTempDir("wh")
        defer { T.cleanup(dir) }
        try T.craftTar([.file("x", "x\n"), .file(".wh.x")], to: dir + "/l.tar")
        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/l.tar", options: ImageImportOptions(tag: "same"))
        let fs = try #require(try await store.resolve("same").layerPaths.first)
        #expect(T.lstat(fs + "/x").map { $0.st_mode & S_IFMT } == S_IFCHR)
    }
}
