import BerthAPI
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The files of an image archive being imported (an OCI layout or a
/// `docker save` archive), as a directory or as a tar, behind one interface.
protocol ImageImportSource: AnyObject {
    /// True if the archive has this file (after following symlinks inside it).
    func exists(_ path: String) -> Bool
    /// Reads a small file (index.json, manifest.json, a manifest, a config).
    func read(_ path: String) throws -> Data
    /// Puts the file into the blob store, verified against `expected` if given.
    func storeBlob(_ path: String, expected: OCIDescriptor?) throws -> (digest: OCIDigest, size: Int64)
    /// Blobs this import added to the store (removed again if unreferenced).
    var createdBlobs: Set<OCIDigest> { get }
}

/// Normalizes a path inside an archive: no leading `./` or `/`, no `..`
/// above the top. Returns nil for paths that leave the archive.
func normalizeArchivePath(_ path: String, relativeTo base: String = "") -> String? {
    var parts: [Substring] = path.hasPrefix("/") ? [] : base.split(separator: "/")
    for component in path.split(separator: "/") {
        switch component {
        case ".": continue
        case "..":
            guard !parts.isEmpty else { return nil }
            parts.removeLast()
        default: parts.append(component)
        }
    }
    return parts.joined(separator: "/")
}

// MARK: - Directory

/// An unpacked archive. Paths are resolved with `realpath` and must stay
/// below the directory, so a symlink in a layout cannot make the import read
/// host files into the store.
final class DirectoryImportSource: ImageImportSource {
    let root: String
    let engine: ImageStoreEngine
    private(set) var createdBlobs: Set<OCIDigest> = []

    init(root: String, engine: ImageStoreEngine) throws {
        guard let real = realpath(root, nil) else { throw LayerUnpacker.systemError("cannot resolve \(root)", errno) }
        self.root = String(cString: real)
        free(real)
        self.engine = engine
    }

    private func resolve(_ path: String) throws -> String {
        guard let relative = normalizeArchivePath(path) else {
            throw BerthError(.unsafeArchive, "\(root): \"\(path)\" points outside the archive")
        }
        let joined = root + "/" + relative
        guard let real = realpath(joined, nil) else {
            throw BerthError(.imageCorrupt, "\(root): \(relative) is missing", hint: "the image archive is incomplete")
        }
        defer { free(real) }
        let resolved = String(cString: real)
        guard resolved == root || resolved.hasPrefix(root + "/") else {
            throw BerthError(.unsafeArchive, "\(root): \(relative) is a symlink that leaves the archive (\(resolved))")
        }
        return resolved
    }

    func exists(_ path: String) -> Bool { (try? resolve(path)) != nil }

    func read(_ path: String) throws -> Data {
        let resolved = try resolve(path)
        guard let data = FileManager.default.contents(atPath: resolved) else {
            throw BerthError(.imageCorrupt, "\(root): cannot read \(path)")
        }
        guard data.count <= ImageStoreEngine.maxMetadataSize else {
            throw BerthError(.imageCorrupt, "\(root): \(path) is too large for metadata")
        }
        return data
    }

    func storeBlob(_ path: String, expected: OCIDescriptor?) throws -> (digest: OCIDigest, size: Int64) {
        if let expected, engine.hasBlob(expected.digest) { return (expected.digest, expected.size) }
        let result = try engine.writeBlob(fromFile: try resolve(path), expected: expected, label: "\(root): \(path)")
        if result.created { createdBlobs.insert(result.digest) }
        return (result.digest, result.size)
    }
}

// MARK: - Tar

/// A tar (plain or compressed) of an archive, read in one pass: every
/// regular file goes straight into the blob store under the digest of its
/// bytes; symlinks and hard links inside the tar are remembered as aliases.
/// Files the image does not use are removed again after the import.
final class TarImportSource: ImageImportSource {
    let label: String
    let engine: ImageStoreEngine
    private var files: [String: (digest: OCIDigest, size: Int64)] = [:]
    private var aliases: [String: String] = [:]
    private(set) var createdBlobs: Set<OCIDigest> = []

    init(path: String, engine: ImageStoreEngine) throws {
        self.label = path
        self.engine = engine
        let reader = try ArchiveTarReader(path: path, label: path)
        while let entry = try reader.nextEntry() {
            guard let name = normalizeArchivePath(entry.path), !name.isEmpty else { continue }
            if let link = entry.hardlinkTarget {
                if let target = normalizeArchivePath(link) { aliases[name] = target }
                continue
            }
            switch entry.type {
            case S_IFREG:
                let result = try engine.writeBlob(expected: nil, label: "\(path): \(name)") { buffer in
                    try reader.readData(into: buffer)
                }
                if result.created { createdBlobs.insert(result.digest) }
                files[name] = (result.digest, result.size)
            case S_IFLNK:
                let directory = (name as NSString).deletingLastPathComponent
                if let target = entry.symlinkTarget, let resolved = normalizeArchivePath(target, relativeTo: directory) {
                    aliases[name] = resolved
                }
            default:
                continue
            }
        }
        _ = try reader.finish()
    }

    /// Names of the regular files and links at the top of a tar, for
    /// deciding what kind of archive it is without storing anything.
    static func topLevelNames(path: String) throws -> Set<String> {
        let reader = try ArchiveTarReader(path: path, label: path)
        var names = Set<String>()
        while let entry = try reader.nextEntry() {
            if let name = normalizeArchivePath(entry.path), !name.isEmpty, !name.contains("/") {
                names.insert(name)
            }
        }
        return names
    }

    private func lookup(_ path: String) -> (digest: OCIDigest, size: Int64)? {
        guard var current = normalizeArchivePath(path) else { return nil }
        for _ in 0..<16 {
            if let file = files[current] { return file }
            guard let next = aliases[current] else { return nil }
            current = next
        }
        return nil
    }

    func exists(_ path: String) -> Bool { lookup(path) != nil }

    func read(_ path: String) throws -> Data {
        guard let file = lookup(path) else {
            throw BerthError(.imageCorrupt, "\(label): \(path) is missing", hint: "the image archive is incomplete")
        }
        return try engine.readBlob(file.digest, label: "\(label): \(path)")
    }

    func storeBlob(_ path: String, expected: OCIDescriptor?) throws -> (digest: OCIDigest, size: Int64) {
        guard let file = lookup(path) else {
            throw BerthError(.imageCorrupt, "\(label): \(path) is missing", hint: "the image archive is incomplete")
        }
        if let expected {
            guard file.digest == expected.digest else {
                throw BerthError(.imageCorrupt, "\(label): \(path): blob content has digest \(file.digest), expected \(expected.digest)",
                                 hint: "the image is corrupt or was modified; import or pull it again")
            }
            guard file.size == expected.size else {
                throw BerthError(.imageCorrupt, "\(label): \(path) has \(file.size) bytes, its descriptor says \(expected.size)",
                                 hint: "the image is corrupt; import or pull it again")
            }
        }
        return file
    }
}
