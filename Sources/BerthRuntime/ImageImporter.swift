import BerthAPI
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `berth image import` can be told besides the path.
public struct ImageImportOptions: Sendable, Hashable {
    /// Name for the imported image (required to name a plain rootfs; for an
    /// OCI layout or `docker save` archive with one image, an extra name).
    public var tag: String?
    /// For a plain rootfs only (as `docker import --change`): the image's defaults.
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var env: [String]
    public var workingDir: String?
    public var user: String?
    public var exposedPorts: [String]
    public var labels: [String: String]

    public init(
        tag: String? = nil, cmd: [String]? = nil, entrypoint: [String]? = nil, env: [String] = [],
        workingDir: String? = nil, user: String? = nil, exposedPorts: [String] = [], labels: [String: String] = [:]
    ) {
        self.tag = tag
        self.cmd = cmd
        self.entrypoint = entrypoint
        self.env = env
        self.workingDir = workingDir
        self.user = user
        self.exposedPorts = exposedPorts
        self.labels = labels
    }

    var changesConfig: Bool {
        cmd != nil || entrypoint != nil || !env.isEmpty || workingDir != nil || user != nil || !exposedPorts.isEmpty || !labels.isEmpty
    }
}

/// The kinds of input `berth image import` recognizes.
public enum ImageArchiveKind: String, Sendable {
    case ociLayout = "OCI image layout"
    case dockerSave = "docker save archive"
    case rootfs = "root file system"
}

/// Imports one archive into the store's blobs and layers, verifying every
/// digest, and says which images (manifest descriptors) and names it found.
/// It does not touch the index: the store registers the images only after
/// everything here succeeded, so a failed import registers nothing.
final class ImageImporter {
    struct Imported {
        var manifest: OCIDescriptor
        var references: [String]
        var kind: ImageArchiveKind
        var blobs: Set<OCIDigest>
    }

    let engine: ImageStoreEngine
    let options: ImageImportOptions
    /// Blobs and unpacked layers this import added to the store (removed
    /// again if the import fails).
    private(set) var createdBlobs: Set<OCIDigest> = []
    private(set) var createdLayers: Set<OCIDigest> = []

    init(engine: ImageStoreEngine, options: ImageImportOptions) {
        self.engine = engine
        self.options = options
    }

