/// An image manifest: one config and the layers, lowest first.
public struct OCIManifest: Sendable, Hashable, Codable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
    public var annotations: [String: String]?

    public init(config: OCIDescriptor, layers: [OCIDescriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = OCIMediaType.imageManifest
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}

/// An image index (or Docker manifest list): manifests per platform, and in
/// an OCI image layout the list of images with their names as annotations.
public struct OCIIndex: Sendable, Hashable, Codable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [OCIDescriptor]
    public var annotations: [String: String]?

    public init(manifests: [OCIDescriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = OCIMediaType.imageIndex
        self.manifests = manifests
        self.annotations = annotations
    }

    /// `org.opencontainers.image.ref.name`: a tag, or in Berth's store the full reference.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    /// containerd's full image name annotation, written by `ctr export` and `docker save` (25+).
    public static let containerdNameAnnotation = "io.containerd.image.name"
}
