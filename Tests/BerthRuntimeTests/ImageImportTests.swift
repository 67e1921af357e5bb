import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// Importing every supported input form into a real store on disk.
@Suite struct ImageImportTests {
    typealias T = ImageTestSupport

    /// Checks what every busybox test image must look like once unpacked.
    func expectBusyboxRootfs(_ resolved: ResolvedImage) throws {
        #expect(resolved.layerPaths.count == 1)
        let fs = try #require(resolved.layerPaths.first)
        let busybox = try #require(T.lstat(fs + "/bin/busybox"))
        #expect(busybox.st_mode & S_IFMT == S_IFREG)
        #expect(busybox.st_mode & 0o7777 == 0o755)
        #expect(busybox.st_size > 100_000)
        let sh = try #require(T.lstat(fs + "/bin/sh"))
        #expect(sh.st_mode & S_IFMT == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fs + "/bin/sh") == "busybox")
        let tmp = try #require(T.lstat(fs + "/tmp"))
        #expect(tmp.st_mode & 0o7777 == 0o1777)
        let home = try #require(T.lstat(fs + "/home/app"))
        #expect(home.st_uid == 1000 && home.st_gid == 1000)
        let passwd = try String(contentsOfFile: fs + "/etc/passwd", encoding: .utf8)
        #expect(passwd.contains("nobody:x:65534:65534"))
        // mtimes come from the tar (2024-01-01), not from the unpack time.
        #expect(busybox.st_mtim.tv_sec == 1_704_067_200)
        #expect(tmp.st_mtim.tv_sec == 1_704_067_200)
    }

    @Test func ociLayoutDirectory() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout")
        let store = try ImageStore(dataDir: dir + "/data")

        let records = try await store.importImage(from: dir + "/layout")
        #expect(records.map(\.digest) == [digest])
        #expect(records.first?.references == ["docker.io/library/busybox:latest"])

        let resolved = try await store.resolve("busybox")
        #expect(resolved.digest == digest)
        #expect(resolved.reference == "docker.io/library/busybox:latest")
        #expect(resolved.config.cmd == ["sh"])
        #expect(resolved.config.exposedPorts == ["80/tcp"])
        #expect(resolved.config.env?.first?.hasPrefix("PATH=") == true)
        #expect(resolved.layerPaths.first?.hasPrefix(dir + "/data/images/layers/") == true)
        try expectBusyboxRootfs(resolved)
        let passwd = try #require(resolved.readFile("/etc/passwd"))
        #expect(String(decoding: passwd, as: UTF8.self).contains("app:x:1000:1000"))

        // The blob store holds exactly manifest, config and layer, by digest.
        let blobs = T.listTree(dir + "/data/images/blobs/sha256")
        #expect(blobs.count == 3)
        #expect(blobs.contains(String(digest.dropFirst(7))))

        // The store itself is an OCI layout other tools can read.
        let inspected = try T.run(["skopeo", "inspect", "--raw", "oci:\(dir)/data/images"])
        #expect(inspected.contains(String(digest.dropFirst(7))) || inspected.contains("application/vnd.oci.image.manifest.v1+json"))

