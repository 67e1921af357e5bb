import BerthAPI
import Foundation
import Logging

/// The node's local OCI image store.
///
/// Content-addressed blobs, layers unpacked once and shared, and an index of
/// names, under `<dataDir>/images` (see `ImageStoreEngine` for the layout).
/// The CLI (`berth image …`) and the server open the same store; the index
/// is guarded by a file lock across processes and rewritten atomically, and
/// this actor keeps blocking disk work off the cooperative thread pool.
///
/// The container side calls `resolve(_:leaseID:)` to get an image's config
/// and its unpacked layer directories (lowest first) to stack with overlayfs,
/// and `releaseLease(_:)` when the container is gone.
public actor ImageStore {
    public nonisolated let root: String
    nonisolated let engine: ImageStoreEngine
    private let logger: Logger

    /// Opens (creating if needed) the store in `<dataDir>/images`.
    public init(dataDir: String, logger: Logger = Logger(label: "berth.images")) throws {
        // Not NSString's appendingPathComponent: its bridging is a start-up cost of every `berth run`.
        self.root = dataDir.isEmpty ? "images" : dataDir.hasSuffix("/") ? dataDir + "images" : dataDir + "/images"
        self.engine = try ImageStoreEngine(root: root)
        self.logger = logger
    }

    // MARK: - Import

    /// Imports an OCI image layout (directory or tar), a `docker save`
    /// archive, or a plain rootfs directory or tar. Every digest is verified
    /// and every layer unpacked before any name is registered, so a failed
    /// import leaves the index as it was and removes the blobs it added.
    @discardableResult
    public func importImage(from path: String, options: ImageImportOptions = ImageImportOptions()) async throws -> [ImageRecord] {
        let engine = self.engine
        let records = try await BlockingWork.run {
            try engine.exclusive {
                let importer = ImageImporter(engine: engine, options: options)
                let images: [ImageImporter.Imported]
                do {
                    images = try importer.run(path: path)
                } catch {
                    for digest in importer.createdBlobs { engine.removeBlob(digest) }
                    for diffID in importer.createdLayers { engine.removeLayer(diffID) }
                    throw error
                }
                var index = try engine.loadIndex()
                let now = ISO8601DateFormatter().string(from: Date())
                for image in images {
                    index.add(image.manifest, references: image.references, importedAt: now)
                }
                try engine.saveIndex(index)
                let kept = images.reduce(into: Set<OCIDigest>()) { $0.formUnion($1.blobs) }
                for digest in importer.createdBlobs.subtracting(kept) { engine.removeBlob(digest) }
                return try images.map { try Self.record(for: $0.manifest.digest, index: index, engine: engine) }
            }
        }
        for record in records {
            logger.debug("imported image", metadata: ["digest": "\(record.digest)", "references": "\(record.references)"])
        }
        return records
    }

    // MARK: - Queries

    /// Every image, newest first.
    public func list() async throws -> [ImageRecord] {
        let engine = self.engine
        return try await BlockingWork.run {
            try engine.shared {
                let index = try engine.loadIndex()
                return try index.images.keys.map { try Self.record(for: $0, index: index, engine: engine) }
                    .sorted { ($0.created ?? .distantPast, $0.digest) > ($1.created ?? .distantPast, $1.digest) }
            }
        }
    }

    /// The image a reference, a digest or an ID prefix names.
    public func inspect(_ reference: String) async throws -> ImageDetails {
        let engine = self.engine
        return try await BlockingWork.run {
            try engine.shared {
                let index = try engine.loadIndex()
                let digest = try Self.find(reference, in: index)
                let loaded = try engine.loadImage(digest, index: index)
                let layers = zip(loaded.manifest.layers, loaded.image.rootfs.diffIDs).map { layer, diffID in
                    ImageLayer(digest: layer.digest.description, diffID: diffID.description, mediaType: layer.mediaType,
                               size: layer.size, path: engine.layerPath(diffID), unpacked: engine.hasLayer(diffID))
                }
                return ImageDetails(
                    record: try Self.record(for: digest, index: index, engine: engine),
                    manifest: loaded.manifest, image: loaded.image, layers: layers)
            }
        }
    }

    /// For `NodeRuntime.ensureImage`: the image if the store has it, else nil.
    public func summary(_ reference: String) async throws -> ImageSummary? {
        let engine = self.engine
        let normalized = try? ImageReference.normalize(reference)
        return try await BlockingWork.run {
            try engine.shared {
                let index = try engine.loadIndex()
                guard let digest = try? Self.find(reference, in: index) else { return nil }
                return ImageSummary(reference: normalized ?? reference, digest: digest.description)
            }
        }
    }

    /// What a container needs from its image: the config and the unpacked
    /// layer directories, lowest first, for overlayfs `lowerdir` (which lists
    /// the *top* layer first: reverse this). Layers missing on disk are
    /// unpacked now. With a `leaseID`, the layers are leased in the same
    /// locked step, so `rm` + `prune` cannot remove them while the container
    /// uses them; call `releaseLease(_:)` when the container is removed.
    public func resolve(_ reference: String, leaseID: String? = nil) async throws -> ResolvedImage {
        let engine = self.engine
        return try await BlockingWork.run {
            // Usually every layer is unpacked already: a shared lock lets
            // many containers resolve at once; only unpacking needs more.
            if let resolved = try engine.shared({ try Self.resolveLocked(reference, leaseID: leaseID, engine: engine, unpack: false) }) {
                return resolved
            }
            guard let resolved = try engine.exclusive({ try Self.resolveLocked(reference, leaseID: leaseID, engine: engine, unpack: true) }) else {
                throw BerthError(.internal, "image \(reference) could not be resolved")
            }
            return resolved
        }
    }

    /// nil when a layer is not unpacked and `unpack` is false.
    private static func resolveLocked(_ reference: String, leaseID: String?, engine: ImageStoreEngine, unpack: Bool) throws -> ResolvedImage? {
        let index = try engine.loadIndex()
        let digest = try find(reference, in: index)
        let loaded = try engine.loadImage(digest, index: index)
        LinuxTiming.mark("create: image index, manifest and config read")
        for (layer, diffID) in zip(loaded.manifest.layers, loaded.image.rootfs.diffIDs) where !engine.hasLayer(diffID) {
            guard unpack else { return nil }
            guard engine.hasBlob(layer.digest) else {
                throw BerthError(.imageCorrupt, "image \(digest.short): layer \(layer.digest.short) is missing", hint: "import the image again")
            }
            try engine.ensureLayer(blob: layer.digest, expectedDiffID: diffID, label: "layer \(layer.digest.short)")
        }
        if let leaseID { try engine.writeLease(leaseID, diffIDs: loaded.image.rootfs.diffIDs) }
        let normalized = (try? ImageReference.normalize(reference)) ?? digest.description
        return ResolvedImage(
            reference: index.images[digest]?.references.contains(normalized) == true ? normalized : digest.description,
            digest: digest.description,
            configDigest: loaded.configDigest.description,
            config: loaded.image.config ?? OCIImageConfig(),
            layerPaths: loaded.image.rootfs.diffIDs.map { engine.layerPath($0) },
            diffIDs: loaded.image.rootfs.diffIDs.map(\.description),
            platform: OCIPlatform(architecture: loaded.image.architecture ?? "", os: loaded.image.os ?? ""))
    }

    /// `NodeRuntime.ensureImage` for a node without a registry client: the
    /// local image for `IfNotPresent`, `Never` and (with nothing to pull
    /// from) `Always`; `.imageNotFound` naming the policy when it is missing.
    public func ensureLocal(_ reference: String, pullPolicy: String) async throws -> ImageSummary {
        if let summary = try await summary(reference) { return summary }
        let normalized = (try? ImageReference.normalize(reference)) ?? reference
        throw BerthError(
            .imageNotFound, "image \(normalized) is not present locally (imagePullPolicy \(pullPolicy))",
            hint: "import it with `berth image import PATH --tag \(reference)`")
    }

    // MARK: - Names

    /// Gives the image `source` names the extra name `target` (moving it if
    /// it named another image).
    @discardableResult
    public func tag(_ source: String, as target: String) async throws -> ImageRecord {
        let engine = self.engine
        let normalizedTarget = try ImageReference(parsing: target)
        guard normalizedTarget.tag != nil, normalizedTarget.digest == nil else {
            throw BerthError(.invalidArgument, "cannot tag with a digest reference \"\(target)\"", hint: "use NAME[:TAG]")
        }
        return try await BlockingWork.run {
            try engine.exclusive {
                var index = try engine.loadIndex()
                let digest = try Self.find(source, in: index)
                guard let entry = index.images[digest] else { throw BerthError(.imageNotFound, "image \(source) not found") }
                index.add(entry.manifest, references: [normalizedTarget.description], importedAt: entry.importedAt ?? "")
                try engine.saveIndex(index)
                return try Self.record(for: digest, index: index, engine: engine)
            }
        }
    }

    /// Removes a name; when it was the image's last, removes the image and
    /// the blobs and layers nothing else uses (layers still leased by a
    /// container stay until the lease is released and `prune` runs).
    /// Removing by ID an image with several names needs `force`, as in Docker.
    public func remove(_ reference: String, force: Bool = false) async throws -> ImageRemoval {
        let engine = self.engine
        return try await BlockingWork.run {
            try engine.exclusive {
                var index = try engine.loadIndex()
                var removal = ImageRemoval(untagged: [], deleted: nil)
                let byName = (try? ImageReference.normalize(reference)).flatMap { name in index.digest(for: name).map { (name, $0) } }
                let digest: OCIDigest
                if let (name, found) = byName {
                    _ = index.untag(name)
                    removal.untagged.append(name)
                    digest = found
                } else {
                    digest = try Self.find(reference, in: index)
                    let names = index.images[digest]?.references.sorted() ?? []
                    if names.count > 1, !force {
                        throw BerthError(.conflict, "image \(digest.short) has several names: \(names.joined(separator: ", "))",
                                         hint: "remove them by name, or use --force")
                    }
                    for name in names { _ = index.untag(name) }
                    removal.untagged += names
                }
                if index.images[digest]?.references.isEmpty == true {
                    index.remove(digest)
                    removal.deleted = digest.description
                }
                try engine.saveIndex(index)
                if removal.deleted != nil { _ = try engine.collectGarbage(index: index) }
                return removal
            }
        }
    }

    /// Removes unnamed images, then every blob and unpacked layer no image
    /// uses and no container lease holds, and leftovers of interrupted work.
    public func prune() async throws -> ImagePruneReport {
        let engine = self.engine
        return try await BlockingWork.run {
            try engine.exclusive {
                var index = try engine.loadIndex()
                let dangling = index.images.filter { $0.value.references.isEmpty }.map(\.key).sorted()
                for digest in dangling { index.remove(digest) }
                try engine.saveIndex(index)
                let collected = try engine.collectGarbage(index: index)
                return ImagePruneReport(
                    deletedImages: dangling.map(\.description), deletedBlobs: collected.blobs,
                    deletedLayers: collected.layers, reclaimedBlobBytes: collected.bytes)
            }
        }
    }

    // MARK: - Leases

    /// Marks layers as in use by `id` (a container id): `prune` keeps them.
    /// The lease is a file `<images>/leases/<id>` listing diff_ids, one a
    /// line, so another process can read (or write) it without this API.
    public func lease(_ id: String, diffIDs: [String]) async throws {
        let engine = self.engine
        let digests = try diffIDs.map { try OCIDigest(parsing: $0) }
        try await BlockingWork.run { try engine.exclusive { try engine.writeLease(id, diffIDs: digests) } }
    }

    public func releaseLease(_ id: String) async throws {
        let engine = self.engine
        try await BlockingWork.run { try engine.exclusive { try engine.removeLease(id) } }
    }

    // MARK: - Helpers

    /// Name first (as Docker does), then full digest, then ID prefix (≥ 4 hex).
    static func find(_ text: String, in index: ImageStoreIndex) throws -> OCIDigest {
        if let reference = try? ImageReference(parsing: text) {
            if let digest = index.digest(for: reference.description) { return digest }
            if let pinned = reference.digest, let digest = try? OCIDigest(parsing: pinned), index.images[digest] != nil {
                return digest
            }
        }
        let prefix = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        if prefix.count >= 4, prefix.count <= 64, prefix.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            let matches = index.images.keys.filter { $0.hex.hasPrefix(prefix) }
            if matches.count == 1, let only = matches.first { return only }
            if matches.count > 1 {
                throw BerthError(.conflict, "\"\(text)\" matches \(matches.count) images", hint: "give more digits of the ID")
            }
        }
        throw BerthError(.imageNotFound, "image \"\(text)\" not found in the local store",
                         hint: "import it with `berth image import`, or check `berth image ls`")
    }

    static func record(for digest: OCIDigest, index: ImageStoreIndex, engine: ImageStoreEngine) throws -> ImageRecord {
        let loaded = try engine.loadImage(digest, index: index)
        let size = loaded.manifestDescriptor.size + loaded.manifest.config.size + loaded.manifest.layers.reduce(0) { $0 + $1.size }
        let created = loaded.image.created.flatMap { text -> Date? in
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.date(from: text)
        }
        return ImageRecord(
            references: index.images[digest]?.references.sorted() ?? [], digest: digest.description,
            configDigest: loaded.configDigest.description, created: created, size: size,
            architecture: loaded.image.architecture, os: loaded.image.os)
    }
}
