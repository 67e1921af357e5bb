import BerthAPI
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The verified pieces of a pulled image, staged in `<images>/pulls/<id>/`,
/// ready to go into the store in one step.
struct PullCommit: Sendable {
    var manifest: OCIDescriptor
    var config: OCIDigest
    var layers: [OCIDescriptor]
    var diffIDs: [OCIDigest]
    /// Digest → staged file, for the blobs the store did not have.
    var staged: [OCIDigest: String]
    var references: [String]
    var unpack: Bool
    /// diff_id → `<staging>/layer-…` holding `fs/`: layers unpacked (and
    /// their diff_ids verified) while the other layers were downloading.
    var unpacked: [OCIDigest: String] = [:]

    var blobs: [OCIDigest] { [manifest.digest, config] + layers.map(\.digest) }
}

extension ImageStore {
    /// Where pulls stage their downloads; on the store's file system so a
    /// verified blob moves into place with a rename. Not `tmp/`, which
    /// `prune` empties.
    nonisolated var pullStagingRoot: String { root + "/pulls" }

    /// Moves a pull's verified blobs into the store, unpacks the layers
    /// (verifying the diff_ids) and only then names the image. Blob moves
    /// and unpacking run under the shared lock (other pulls and resolves go
    /// on; `prune` waits); naming runs under the exclusive lock and first
    /// checks that nothing it needs went missing meanwhile. On failure the
    /// blobs and layers this commit added are removed again: nothing is half
    /// registered.
    func commitPull(_ commit: PullCommit) async throws -> ImageRecord {
        let engine = self.engine
        return try await BlockingWork.run {
            var createdBlobs = Set<OCIDigest>()
            var createdLayers = Set<OCIDigest>()
            func undo() {
                _ = try? engine.exclusive {
                    for digest in createdBlobs { engine.removeBlob(digest) }
                    for diffID in createdLayers { engine.removeLayer(diffID) }
                }
            }
            do {
                try engine.shared {
                    for (digest, path) in commit.staged.sorted(by: { $0.key < $1.key }) {
                        if engine.hasBlob(digest) {
                            unlink(path)
                        } else if rename(path, engine.blobPath(digest)) == 0 {
                            createdBlobs.insert(digest)
                        } else {
                            throw LayerUnpacker.systemError("cannot move blob \(digest.short) into the store", errno)
                        }
                    }
                    if commit.unpack {
                        for (diffID, dir) in commit.unpacked.sorted(by: { $0.key < $1.key }) where !engine.hasLayer(diffID) {
                            if rename(dir, "\(engine.layersDir)/\(diffID.hex)") == 0 {
                                createdLayers.insert(diffID)
                            } else if errno != EEXIST && errno != ENOTEMPTY {
                                throw LayerUnpacker.systemError("cannot move layer \(diffID.short) into the store", errno)
                            }
                        }
                        for (layer, diffID) in zip(commit.layers, commit.diffIDs) {
                            if let result = try engine.ensureLayer(blob: layer.digest, expectedDiffID: diffID, label: "layer \(layer.digest.short)"),
                               result.created {
                                createdLayers.insert(result.diffID)
                            }
                        }
                    }
                }
                return try engine.exclusive {
                    for digest in commit.blobs where !engine.hasBlob(digest) {
                        throw BerthError(.conflict, "blob \(digest.short) left the store while the pull was committing (a concurrent prune?)",
                                         hint: "pull again")
                    }
                    if commit.unpack {
                        for (layer, diffID) in zip(commit.layers, commit.diffIDs) where !engine.hasLayer(diffID) {
                            try engine.ensureLayer(blob: layer.digest, expectedDiffID: diffID, label: "layer \(layer.digest.short)")
                        }
                    }
                    var index = try engine.loadIndex()
                    index.add(commit.manifest, references: commit.references, importedAt: ISO8601DateFormatter().string(from: Date()))
                    try engine.saveIndex(index)
                    return try Self.record(for: commit.manifest.digest, index: index, engine: engine)
                }
            } catch {
                undo()
                throw error
            }
        }
    }

    /// Removes staging directories of pulls that died more than a day ago.
    nonisolated func cleanStalePullStaging() {
        let root = pullStagingRoot
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        let cutoff = Date().addingTimeInterval(-86_400)
        for name in names {
            let path = root + "/" + name
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }
}