        // Importing again changes nothing and keeps one image.
        _ = try await store.importImage(from: dir + "/layout")
        #expect(try await store.list().count == 1)
        #expect(try await store.summary("busybox:latest")?.digest == digest)
        #expect(try await store.summary("busybox:nope") == nil)
    }

    @Test func ociLayoutTarWithExtraTag() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout", name: "localhost:5000/tools/busybox:1.36")
        try T.run(["tar", "-C", dir + "/layout", "-czf", dir + "/layout.tar.gz", "."])
        let store = try ImageStore(dataDir: dir + "/data")

        let records = try await store.importImage(from: dir + "/layout.tar.gz", options: ImageImportOptions(tag: "mine:v1"))
        #expect(records.map(\.digest) == [digest])
        #expect(records.first?.references == ["docker.io/library/mine:v1", "localhost:5000/tools/busybox:1.36"])
        try expectBusyboxRootfs(try await store.resolve("mine:v1"))
        // index.json / oci-layout of the tar went through the blob store but are not kept.
        #expect(T.listTree(dir + "/data/images/blobs/sha256").count == 3)
        #expect(T.listTree(dir + "/data/images/tmp").isEmpty)
    }

    @Test func zstdLayer() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout", compression: "zstd", name: "busybox:zstd")
        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/layout")
        let details = try await store.inspect("busybox:zstd")
        #expect(details.record.digest == digest)
        #expect(details.layers.map(\.mediaType) == [OCIMediaType.layerTarZstd])
        #expect(details.layers.map(\.unpacked) == [true])
        try expectBusyboxRootfs(try await store.resolve(digest))
    }

    @Test func uncompressedAndGzipLayersGiveTheSameDiffID() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        _ = try T.buildBusybox(into: dir + "/plain", compression: "none", name: "plain:1")
        _ = try T.buildBusybox(into: dir + "/gz", compression: "gzip", name: "gz:1")
        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/plain")
        try await store.importImage(from: dir + "/gz")
        let plain = try await store.resolve("plain:1")
        let gz = try await store.resolve("gz:1")
        #expect(plain.digest != gz.digest)
        #expect(plain.diffIDs == gz.diffIDs)
        // One unpacked copy, shared.
        #expect(plain.layerPaths == gz.layerPaths)
        #expect(T.listTree(dir + "/data/images/layers").filter { !$0.contains("/") }.count == 1)
    }

    @Test func dockerSaveArchive() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        _ = try T.buildBusybox(into: dir + "/layout")
        try T.craftDockerSave(fromLayout: dir + "/layout", to: dir + "/saved.tar", repoTags: ["myapp:v1", "registry.local:5000/team/myapp:v1"])
        let store = try ImageStore(dataDir: dir + "/data")
        let records = try await store.importImage(from: dir + "/saved.tar")
        #expect(records.count == 1)
        #expect(records.first?.references == ["docker.io/library/myapp:v1", "registry.local:5000/team/myapp:v1"])
        let details = try await store.inspect("myapp:v1")
        #expect(details.manifest.mediaType == OCIMediaType.imageManifest)
        #expect(details.layers.map(\.mediaType) == [OCIMediaType.layerTar])
        let resolved = try await store.resolve("registry.local:5000/team/myapp:v1")
        #expect(resolved.config.cmd == ["sh"])
        try expectBusyboxRootfs(resolved)
    }

    @Test func rootfsDirectoryLikeDockerImport() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        let rootfs = dir + "/rootfs"
        try T.run(["bash", "\(T.repoRoot)/scripts/build-test-image.sh", rootfs, "--rootfs-only"])
        // Things a rootfs import must keep: setuid, hard links, xattrs, fifos, devices.
        try T.run(["install", "-m", "4755", "/bin/busybox", rootfs + "/bin/su-test"])
        try T.run(["ln", rootfs + "/etc/passwd", rootfs + "/etc/passwd.hard"])
        try T.run(["python3", "-c", "import os,sys; os.setxattr(sys.argv[1], 'user.berth', b'kept')", rootfs + "/etc/hostname"])
        try T.run(["mkfifo", rootfs + "/tmp/fifo"])
        try T.run(["mknod", rootfs + "/dev/null", "c", "1", "3"])

        let store = try ImageStore(dataDir: dir + "/data")
        let options = ImageImportOptions(tag: "rootfs:1", cmd: ["httpd", "-f", "-p", "8080"], env: ["MODE=test"], workingDir: "/var/www")
        let records = try await store.importImage(from: rootfs, options: options)
        #expect(records.first?.references == ["docker.io/library/rootfs:1"])
        let resolved = try await store.resolve("rootfs:1")
        #expect(resolved.config.cmd == ["httpd", "-f", "-p", "8080"])
        #expect(resolved.config.env?.contains("MODE=test") == true)
        #expect(resolved.config.env?.contains { $0.hasPrefix("PATH=") } == true)
        #expect(resolved.config.workingDir == "/var/www")
        let fs = try #require(resolved.layerPaths.first)
        #expect(T.lstat(fs + "/bin/su-test").map { $0.st_mode & 0o7777 } == 0o4755)
        let passwd = try #require(T.lstat(fs + "/etc/passwd"))
        let hard = try #require(T.lstat(fs + "/etc/passwd.hard"))
        #expect(passwd.st_ino == hard.st_ino)
        #expect(passwd.st_nlink == 2)
        #expect(T.xattr(fs + "/etc/hostname", "user.berth") == "kept")
        #expect(T.lstat(fs + "/tmp/fifo").map { $0.st_mode & S_IFMT } == S_IFIFO)
        let null = try #require(T.lstat(fs + "/dev/null"))
        #expect(null.st_mode & S_IFMT == S_IFCHR)
        #expect(null.st_rdev == LayerUnpacker.makeDevice(1, 3))
        #expect(T.lstat(fs + "/home/app")?.st_uid == 1000)
        #expect(T.lstat(fs + "/tmp").map { $0.st_mode & 0o7777 } == 0o1777)
        let details = try await store.inspect("rootfs:1")
        #expect(details.layers.map(\.mediaType) == [OCIMediaType.layerTarGzip])
        #expect(details.image.rootfs.diffIDs.map(\.description) == resolved.diffIDs)
    }

    @Test func rootfsTarWithoutTagIsDangling() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        try T.craftTar([.dir("etc"), .file("etc/motd", "hello\n", mode: 0o640, uid: 7, gid: 8), .symlink("motd", to: "/etc/motd")],
                       to: dir + "/rootfs.tar.gz", compression: "gzip")
        let store = try ImageStore(dataDir: dir + "/data")
        let records = try await store.importImage(from: dir + "/rootfs.tar.gz")
        let record = try #require(records.first)
        #expect(record.references.isEmpty)
        let resolved = try await store.resolve(String(record.digest.dropFirst(7).prefix(12)))
        let fs = try #require(resolved.layerPaths.first)
        #expect(try String(contentsOfFile: fs + "/etc/motd", encoding: .utf8) == "hello\n")
        let motd = try #require(T.lstat(fs + "/etc/motd"))
        #expect(motd.st_uid == 7 && motd.st_gid == 8 && motd.st_mode & 0o7777 == 0o640)
        #expect(motd.st_mtim.tv_sec == 1_700_000_000)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fs + "/motd") == "/etc/motd")
        // Pruning removes the unnamed image and everything it had.
        let report = try await store.prune()
        #expect(report.deletedImages == [record.digest])
        #expect(try await store.list().isEmpty)
        #expect(T.listTree(dir + "/data/images/blobs/sha256").isEmpty)
        #expect(T.listTree(dir + "/data/images/layers").isEmpty)
    }

    @Test func importOptionsOnlyForRootfs() async throws {
        let dir = try T.makeTempDir()
        defer { T.cleanup(dir) }
        _ = try T.buildBusybox(into: dir + "/layout")
        let store = try ImageStore(dataDir: dir + "/data")
        let error = await T.expectBerthError(.invalidArgument) {
            try await store.importImage(from: dir + "/layout", options: ImageImportOptions(cmd: ["true"]))
        }
        #expect(error?.message.contains("rootfs") == true)
        #expect(try await store.list().isEmpty)
        _ = await T.expectBerthError(.notFound) { try await store.importImage(from: dir + "/nothing-here") }
    }
}
