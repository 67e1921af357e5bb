import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// Verification, names, removal, pruning, leases and sharing between
/// processes, against a real store on disk.
@Suite struct ImageStoreTests {
    typealias T = ImageTestSupport

    /// Flips one byte in the middle of a blob of the layout.
    func corrupt(_ layout: String, blob digest: String) throws {
        let path = "\(layout)/blobs/sha256/\(digest.dropFirst(7))"
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count / 2] ^= 0xff
        try data.write(to: URL(fileURLWithPath: path))
    }

    func layoutManifest(_ layout: String, _ digest: String) throws -> OCIManifest {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(digest.dropFirst(7))"))
        return try JSONDecoder().decode(OCIManifest.self, from: data)
    }

    @Test func corruptLayerBlobIsRefusedAndNothingIsRegistered() async throws {
        let dir = try T.makeTempDir("corrupt")
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout")
        let manifest = try layoutManifest(dir + "/layout", digest)
        let layer = try #require(manifest.layers.first).digest.description
        try corrupt(dir + "/layout", blob: layer)

        let store = try ImageStore(dataDir: dir + "/data")
        let error = await T.expectBerthError(.imageCorrupt) { try await store.importImage(from: dir + "/layout") }
        #expect(error?.message.contains(layer) == true, "\(error?.description ?? "")")
        #expect(try await store.list().isEmpty)
        // Manifest and config were verified and stored before the layer failed; they are removed again.
        #expect(T.listTree(dir + "/data/images/blobs/sha256").isEmpty)
        #expect(T.listTree(dir + "/data/images/layers").isEmpty)
        #expect(T.listTree(dir + "/data/images/tmp").isEmpty)
        _ = await T.expectBerthError(.imageNotFound) { _ = try await store.resolve("busybox") }
    }

    @Test func corruptConfigAndManifestAreRefused() async throws {
        let dir = try T.makeTempDir("corrupt")
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout")
        let config = try layoutManifest(dir + "/layout", digest).config.digest.description
        try T.run(["cp", "-a", dir + "/layout", dir + "/layout2"])
        try corrupt(dir + "/layout", blob: config)
        try corrupt(dir + "/layout2", blob: digest)
        let store = try ImageStore(dataDir: dir + "/data")
        let configError = await T.expectBerthError(.imageCorrupt) { try await store.importImage(from: dir + "/layout") }
        #expect(configError?.message.contains(config) == true)
        let manifestError = await T.expectBerthError(.imageCorrupt) { try await store.importImage(from: dir + "/layout2") }
        #expect(manifestError?.message.contains(digest) == true)
        #expect(try await store.list().isEmpty)
        #expect(T.listTree(dir + "/data/images/blobs/sha256").isEmpty)
    }

    /// Blob digests match but the config's diff_id does not match the
    /// uncompressed layer: caught while unpacking, before registration.
    @Test func wrongDiffIDIsRefused() async throws {
        let dir = try T.makeTempDir("diffid")
        defer { T.cleanup(dir) }
        try T.craftTar([.file("a", "a\n")], to: dir + "/l.tar.gz", compression: "gzip")
        _ = try T.craftLayout(at: dir + "/layout", name: "bad:1", layers: [dir + "/l.tar.gz"], badDiffID: true)
        let store = try ImageStore(dataDir: dir + "/data")
        let error = await T.expectBerthError(.imageCorrupt) { try await store.importImage(from: dir + "/layout") }
        #expect(error?.message.contains("sha256:" + String(repeating: "0", count: 64)) == true)
        #expect(try await store.list().isEmpty)
        #expect(T.listTree(dir + "/data/images/layers").isEmpty)
    }

    @Test func truncatedLayerIsRefused() async throws {
        let dir = try T.makeTempDir("trunc")
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/src")
        let manifest = try layoutManifest(dir + "/src", digest)
        let layer = "\(dir)/src/blobs/sha256/\(try #require(manifest.layers.first).digest.hex)"
        let data = try Data(contentsOf: URL(fileURLWithPath: layer))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/half.tar.gz"))
        let store = try ImageStore(dataDir: dir + "/data")
        _ = await T.expectBerthError(.imageCorrupt) { try await store.importImage(from: dir + "/half.tar.gz", options: ImageImportOptions(tag: "half")) }
        #expect(try await store.list().isEmpty)
        #expect(T.listTree(dir + "/data/images/layers").isEmpty)
    }

    @Test func tagRemoveAndGarbageCollection() async throws {
        let dir = try T.makeTempDir("rm")
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout")
        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/layout")
        let tagged = try await store.tag("busybox", as: "localhost:5000/bb:v1")
        #expect(tagged.references == ["docker.io/library/busybox:latest", "localhost:5000/bb:v1"])
        #expect(try await store.resolve("localhost:5000/bb:v1").digest == digest)
        // By digest, with and without a name.
        #expect(try await store.resolve(digest).digest == digest)
        #expect(try await store.resolve("localhost:5000/bb@\(digest)").digest == digest)

        // By ID with two names: refused without force.
        _ = await T.expectBerthError(.conflict) { _ = try await store.remove(String(digest.dropFirst(7).prefix(12))) }

        let first = try await store.remove("busybox")
        #expect(first.untagged == ["docker.io/library/busybox:latest"])
        #expect(first.deleted == nil)
        #expect(T.listTree(dir + "/data/images/blobs/sha256").count == 3)
        _ = await T.expectBerthError(.imageNotFound) { _ = try await store.resolve("busybox") }

        let second = try await store.remove("localhost:5000/bb:v1")
        #expect(second.deleted == digest)
        #expect(try await store.list().isEmpty)
        #expect(T.listTree(dir + "/data/images/blobs/sha256").isEmpty)
        #expect(T.listTree(dir + "/data/images/layers").isEmpty)
        _ = await T.expectBerthError(.imageNotFound) { _ = try await store.remove("busybox") }
    }

    @Test func reimportUnderMovedNameLeavesDanglingImageForPrune() async throws {
        let dir = try T.makeTempDir("move")
        defer { T.cleanup(dir) }
        let gz = try T.buildBusybox(into: dir + "/gz", name: "app:1")
        let plain = try T.buildBusybox(into: dir + "/plain", compression: "none", name: "app:1")
        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/gz")
        try await store.importImage(from: dir + "/plain")
        let records = try await store.list()
        #expect(Set(records.map(\.digest)) == [gz, plain])
        #expect(records.first { $0.digest == gz }?.references == [])
        #expect(records.first { $0.digest == plain }?.references == ["docker.io/library/app:1"])
        let report = try await store.prune()
        #expect(report.deletedImages == [gz])
        #expect(report.deletedBlobs == 2)  // its manifest and gzip layer; the config blob is the same for both
        #expect(report.deletedLayers == 0)  // the unpacked layer is shared by both
        #expect(try await store.resolve("app:1").digest == plain)
    }

    @Test func leasedLayersSurvivePruneUntilReleased() async throws {
        let dir = try T.makeTempDir("lease")
        defer { T.cleanup(dir) }
        _ = try T.buildBusybox(into: dir + "/layout")
        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/layout")
        let resolved = try await store.resolve("busybox", leaseID: "container-1")
        let lease = try String(contentsOfFile: dir + "/data/images/leases/container-1", encoding: .utf8)
        #expect(lease.contains(try #require(resolved.diffIDs.first)))

        let removal = try await store.remove("busybox")
        #expect(removal.deleted != nil)
        // The image is gone, its blobs too, but the running container's layers stay.
        #expect(T.listTree(dir + "/data/images/blobs/sha256").isEmpty)
        for path in resolved.layerPaths { #expect(FileManager.default.fileExists(atPath: path + "/bin/busybox")) }
        let pruned = try await store.prune()
        #expect(pruned.deletedLayers == 0)
        for path in resolved.layerPaths { #expect(FileManager.default.fileExists(atPath: path)) }

        try await store.releaseLease("container-1")
        let after = try await store.prune()
        #expect(after.deletedLayers == 1)
        for path in resolved.layerPaths { #expect(!FileManager.default.fileExists(atPath: path)) }
        _ = await T.expectBerthError(.invalidArgument) { try await store.releaseLease("../escape") }
    }

    @Test func missingUnpackedLayerIsUnpackedOnDemand() async throws {
        let dir = try T.makeTempDir("ondemand")
        defer { T.cleanup(dir) }
        _ = try T.buildBusybox(into: dir + "/layout")
        let store = try ImageStore(dataDir: dir + "/data")
        try await store.importImage(from: dir + "/layout")
        let first = try await store.resolve("busybox")
        let layerDir = try #require(first.layerPaths.first.map { ($0 as NSString).deletingLastPathComponent })
        try LayerUnpacker.removeTree(path: layerDir)
        #expect(try await store.inspect("busybox").layers.map(\.unpacked) == [false])
        let second = try await store.resolve("busybox")
        #expect(second.layerPaths == first.layerPaths)
        #expect(FileManager.default.fileExists(atPath: layerDir + "/fs/bin/busybox"))
    }

    /// Two store instances (as two processes would) importing into the same
    /// data directory at once: the file lock serializes them, both survive.
    @Test func concurrentImportersShareTheIndex() async throws {
        let dir = try T.makeTempDir("conc")
        defer { T.cleanup(dir) }
        let a = try T.buildBusybox(into: dir + "/a", name: "a:1")
        let b = try T.buildBusybox(into: dir + "/b", compression: "zstd", name: "b:1")
        let storeA = try ImageStore(dataDir: dir + "/data")
        let storeB = try ImageStore(dataDir: dir + "/data")
        async let importA = storeA.importImage(from: dir + "/a")
        async let importB = storeB.importImage(from: dir + "/b")
        _ = try await (importA, importB)
        let records = try await storeA.list()
        #expect(Set(records.map(\.digest)) == [a, b])
        #expect(try await storeB.resolve("a:1").digest == a)
        let index = try String(contentsOfFile: dir + "/data/images/index.json", encoding: .utf8)
        #expect(index.contains("docker.io/library/a:1") && index.contains("docker.io/library/b:1"))
    }
    /// A layer that fails after an earlier one unpacked: the earlier one is
    /// removed again, the blobs too, and no name is registered.
    @Test func failureInSecondLayerUndoesTheFirst() async throws {
        let dir = try T.makeTempDir("undo")
        defer { T.cleanup(dir) }
        try T.craftTar([.file("good", "good\n")], to: dir + "/good.tar.gz", compression: "gzip")
        try T.craftTar([.symlink("s", to: "/etc"), .file("s/evil", "x")], to: dir + "/evil.tar.gz", compression: "gzip")
        _ = try T.craftLayout(at: dir + "/layout", name: "undo:1", layers: [dir + "/good.tar.gz", dir + "/evil.tar.gz"])
        let store = try ImageStore(dataDir: dir + "/data")
        _ = await T.expectBerthError(.unsafeArchive) { try await store.importImage(from: dir + "/layout") }
        #expect(try await store.list().isEmpty)
        #expect(T.listTree(dir + "/data/images/layers").isEmpty)
        #expect(T.listTree(dir + "/data/images/blobs/sha256").isEmpty)
        _ = await T.expectBerthError(.imageNotFound) { _ = try await store.ensureLocal("undo:1", pullPolicy: "Never") }
    }

    /// A multi-platform index: the manifest for this machine is chosen (the
    /// arm64 entry points at a blob that does not exist, so choosing it fails).
    @Test func multiPlatformIndexSelectsThisPlatform() async throws {
        let dir = try T.makeTempDir("multi")
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout", name: "multi:1")
        try T.run(["python3", "-c", #"""
import hashlib, json, os, sys
root = sys.argv[1]
top = json.load(open(os.path.join(root, "index.json")))
m = top["manifests"][0]
names = m.pop("annotations")
arm = dict(m, digest="sha256:" + "1" * 64, platform={"architecture": "arm64", "os": "linux"})
amd = dict(m, platform={"architecture": "amd64", "os": "linux"})
nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [arm, amd]}).encode()
d = hashlib.sha256(nested).hexdigest()
open(os.path.join(root, "blobs", "sha256", d), "wb").write(nested)
top["manifests"] = [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + d, "size": len(nested), "annotations": names}]
json.dump(top, open(os.path.join(root, "index.json"), "w"))
"""#, dir + "/layout"])
        let store = try ImageStore(dataDir: dir + "/data")
        let records = try await store.importImage(from: dir + "/layout")
        #expect(records.map(\.digest) == [digest])
        #expect(try await store.ensureLocal("multi:1", pullPolicy: "IfNotPresent").digest == digest)
        #expect(T.listTree(dir + "/data/images/blobs/sha256").count == 3)
    }
}