    func run(path: String) throws -> [Imported] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw BerthError(.notFound, "\(path) does not exist", hint: "give an OCI layout, a docker save archive, or a rootfs directory or tar")
        }
        let tag = try options.tag.map { try ImageReference.normalize($0) }
        var images: [Imported]
        if isDirectory.boolValue {
            let source = try DirectoryImportSource(root: path, engine: engine)
            defer { createdBlobs.formUnion(source.createdBlobs) }
            if source.exists("index.json") || source.exists("manifest.json") {
                try refuseConfigChanges(path)
            }
            if source.exists("index.json") {
                images = try importOCILayout(source)
            } else if source.exists("manifest.json") {
                images = try importDockerSave(source)
            } else {
                images = [try importRootfsDirectory(path, tag: tag)]
            }
        } else {
            let names = try TarImportSource.topLevelNames(path: path)
            if names.contains("index.json") || names.contains("manifest.json") {
                try refuseConfigChanges(path)
                let source = try TarImportSource(path: path, engine: engine)
                defer { createdBlobs.formUnion(source.createdBlobs) }
                images = names.contains("index.json") ? try importOCILayout(source) : try importDockerSave(source)
            } else {
                images = [try importRootfsTar(path, tag: tag)]
            }
        }
        if let tag, images.first?.kind != .rootfs {
            guard images.count == 1 else {
                throw BerthError(.invalidArgument, "\(path) holds \(images.count) images; --tag can only name one",
                                 hint: "import without --tag and use `berth image tag`")
            }
            images[0].references.append(tag)
        }
        return images
    }

    private func refuseConfigChanges(_ path: String) throws {
        if options.changesConfig {
            throw BerthError(.invalidArgument, "--cmd, --entrypoint, --env, --workdir, --user and --expose only apply to a rootfs import",
                             hint: "\(path) is an image archive that has its own config")
        }
    }

    // MARK: - OCI image layout

    private func importOCILayout(_ source: any ImageImportSource) throws -> [Imported] {
        let index = try engine.decode(OCIIndex.self, try source.read("index.json"), what: "index.json")
        guard !index.manifests.isEmpty else {
            throw BerthError(.imageCorrupt, "index.json lists no images", hint: "the OCI layout is empty")
        }
        var images: [Imported] = []
        for descriptor in index.manifests {
            var references: [String] = []
            let annotations = descriptor.annotations ?? [:]
            if let name = annotations[OCIIndex.containerdNameAnnotation] {
                references.append(try ImageReference.normalize(name))
            } else if let name = annotations[OCIIndex.refNameAnnotation], name.contains("/") || name.contains(":") {
                // A bare ref.name ("latest") is only a tag; --tag names such images.
                references.append(try ImageReference.normalize(name))
            }
            var blobs = Set<OCIDigest>()
            let manifest = try selectManifest(descriptor, source: source, blobs: &blobs, depth: 0)
            let stored = try importManifest(manifest, source: source, blobs: &blobs)
            if let existing = images.firstIndex(where: { $0.manifest.digest == stored.digest }) {
                images[existing].references += references
            } else {
                images.append(Imported(manifest: stored, references: references, kind: .ociLayout, blobs: blobs))
            }
        }
        return images
    }

    private static func layoutPath(_ digest: OCIDigest) -> String { "blobs/sha256/\(digest.hex)" }

    /// Follows an index (multi-platform image) to this machine's manifest.
    private func selectManifest(_ descriptor: OCIDescriptor, source: any ImageImportSource, blobs: inout Set<OCIDigest>, depth: Int) throws -> OCIDescriptor {
        guard OCIMediaType.isIndex(descriptor.mediaType) else { return descriptor }
        guard depth < 4 else { throw BerthError(.imageCorrupt, "image indexes nest too deeply") }
        // Stored to be read; the store records the platform manifest, so an
        // index blob new to the store is removed again after the import.
        _ = try source.storeBlob(Self.layoutPath(descriptor.digest), expected: descriptor)
        let index = try engine.decode(OCIIndex.self, try engine.readBlob(descriptor.digest, label: "index"), what: "image index \(descriptor.digest.short)")
        let current = OCIPlatform.current
        let candidates = index.manifests.filter { manifest in
            guard let platform = manifest.platform else { return false }
            return platform.os == current.os && platform.architecture == current.architecture
        }
        if let chosen = candidates.first {
            return try selectManifest(chosen, source: source, blobs: &blobs, depth: depth + 1)
        }
        if index.manifests.count == 1, let only = index.manifests.first, only.platform == nil {
            return try selectManifest(only, source: source, blobs: &blobs, depth: depth + 1)
        }
        let available = index.manifests.compactMap { $0.platform.map { "\($0.os)/\($0.architecture)" } }
        throw BerthError(.imageNotFound, "image index \(descriptor.digest.short) has no manifest for \(current.os)/\(current.architecture)",
                         hint: "available: \(available.joined(separator: ", "))")
    }

    /// Stores and verifies a manifest, its config and its layer blobs, then
    /// unpacks the layers (which verifies the diff_ids).
    private func importManifest(_ descriptor: OCIDescriptor, source: any ImageImportSource, blobs: inout Set<OCIDigest>) throws -> OCIDescriptor {
        let label = "manifest \(descriptor.digest.short)"
        _ = try source.storeBlob(Self.layoutPath(descriptor.digest), expected: descriptor)
        let manifest = try engine.decode(OCIManifest.self, try engine.readBlob(descriptor.digest, label: label), what: label)
        guard manifest.schemaVersion == 2 else {
            throw BerthError(.imageCorrupt, "\(label): schemaVersion \(manifest.schemaVersion) is not supported")
        }
        _ = try source.storeBlob(Self.layoutPath(manifest.config.digest), expected: manifest.config)
        let image = try engine.decode(OCIImage.self, try engine.readBlob(manifest.config.digest, label: label), what: "\(label): config")
        guard image.rootfs.diffIDs.count == manifest.layers.count else {
            throw BerthError(.imageCorrupt, "\(label): \(manifest.layers.count) layers but the config lists \(image.rootfs.diffIDs.count) diff_ids")
        }
        for layer in manifest.layers {
            guard OCIMediaType.isLayer(layer.mediaType) else {
                throw BerthError(.imageCorrupt, "\(label): layer \(layer.digest.short) has unsupported media type \(layer.mediaType)")
            }
            _ = try source.storeBlob(Self.layoutPath(layer.digest), expected: layer)
        }
        for (layer, diffID) in zip(manifest.layers, image.rootfs.diffIDs) {
            try unpack(layer.digest, diffID, label: "layer \(layer.digest.short)")
        }
        blobs.insert(descriptor.digest)
        blobs.insert(manifest.config.digest)
        blobs.formUnion(manifest.layers.map(\.digest))
        return OCIDescriptor(mediaType: manifest.mediaType ?? descriptor.mediaType, digest: descriptor.digest, size: descriptor.size)
    }

    // MARK: - docker save

    private struct DockerSaveEntry: Decodable {
        var config: String
        var repoTags: [String]?
        var layers: [String]

        enum CodingKeys: String, CodingKey {
            case config = "Config"
            case repoTags = "RepoTags"
            case layers = "Layers"
        }
    }

    /// The digest a `docker save` file name promises: `blobs/sha256/<hex>`
    /// and `<hex>.json` name their content.
    private static func promisedDigest(_ path: String) -> OCIDigest? {
        let name = (path as NSString).lastPathComponent
        let hex = name.hasSuffix(".json") ? String(name.dropLast(5)) : name
        return try? OCIDigest(hex: hex)
    }

    private func importDockerSave(_ source: any ImageImportSource) throws -> [Imported] {
        let entries = try engine.decode([DockerSaveEntry].self, try source.read("manifest.json"), what: "manifest.json")
        var images: [Imported] = []
        for entry in entries {
            var blobs = Set<OCIDigest>()
            let config = try source.storeBlob(entry.config, expected: nil)
            if let promised = Self.promisedDigest(entry.config), promised != config.digest {
                throw BerthError(.imageCorrupt, "\(entry.config): content has digest \(config.digest), its name promises \(promised)",
                                 hint: "the archive is corrupt or was modified")
            }
            let image = try engine.decode(OCIImage.self, try engine.readBlob(config.digest, label: entry.config), what: entry.config)
            guard image.rootfs.diffIDs.count == entry.layers.count else {
                throw BerthError(.imageCorrupt, "manifest.json lists \(entry.layers.count) layers but \(entry.config) has \(image.rootfs.diffIDs.count) diff_ids")
            }
            var layers: [OCIDescriptor] = []
            for (path, diffID) in zip(entry.layers, image.rootfs.diffIDs) {
                let blob = try source.storeBlob(path, expected: nil)
                if path.hasPrefix("blobs/"), let promised = Self.promisedDigest(path), promised != blob.digest {
                    throw BerthError(.imageCorrupt, "\(path): content has digest \(blob.digest), its name promises \(promised)",
                                     hint: "the archive is corrupt or was modified")
                }
                let compression = try detectCompression(blob.digest)
                guard let mediaType = compression.layerMediaType else {
                    throw BerthError(.imageCorrupt, "\(path): layers must be tar, tar+gzip or tar+zstd")
                }
                try unpack(blob.digest, diffID, label: path)
                layers.append(OCIDescriptor(mediaType: mediaType, digest: blob.digest, size: blob.size))
            }
            let manifest = OCIManifest(config: OCIDescriptor(mediaType: OCIMediaType.imageConfig, digest: config.digest, size: config.size), layers: layers)
            let descriptor = try storeJSON(manifest, mediaType: OCIMediaType.imageManifest)
            blobs.insert(descriptor.digest)
            blobs.insert(config.digest)
            blobs.formUnion(layers.map(\.digest))
            let references = try (entry.repoTags ?? []).map { try ImageReference.normalize($0) }
            images.append(Imported(manifest: descriptor, references: references, kind: .dockerSave, blobs: blobs))
        }
        guard !images.isEmpty else { throw BerthError(.imageCorrupt, "manifest.json lists no images") }
        return images
    }

    @discardableResult
    private func unpack(_ blob: OCIDigest, _ diffID: OCIDigest?, label: String) throws -> LayerUnpackResult? {
        let result = try engine.ensureLayer(blob: blob, expectedDiffID: diffID, label: label)
        if let result, result.created { createdLayers.insert(result.diffID) }
        return result
    }

    private func detectCompression(_ digest: OCIDigest) throws -> ArchiveCompression {
        guard let handle = FileHandle(forReadingAtPath: engine.blobPath(digest)) else { return .other }
        defer { try? handle.close() }
        let magic = [UInt8](try handle.read(upToCount: 4) ?? Data())
        if magic.starts(with: [0x1f, 0x8b]) { return .gzip }
        if magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
        if magic.starts(with: [0x42, 0x5a, 0x68]) || magic.starts(with: [0xfd, 0x37, 0x7a, 0x58]) { return .other }
        return .none
    }

    private func storeJSON<T: Encodable>(_ value: T, mediaType: String) throws -> OCIDescriptor {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let result = try engine.writeBlob(data: try encoder.encode(value), label: mediaType)
        if result.created { createdBlobs.insert(result.digest) }
        return OCIDescriptor(mediaType: mediaType, digest: result.digest, size: result.size)
    }

    // MARK: - Plain rootfs (docker import)

    private func importRootfsDirectory(_ path: String, tag: String?) throws -> Imported {
        let base = "\(engine.tmpDir)/rootfs-\(UUID().uuidString)"
        defer { unlink(base + ".tar.gz") }
        let output = try ArchiveTarWriter.writeLayer(from: path, tarPath: base + ".tar", outputPath: base + ".tar.gz")
        let blob = try engine.writeBlob(fromFile: base + ".tar.gz", expected: OCIDescriptor(mediaType: OCIMediaType.layerTarGzip, digest: output.digest, size: output.size), label: path)
        if blob.created { createdBlobs.insert(blob.digest) }
        try unpack(blob.digest, output.diffID, label: path)
        let layer = OCIDescriptor(mediaType: OCIMediaType.layerTarGzip, digest: blob.digest, size: blob.size)
        return try finishRootfs(layer: layer, diffID: output.diffID, from: path, tag: tag)
    }

    private func importRootfsTar(_ path: String, tag: String?) throws -> Imported {
        let blob = try engine.writeBlob(fromFile: path, expected: nil, label: path)
        if blob.created { createdBlobs.insert(blob.digest) }
        let compression = try detectCompression(blob.digest)
        guard let mediaType = compression.layerMediaType else {
            throw BerthError(.invalidArgument, "\(path) is compressed with something OCI layers cannot use",
                             hint: "decompress it, or recompress it with gzip or zstd")
        }
        guard let result = try unpack(blob.digest, nil, label: path) else {
            throw BerthError(.internal, "unpacking \(path) returned no result")
        }
        let layer = OCIDescriptor(mediaType: mediaType, digest: blob.digest, size: blob.size)
        return try finishRootfs(layer: layer, diffID: result.diffID, from: path, tag: tag)
    }

    private func finishRootfs(layer: OCIDescriptor, diffID: OCIDigest, from path: String, tag: String?) throws -> Imported {
        let formatter = ISO8601DateFormatter()
        let now = formatter.string(from: Date())
        var env = options.env
        if !env.contains(where: { $0.hasPrefix("PATH=") }) {
            env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0)
        }
        let platform = OCIPlatform.current
        let config = OCIImageConfig(
            user: options.user, exposedPorts: options.exposedPorts.isEmpty ? nil : options.exposedPorts, env: env,
            entrypoint: options.entrypoint, cmd: options.cmd, workingDir: options.workingDir,
            labels: options.labels.isEmpty ? nil : options.labels)
        let image = OCIImage(
            created: now, architecture: platform.architecture, os: platform.os, config: config,
            rootfs: OCIRootFS(diffIDs: [diffID]),
            history: [OCIHistory(created: now, createdBy: "berth image import", comment: "imported from \((path as NSString).lastPathComponent)")])
        let configDescriptor = try storeJSON(image, mediaType: OCIMediaType.imageConfig)
        let manifest = try storeJSON(OCIManifest(config: configDescriptor, layers: [layer]), mediaType: OCIMediaType.imageManifest)
        return Imported(manifest: manifest, references: tag.map { [$0] } ?? [], kind: .rootfs,
                        blobs: [manifest.digest, configDescriptor.digest, layer.digest])
    }
}
