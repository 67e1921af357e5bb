import Foundation

/// One file of a source, as bytes. The loader never reads the disk itself
/// (except `ManifestLoader.files(inDirectory:)`), so files can come from a
/// git object database at a commit just as well as from a work tree.
public struct ManifestFile: Sendable, Hashable {
    /// The path shown in errors, relative to the source root (`apps/web.yaml`).
    public var path: String
    public var data: Data

    public init(path: String, data: Data) {
        self.path = path
        self.data = data
    }

    /// Whether a path names a manifest file: `.yaml`, `.yml` or `.json`.
    public static func isManifestPath(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json")
    }
}
