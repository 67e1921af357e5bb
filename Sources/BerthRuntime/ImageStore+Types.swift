import Foundation

/// One image in the store, as `berth image ls` shows it.
public struct ImageRecord: Sendable, Hashable, Codable {
    /// Normalized names, sorted; empty for a dangling image.
    public var references: [String]
    /// `sha256:…` of the manifest: the image's identity (Kubernetes' imageID).
    public var digest: String
    public var configDigest: String
    /// From the config's `created`.
    public var created: Date?
    /// Bytes of the stored (compressed) manifest, config and layer blobs.
    public var size: Int64
    public var architecture: String?
    public var os: String?
}

/// One layer of an image, for `berth image inspect`.
public struct ImageLayer: Sendable, Hashable, Codable {
    public var digest: String
    public var diffID: String
    public var mediaType: String
    public var size: Int64
    /// Where the layer is (or will be) unpacked.
    public var path: String
    public var unpacked: Bool
}

/// Everything the store knows about an image.
public struct ImageDetails: Sendable, Hashable, Codable {
    public var record: ImageRecord
    public var manifest: OCIManifest
    public var image: OCIImage
    public var layers: [ImageLayer]
}

/// An image ready to run: what the container side needs and nothing else.
public struct ResolvedImage: Sendable, Hashable, Codable {
    /// The normalized reference it was resolved by (or the digest, when
    /// resolved by ID).
    public var reference: String
    /// `sha256:…` of the manifest.
    public var digest: String
    public var configDigest: String
    /// Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, Labels.
    public var config: OCIImageConfig
    /// Unpacked layer directories, lowest layer first. Overlayfs wants
    /// `lowerdir=` with the top layer first, so reverse before joining.
    public var layerPaths: [String]
    /// The layers' diff_ids, in the same order (what a lease lists).
    public var diffIDs: [String]
    public var platform: OCIPlatform
}

/// What `remove` did.
public struct ImageRemoval: Sendable, Hashable, Codable {
    public var untagged: [String]
    /// The manifest digest, if the image itself was deleted.
    public var deleted: String?
}

/// What `prune` did.
public struct ImagePruneReport: Sendable, Hashable, Codable {
    public var deletedImages: [String]
    public var deletedBlobs: Int
    public var deletedLayers: Int
    public var reclaimedBlobBytes: Int64
}
