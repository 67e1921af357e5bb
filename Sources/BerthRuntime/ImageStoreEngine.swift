import BerthAPI
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The synchronous, file-system half of `ImageStore`: blobs, unpacked
/// layers, the index, leases and garbage collection. Every method that
/// touches the index runs under the store's file lock; the actor runs these
/// methods off the cooperative thread pool because they block on disk.
///
/// Layout under `<dataDir>/images`:
///
///     oci-layout, index.json        an OCI image layout of every image
///     blobs/sha256/<hex>            content, verified before it lands here
///     layers/<diffid-hex>/fs        unpacked layers, shared by images
///     leases/<id>                   diff_ids in use by containers, one a line
///     tmp/                          half-written things; never read
///     lock                          flock for CLI and server processes
final class ImageStoreEngine: Sendable {
    let root: String
    var blobsDir: String { root + "/blobs/sha256" }
    var layersDir: String { root + "/layers" }
    var leasesDir: String { root + "/leases" }
    var tmpDir: String { root + "/tmp" }
    var indexPath: String { root + "/index.json" }
    var lockPath: String { root + "/lock" }

    /// Manifests and configs are read into memory; anything larger is not one.
    static let maxMetadataSize = 8 * 1024 * 1024

    init(root: String) throws {
        self.root = root
        // mkdir first: FileManager's first use costs a `berth run` more than the call itself.
        if mkdir(root, 0o700) != 0 && errno != EEXIST {
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            } catch {
                throw BerthError(.store, "cannot create the image store directory \(root)", hint: "check that the data directory is writable", cause: error)
            }
        }
        for dir in [root, root + "/blobs", root + "/blobs/sha256", root + "/layers", root + "/leases", root + "/tmp"] {
            if mkdir(dir, 0o700) != 0, errno != EEXIST {
                throw BerthError(.store, "cannot create the image store directory \(dir): \(String(cString: strerror(errno)))",
                                 hint: "check that the data directory is writable")
            }
        }
        let layout = root + "/oci-layout"
        if !LinuxFiles.exists(layout) {
            // Under the lock: `prune` empties tmp/ and must not take our temp file.
            try ImageStoreLock.withLock(at: root + "/lock", exclusive: true) {
                try Self.writeAtomically(Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: layout, tmpDir: root + "/tmp")
            }
        }
    }

    func blobPath(_ digest: OCIDigest) -> String { "\(blobsDir)/\(digest.hex)" }
    func layerPath(_ diffID: OCIDigest) -> String { "\(layersDir)/\(diffID.hex)/fs" }
    func hasBlob(_ digest: OCIDigest) -> Bool { LinuxFiles.exists(blobPath(digest)) }
    func hasLayer(_ diffID: OCIDigest) -> Bool { LinuxFiles.exists(layerPath(diffID)) }

    func exclusive<T>(_ body: () throws -> T) throws -> T { try ImageStoreLock.withLock(at: lockPath, exclusive: true, body) }
    func shared<T>(_ body: () throws -> T) throws -> T { try ImageStoreLock.withLock(at: lockPath, exclusive: false, body) }

    // MARK: - Index

    func loadIndex() throws -> ImageStoreIndex {
        guard let bytes = LinuxFiles.readBytes(indexPath) else { return ImageStoreIndex() }
        let data = Data(bytes)
        do {
            return try ImageStoreIndex(decoding: data)
        } catch {
            throw BerthError(.storeCorrupt, "the image index \(indexPath) is not valid JSON", hint: "restore it or remove it and import the images again", cause: error)
        }
    }

    func saveIndex(_ index: ImageStoreIndex) throws {
        try Self.writeAtomically(try index.encoded(), to: indexPath, tmpDir: tmpDir)
    }

    /// temp file + fsync + rename + fsync of the directory: a reader sees the
    /// old or the new file, never half of one, even after a crash. Without
    /// `durable`, no fsync: still atomic for readers, not across a host crash.
    static func writeAtomically(_ data: Data, to path: String, tmpDir: String, durable: Bool = true) throws {
        let tmp = "\(tmpDir)/\(UUID().uuidString).json"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LayerUnpacker.systemError("cannot create \(tmp)", errno) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { try writeAll(fd, $0, what: tmp) }
            guard !durable || fsync(fd) == 0 else { throw LayerUnpacker.systemError("cannot sync \(tmp)", errno) }
        }
        guard rename(tmp, path) == 0 else { throw LayerUnpacker.systemError("cannot rename \(tmp) to \(path)", errno) }
        ok = true
        guard durable else { return }
        let dirFD = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: String) throws {
        var written = 0
        while written < bytes.count {
            let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw LayerUnpacker.systemError("cannot write \(what)", errno)
            }
            written += n
        }
    }

    // MARK: - Blobs

    /// Streams bytes from `read` into the store, hashing them on the way.
    /// The blob only appears under its digest once complete and, when
    /// `expected` is given, verified (digest and size); otherwise nothing is
    /// left behind. Returns the descriptor's digest and size, and whether the
    /// blob is new to the store.
    func writeBlob(expected: OCIDescriptor?, label: String, read: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> (digest: OCIDigest, size: Int64, created: Bool) {
        let tmp = "\(tmpDir)/blob-\(UUID().uuidString)"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LayerUnpacker.systemError("cannot create \(tmp)", errno) }
        var committed = false
        defer {
            if !committed { unlink(tmp) }
        }
        var hasher = DigestHasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        do {
            defer { close(fd) }
            while true {
                let count = try read(buffer)
                if count == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                hasher.update(chunk)
                if let expected, hasher.count > expected.size {
                    throw BerthError(.imageCorrupt, "\(label): blob \(expected.digest) is larger than the \(expected.size) bytes its descriptor says",
                                     hint: "the image is corrupt; import or pull it again")
                }
                try Self.writeAll(fd, chunk, what: tmp)
            }
            guard fsync(fd) == 0 else { throw LayerUnpacker.systemError("cannot sync \(tmp)", errno) }
        }
        let digest = hasher.finalize()
        if let expected {
            guard digest == expected.digest else {
                throw BerthError(.imageCorrupt, "\(label): blob content has digest \(digest), expected \(expected.digest)",
                                 hint: "the image is corrupt or was modified; import or pull it again")
            }
            guard hasher.count == expected.size else {
                throw BerthError(.imageCorrupt, "\(label): blob \(expected.digest) has \(hasher.count) bytes, its descriptor says \(expected.size)",
                                 hint: "the image is corrupt; import or pull it again")
            }
        }
        if hasBlob(digest) {
            return (digest, hasher.count, false)
        }
        guard rename(tmp, blobPath(digest)) == 0 else { throw LayerUnpacker.systemError("cannot store blob \(digest)", errno) }
        committed = true
        return (digest, hasher.count, true)
    }

    /// Copies a file into the store (see `writeBlob(expected:label:read:)`).
    /// A blob already in the store under the expected digest is not copied again.
    func writeBlob(fromFile path: String, expected: OCIDescriptor?, label: String) throws -> (digest: OCIDigest, size: Int64, created: Bool) {
        if let expected, hasBlob(expected.digest) { return (expected.digest, expected.size, false) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BerthError(.imageCorrupt, "\(label): cannot open \(path): \(String(cString: strerror(errno)))", hint: "the image is incomplete")
        }
        defer { close(fd) }
        return try writeBlob(expected: expected, label: label) { buffer in
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n < 0, errno == EINTR { continue }
                if n < 0 { throw LayerUnpacker.systemError("cannot read \(path)", errno) }
                return n
            }
        }
    }

    func writeBlob(data: Data, label: String) throws -> (digest: OCIDigest, size: Int64, created: Bool) {
        var offset = 0
        return try writeBlob(expected: nil, label: label) { buffer in
            let count = min(buffer.count, data.count - offset)
            data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<(offset + count))
            offset += count
            return count
        }
    }

    func readBlob(_ digest: OCIDigest, label: String) throws -> Data {
        let path = blobPath(digest)
        // stat, not FileManager.attributesOfItem: that one also looks up the
        // owner's and group's names (the host's /etc/passwd and /etc/group,
        // through NSS) on every container start.
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw BerthError(.imageCorrupt, "\(label): blob \(digest) is missing from the store", hint: "import or pull the image again")
        }
        if st.st_size > Self.maxMetadataSize {
            throw BerthError(.imageCorrupt, "\(label): \(digest) is \(st.st_size) bytes, too large for a manifest or config")
        }
        guard let bytes = LinuxFiles.readBytes(path) else {
            throw BerthError(.imageCorrupt, "\(label): cannot read blob \(digest)")
        }
        return Data(bytes)
    }

    func removeBlob(_ digest: OCIDigest) {
        unlink(blobPath(digest))
    }

    func removeLayer(_ diffID: OCIDigest) {
        try? LayerUnpacker.removeTree(path: "\(layersDir)/\(diffID.hex)")
    }

    // MARK: - Layers

    /// Unpacks the layer blob once into `layers/<diffid>/fs` and returns the
    /// diff_id. The unpack goes to a temp dir that is renamed into place at
    /// the end, so a half-unpacked layer is never visible, and the diff_id is
    /// verified in the same pass.
    @discardableResult
    func ensureLayer(blob: OCIDigest, expectedDiffID: OCIDigest?, label: String) throws -> LayerUnpackResult? {
        if let expectedDiffID, hasLayer(expectedDiffID) { return nil }
        let staging = "\(layersDir)/.tmp-\(UUID().uuidString)"
        guard mkdir(staging, 0o700) == 0 else { throw LayerUnpacker.systemError("cannot create \(staging)", errno) }
        var done = false
        defer {
            if !done { try? LayerUnpacker.removeTree(path: staging) }
        }
        var result = try LayerUnpacker.unpack(blob: blobPath(blob), into: staging + "/fs", expectedDiffID: expectedDiffID, label: label)
        let final = "\(layersDir)/\(result.diffID.hex)"
        if rename(staging, final) != 0 {
            let error = errno
            guard error == EEXIST || error == ENOTEMPTY else { throw LayerUnpacker.systemError("cannot move layer into \(final)", error) }
            // The same layer is already there (another image, or a rootfs
            // import whose diff_id was unknown in advance); it is as good.
            try? LayerUnpacker.removeTree(path: staging)
            result.created = false
        }
        done = true
        return result
    }

    // MARK: - Images

    struct LoadedImage {
        var manifestDescriptor: OCIDescriptor
        var manifest: OCIManifest
        var configDigest: OCIDigest
        var image: OCIImage
    }

    func loadImage(_ digest: OCIDigest, index: ImageStoreIndex) throws -> LoadedImage {
        guard let entry = index.images[digest] else {
            throw BerthError(.imageNotFound, "image \(digest) is not in the store")
        }
        let label = "image \(digest.short)"
        let manifest = try decode(OCIManifest.self, try readBlob(digest, label: label), what: "\(label): manifest")
        let image = try decode(OCIImage.self, try readBlob(manifest.config.digest, label: label), what: "\(label): config")
        return LoadedImage(manifestDescriptor: entry.manifest, manifest: manifest, configDigest: manifest.config.digest, image: image)
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        try Self.corruptUnlessDecoded(what) { try RuntimeJSON.decode(type, from: data) }
    }

    /// The OCI documents' hand-written conversions (chosen over the
    /// `Decodable` overload at compile time; see `RuntimeJSON`).
    func decode<T: JSONTreeCodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        try Self.corruptUnlessDecoded(what) { try RuntimeJSON.decode(type, from: data) }
    }

    private static func corruptUnlessDecoded<T>(_ what: String, _ decode: () throws -> T) throws -> T {
        do {
            return try decode()
        } catch {
            throw BerthError(.imageCorrupt, "\(what) is not valid: \(describe(error))", hint: "the image is corrupt; import or pull it again")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing field \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return context.debugDescription + (context.underlyingError.map { ": \($0)" } ?? "")
        case let error as BerthError:
            return error.message
        case let error as JSONTreeError:
            return error.description
        default:
            return "\(error)"
        }
    }

    // MARK: - Leases

    static func validLeaseID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 200 && !id.hasPrefix(".")
            && id.unicodeScalars.allSatisfy { isAlphanumeric($0) || "-_.".unicodeScalars.contains($0) }
    }

    /// Foundation's `CharacterSet.alphanumerics` (Unicode letters, marks and
    /// numbers) without Foundation's CharacterSet, a start-up cost of `berth run`.
    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    func writeLease(_ id: String, diffIDs: [OCIDigest]) throws {
        guard Self.validLeaseID(id) else { throw BerthError(.invalidArgument, "invalid lease id \"\(id)\"", hint: "use letters, digits, - _ .") }
        let text = diffIDs.map(\.description).joined(separator: "\n") + "\n"
        // Not durable: a lease guards layers against a concurrent `prune`, which
        // reads the page cache; a host crash ends the container anyway. fsync
        // here cost milliseconds on every `berth run`.
        try Self.writeAtomically(Data(text.utf8), to: "\(leasesDir)/\(id)", tmpDir: tmpDir, durable: false)
    }

    func removeLease(_ id: String) throws {
        guard Self.validLeaseID(id) else { throw BerthError(.invalidArgument, "invalid lease id \"\(id)\"") }
        if unlink("\(leasesDir)/\(id)") != 0, errno != ENOENT {
            throw LayerUnpacker.systemError("cannot remove lease \(id)", errno)
        }
    }

    /// Every diff_id some lease holds. Lines that are not digests are ignored
    /// (a lease file is written by other code, possibly by hand).
    func leasedDiffIDs() -> Set<OCIDigest> {
        var result = Set<OCIDigest>()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: leasesDir)) ?? []
        for name in names where !name.hasPrefix(".") {
            guard let text = try? String(contentsOfFile: "\(leasesDir)/\(name)", encoding: .utf8) else { continue }
            for line in text.split(whereSeparator: \.isNewline) {
                if let digest = try? OCIDigest(parsing: line.trimmingCharacters(in: .whitespaces)) { result.insert(digest) }
            }
        }
        return result
    }

    // MARK: - Garbage collection

    struct Collected {
        var blobs = 0
        var layers = 0
        var bytes: Int64 = 0
    }

    /// Deletes blobs no image in `index` refers to, unpacked layers neither an
    /// image nor a lease refers to, and leftovers in tmp/. Call under the
    /// exclusive lock.
    func collectGarbage(index: ImageStoreIndex) throws -> Collected {
        var liveBlobs = Set<OCIDigest>()
        var liveLayers = leasedDiffIDs()
        for digest in index.images.keys {
            liveBlobs.insert(digest)
            guard let image = try? loadImage(digest, index: index) else { continue }
            liveBlobs.insert(image.configDigest)
            liveBlobs.formUnion(image.manifest.layers.map(\.digest))
            liveLayers.formUnion(image.image.rootfs.diffIDs)
        }
        var collected = Collected()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: blobsDir)) ?? [] {
            guard let digest = try? OCIDigest(hex: name) else { continue }
            if liveBlobs.contains(digest) { continue }
            let size = (try? FileManager.default.attributesOfItem(atPath: blobPath(digest)))?[.size] as? Int ?? 0
            if unlink(blobPath(digest)) == 0 {
                collected.blobs += 1
                collected.bytes += Int64(size)
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: layersDir)) ?? [] {
            if name.hasPrefix(".tmp-") {
                try? LayerUnpacker.removeTree(path: "\(layersDir)/\(name)")
                continue
            }
            guard let diffID = try? OCIDigest(hex: name), !liveLayers.contains(diffID) else { continue }
            try LayerUnpacker.removeTree(path: "\(layersDir)/\(name)")
            collected.layers += 1
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmpDir)) ?? [] {
            try? LayerUnpacker.removeTree(path: "\(tmpDir)/\(name)")
        }
        return collected
    }
}
