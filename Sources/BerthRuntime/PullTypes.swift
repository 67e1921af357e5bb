/// What a pull did, for the caller and the CLI.
public struct PullResult: Sendable, Hashable, Codable {
    /// Normalized reference (`docker.io/library/busybox:latest`).
    public var reference: String
    /// `sha256:…` of the platform manifest registered in the store.
    public var digest: String
    /// The index digest, when the reference named a multi-platform image.
    public var indexDigest: String?
    public var platform: OCIPlatform
    /// Where the manifest came from (`http://127.0.0.1:5000`, or a mirror).
    public var endpoint: String
    /// Blobs fetched now, and blobs the store already had.
    public var downloadedBlobs: Int
    public var downloadedBytes: Int64
    public var cachedBlobs: Int
    /// True when this caller waited for a pull another caller started.
    public var shared: Bool

    /// What `NodeRuntime.ensureImage` returns.
    public var summary: ImageSummary { ImageSummary(reference: reference, digest: digest) }
}

/// Progress of one pull, reported as it happens (the CLI draws it).
public enum PullEvent: Sendable {
    /// The manifest is known: these layers make the image; `cached` ones are in the store already.
    case resolved(manifest: OCIDigest, endpoint: String, layers: [OCIDescriptor], cached: Set<OCIDigest>)
    /// Bytes of a layer received so far.
    case layerProgress(OCIDigest, received: Int64, total: Int64)
    /// A layer was downloaded and verified.
    case layerDone(OCIDigest)
    /// Blobs are moving into the store and layers being unpacked.
    case committing
}

/// What a push did.
public struct PushResult: Sendable, Hashable, Codable {
    public var reference: String
    /// Digest of the manifest as uploaded (unchanged from the store).
    public var digest: String
    public var uploadedBlobs: Int
    public var uploadedBytes: Int64
    /// Blobs the registry already had (HEAD answered 200).
    public var existingBlobs: Int
}
