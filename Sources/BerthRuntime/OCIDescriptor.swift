/// A pointer to content: what the OCI image spec calls a descriptor.
public struct OCIDescriptor: Sendable, Hashable, Codable {
    public var mediaType: String
    public var digest: OCIDigest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: OCIPlatform?
    public var urls: [String]?

    public init(mediaType: String, digest: OCIDigest, size: Int64, annotations: [String: String]? = nil, platform: OCIPlatform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}

public struct OCIPlatform: Sendable, Hashable, Codable {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    /// The platform of this machine, in Go's names (`amd64`, `arm64`).
    public static var current: OCIPlatform {
        #if arch(x86_64)
        OCIPlatform(architecture: "amd64", os: "linux")
        #elseif arch(arm64)
        OCIPlatform(architecture: "arm64", os: "linux", variant: "v8")
        #else
        OCIPlatform(architecture: "unknown", os: "linux")
        #endif
    }
}
