import BerthAPI
import CArchive
import Foundation

/// How a tar stream is compressed, as far as OCI layers care.
public enum ArchiveCompression: String, Sendable, Hashable {
    case none, gzip, zstd, other

    /// The OCI layer media type for a tar compressed this way, if OCI has one.
    var layerMediaType: String? {
        switch self {
        case .none: OCIMediaType.layerTar
        case .gzip: OCIMediaType.layerTarGzip
        case .zstd: OCIMediaType.layerTarZstd
        case .other: nil
        }
    }
}

/// One tar header, copied out of libarchive's entry so that it outlives the
/// next `nextEntry()` call.
struct ArchiveEntryInfo {
    var path: String
    /// `S_IFMT` bits (`S_IFREG`, `S_IFDIR` …).
    var type: mode_t
    /// Permission bits including setuid, setgid and sticky.
    var permissions: mode_t
    var uid: Int64
    var gid: Int64
    var size: Int64
    var mtime: timespec
    var symlinkTarget: String?
    var hardlinkTarget: String?
    var deviceMajor: UInt32
    var deviceMinor: UInt32
    var xattrs: [(name: String, value: [UInt8])]
}

/// Reads a tar, plain or compressed with anything libarchive knows, and
/// hashes the *uncompressed* stream while reading it.
///
/// Two libarchive readers are chained: the outer one only decompresses
/// (`format_raw`), the inner one parses tar from the bytes the outer one
/// hands over. Every uncompressed byte passes through our read callback
/// exactly once, so the sha256 of the whole tar — the layer's diff_id — comes
/// out of the same single pass that unpacks it, with no temp copy.
final class ArchiveTarReader {
    private let outer: OpaquePointer
    private let inner: OpaquePointer
    private let source: Source
    private let label: String
    private var finished = false
    let compression: ArchiveCompression

    /// State shared with the C read callback.
    private final class Source {
        let outer: OpaquePointer
        var buffer: UnsafeMutableRawBufferPointer
        var hasher = DigestHasher()
        var error: String?
        var atEnd = false

        init(outer: OpaquePointer) {
            self.outer = outer
            self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        }

        deinit { buffer.deallocate() }

        /// Pulls the next block of uncompressed bytes from the outer reader.
        func read() -> Int {
            guard !atEnd else { return 0 }
            let count = archive_read_data(outer, buffer.baseAddress, buffer.count)
            if count < 0 {
                error = archive_error_string(outer).map { String(cString: $0) } ?? "read error"
                return -1
            }
            if count == 0 { atEnd = true; return 0 }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            return count
        }
    }

    /// Opens `path`. `label` names the archive in errors (a digest or a file name).
    init(path: String, label: String) throws {
        guard let outer = archive_read_new() else { throw BerthError(.internal, "archive_read_new failed") }
        guard let inner = archive_read_new() else {
            archive_read_free(outer)
            throw BerthError(.internal, "archive_read_new failed")
        }
        self.outer = outer
        self.inner = inner
        self.label = label
        self.source = Source(outer: outer)
        // The compressions of OCI layers (gzip, zstd) and of `docker save`
        // archives people compress (bzip2, xz), not filter_all: that one also
        // brings liblz4, which has no static archive for the release link.
        archive_read_support_filter_gzip(outer)
        archive_read_support_filter_zstd(outer)
        archive_read_support_filter_bzip2(outer)
        archive_read_support_filter_xz(outer)
        archive_read_support_filter_lzma(outer)
        archive_read_support_filter_compress(outer)
        archive_read_support_format_raw(outer)
        archive_read_support_format_tar(inner)

        func fail(_ archive: OpaquePointer, _ what: String) -> BerthError {
            let reason = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
            return BerthError(.imageCorrupt, "\(label): \(what): \(reason)")
        }
        guard archive_read_open_filename(outer, path, 256 * 1024) == ARCHIVE_OK else {
            let error = fail(outer, "cannot open")
            archive_read_free(outer)
            archive_read_free(inner)
            throw error
        }
        var entry: OpaquePointer?
        let status = archive_read_next_header(outer, &entry)
        if status == ARCHIVE_EOF {
            source.atEnd = true  // empty file: an empty stream, the tar reader reports it
        } else if status != ARCHIVE_OK && status != ARCHIVE_WARN {
            let error = fail(outer, "cannot decompress")
            archive_read_free(outer)
            archive_read_free(inner)
            throw error
        }
        switch archive_filter_code(outer, 0) {
        case ARCHIVE_FILTER_NONE: compression = .none
        case ARCHIVE_FILTER_GZIP: compression = .gzip
        case ARCHIVE_FILTER_ZSTD: compression = .zstd
        default: compression = .other
        }

        let context = Unmanaged.passUnretained(source).toOpaque()
        let opened = archive_read_open(
            inner, context, nil,
            { _, context, out in
                guard let context, let out else { return -1 }
                let source = Unmanaged<Source>.fromOpaque(context).takeUnretainedValue()
                let count = source.read()
                out.pointee = UnsafeRawPointer(source.buffer.baseAddress)
                return count
            },
            nil)
        guard opened == ARCHIVE_OK else {
            let error = fail(inner, "not a tar archive")
            archive_read_free(outer)
            archive_read_free(inner)
            throw error
        }
    }

    deinit {
        archive_read_free(inner)
        archive_read_free(outer)
    }

    /// The next header, or nil at the end of the archive.
    func nextEntry() throws -> ArchiveEntryInfo? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(inner, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else { throw readError("bad tar header") }
        return Self.info(entry)
    }

    /// Reads the current entry's data; 0 at its end.
    func readData(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = archive_read_data(inner, buffer.baseAddress, buffer.count)
        if count < 0 { throw readError("cannot read entry data") }
        return count
    }

    /// Reads what follows the tar's end marker (padding) so that the digest
    /// covers the whole stream, and returns the sha256 of the uncompressed tar.
    func finish() throws -> (diffID: OCIDigest, size: Int64) {
        if !finished {
            finished = true
            while true {
                let count = source.read()
                if count < 0 { throw readError("cannot read to the end") }
                if count == 0 { break }
            }
        }
        return (source.hasher.finalize(), source.hasher.count)
    }

    private func readError(_ what: String) -> BerthError {
        let reason = source.error ?? archive_error_string(inner).map { String(cString: $0) } ?? "unknown error"
        return BerthError(.imageCorrupt, "\(label): \(what): \(reason)", hint: "the archive is truncated or not a tar")
    }

    // MARK: - Entry conversion

    private static func info(_ entry: OpaquePointer) -> ArchiveEntryInfo {
        var xattrs: [(name: String, value: [UInt8])] = []
        if archive_entry_xattr_reset(entry) > 0 {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
                guard let name else { continue }
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                xattrs.append((String(cString: name), bytes))
            }
        }
        let mode = archive_entry_mode(entry)
        return ArchiveEntryInfo(
            path: archive_entry_pathname(entry).map { String(cString: $0) } ?? "",
            type: mode & S_IFMT,
            permissions: mode & 0o7777,
            uid: archive_entry_uid(entry),
            gid: archive_entry_gid(entry),
            size: archive_entry_size(entry),
            mtime: timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry)),
            symlinkTarget: archive_entry_symlink(entry).map { String(cString: $0) },
            hardlinkTarget: archive_entry_hardlink(entry).map { String(cString: $0) },
            deviceMajor: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(entry)),
            deviceMinor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(entry)),
            xattrs: xattrs)
    }
}
