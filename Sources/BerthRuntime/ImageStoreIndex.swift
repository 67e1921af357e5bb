import BerthAPI
import Foundation

/// The store's table of images and their names, kept as the store's OCI
/// `index.json`: one descriptor per (image, reference) with the full
/// reference in `org.opencontainers.image.ref.name` and
/// `io.containerd.image.name`, and one unnamed descriptor per dangling image.
/// Keeping it in OCI form means `<dataDir>/images` is itself a valid OCI
/// image layout that skopeo and umoci can read.
struct ImageStoreIndex: Sendable {
    struct Entry: Sendable, Hashable {
        var manifest: OCIDescriptor
        var references: Set<String>
        var importedAt: String?
    }

    private(set) var images: [OCIDigest: Entry] = [:]

    static let importedAnnotation = "dev.berth.imported"

    init() {}

    init(decoding data: Data) throws {
        let index = try RuntimeJSON.decode(OCIIndex.self, from: data)
        for descriptor in index.manifests {
            var bare = descriptor
            bare.annotations = nil
            var entry = images[descriptor.digest] ?? Entry(manifest: bare, references: [], importedAt: nil)
            if let name = descriptor.annotations?[OCIIndex.containerdNameAnnotation] ?? descriptor.annotations?[OCIIndex.refNameAnnotation] {
                entry.references.insert(name)
            }
            entry.importedAt = entry.importedAt ?? descriptor.annotations?[Self.importedAnnotation]
            images[descriptor.digest] = entry
        }
    }

    func encoded() throws -> Data {
        var manifests: [OCIDescriptor] = []
        for digest in images.keys.sorted() {
            guard let entry = images[digest] else { continue }
            var base = [String: String]()
            if let importedAt = entry.importedAt { base[Self.importedAnnotation] = importedAt }
            if entry.references.isEmpty {
                var descriptor = entry.manifest
                descriptor.annotations = base.isEmpty ? nil : base
                manifests.append(descriptor)
            }
            for reference in entry.references.sorted() {
                var descriptor = entry.manifest
                var annotations = base
                annotations[OCIIndex.refNameAnnotation] = reference
                annotations[OCIIndex.containerdNameAnnotation] = reference
                descriptor.annotations = annotations
                manifests.append(descriptor)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(OCIIndex(manifests: manifests))
    }

    /// The image a normalized reference names.
    func digest(for reference: String) -> OCIDigest? {
        images.first { $0.value.references.contains(reference) }?.key
    }

    /// Adds an image (or refreshes it) and points `references` at it. A name
    /// that pointed at another image moves; that image stays, unnamed
    /// (Docker's `<none>`), until `prune`.
    mutating func add(_ manifest: OCIDescriptor, references: [String], importedAt: String) {
        var bare = manifest
        bare.annotations = nil
        for reference in references {
            for (digest, var entry) in images where digest != manifest.digest && entry.references.contains(reference) {
                entry.references.remove(reference)
                images[digest] = entry
            }
        }
        var entry = images[manifest.digest] ?? Entry(manifest: bare, references: [], importedAt: importedAt)
        entry.references.formUnion(references)
        images[manifest.digest] = entry
    }

    /// Drops one name; returns true if the image now has none.
    mutating func untag(_ reference: String) -> OCIDigest? {
        guard let digest = digest(for: reference), var entry = images[digest] else { return nil }
        entry.references.remove(reference)
        images[digest] = entry
        return digest
    }

    mutating func remove(_ digest: OCIDigest) {
        images[digest] = nil
    }
}
