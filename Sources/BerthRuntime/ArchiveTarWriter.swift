import BerthAPI
import CArchive
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a directory tree as a gzip-compressed layer tar, for
/// `berth image import DIR` (what `docker import` does with a rootfs).
///
/// Two passes: the tree becomes a pax tar (hashed: the diff_id), then that
/// tar is gzip-compressed through libarchive's raw writer (hashed: the blob
/// digest). Owners, modes, xattrs, hard links, symlinks, device nodes and
/// mtimes come from libarchive's disk reader, which does not follow symlinks.
enum ArchiveTarWriter {
    struct Output {
        var diffID: OCIDigest
        var digest: OCIDigest
        var size: Int64
    }

    /// Receives libarchive's output and hashes it on the way to a file.
    private final class Sink {
        let fd: Int32
        var hasher = DigestHasher()
        var error: Int32 = 0

        init(fd: Int32) { self.fd = fd }
    }

    private static let writeCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = {
        _, context, buffer, length in
        guard let context, let buffer else { return -1 }
        let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
        let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
        do {
            try ImageStoreEngine.writeAll(sink.fd, bytes, what: "layer")
        } catch {
            sink.error = errno
            return -1
        }
        sink.hasher.update(bytes)
        return length
    }

    static func writeLayer(from directory: String, tarPath: String, outputPath: String) throws -> Output {
        let diffID = try writeTar(from: directory, to: tarPath)
        defer { unlink(tarPath) }
        let (digest, size) = try gzip(tarPath, to: outputPath)
        return Output(diffID: diffID, digest: digest, size: size)
    }

    private static func failure(_ archive: OpaquePointer, _ what: String) -> BerthError {
        let reason = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
        return BerthError(.runtime, "\(what): \(reason)")
    }

    private static func writeTar(from directory: String, to path: String) throws -> OCIDigest {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LayerUnpacker.systemError("cannot create \(path)", errno) }
        defer { close(fd) }
        let sink = Sink(fd: fd)
        guard let writer = archive_write_new() else { throw BerthError(.internal, "archive_write_new failed") }
        defer { archive_write_free(writer) }
        archive_write_set_format_pax_restricted(writer)
        archive_write_set_bytes_in_last_block(writer, 1)
        guard archive_write_open(writer, Unmanaged.passUnretained(sink).toOpaque(), nil, writeCallback, nil) == ARCHIVE_OK else {
            throw failure(writer, "cannot start the layer tar")
        }
        guard let disk = archive_read_disk_new() else { throw BerthError(.internal, "archive_read_disk_new failed") }
        defer { archive_read_free(disk) }
        archive_read_disk_set_symlink_physical(disk)
        guard archive_read_disk_open(disk, directory) == ARCHIVE_OK else { throw failure(disk, "cannot read \(directory)") }
        guard let resolver = archive_entry_linkresolver_new() else { throw BerthError(.internal, "linkresolver_new failed") }
        defer { archive_entry_linkresolver_free(resolver) }
        archive_entry_linkresolver_set_strategy(resolver, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)

        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            guard let entry = archive_entry_new() else { throw BerthError(.internal, "archive_entry_new failed") }
            defer { archive_entry_free(entry) }
            let status = archive_read_next_header2(disk, entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { throw failure(disk, "cannot read \(directory)") }
            archive_read_disk_descend(disk)
            let full = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            guard full.hasPrefix(prefix) else { continue }  // the root itself
            let type = archive_entry_filetype(entry)
            if type == S_IFSOCK { continue }
            archive_entry_set_pathname(entry, String(full.dropFirst(prefix.count)))
            var linked: OpaquePointer? = entry
            var spare: OpaquePointer?
            archive_entry_linkify(resolver, &linked, &spare)
            if let spare { archive_entry_free(spare) }
            guard let linked else { continue }
            guard archive_write_header(writer, linked) == ARCHIVE_OK else { throw failure(writer, "cannot add \(full)") }
            if type == S_IFREG, archive_entry_size(linked) > 0 {
                while true {
                    let count = archive_read_data(disk, buffer.baseAddress, buffer.count)
                    if count < 0 { throw failure(disk, "cannot read \(full)") }
                    if count == 0 { break }
                    guard archive_write_data(writer, buffer.baseAddress, count) == count else { throw failure(writer, "cannot write \(full)") }
                }
            }
        }
        guard archive_write_close(writer) == ARCHIVE_OK else { throw failure(writer, "cannot finish the layer tar") }
        return sink.hasher.finalize()
    }

    private static func gzip(_ tarPath: String, to path: String) throws -> (OCIDigest, Int64) {
        let input = open(tarPath, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw LayerUnpacker.systemError("cannot open \(tarPath)", errno) }
        defer { close(input) }
        var info = stat()
        fstat(input, &info)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LayerUnpacker.systemError("cannot create \(path)", errno) }
        defer { close(fd) }
        let sink = Sink(fd: fd)
        guard let writer = archive_write_new() else { throw BerthError(.internal, "archive_write_new failed") }
        defer { archive_write_free(writer) }
        archive_write_add_filter_gzip(writer)
        archive_write_set_format_raw(writer)
        archive_write_set_bytes_in_last_block(writer, 1)
        guard archive_write_open(writer, Unmanaged.passUnretained(sink).toOpaque(), nil, writeCallback, nil) == ARCHIVE_OK else {
            throw failure(writer, "cannot start gzip")
        }
        guard let entry = archive_entry_new() else { throw BerthError(.internal, "archive_entry_new failed") }
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, 0o100000)
        archive_entry_set_size(entry, Int64(info.st_size))
        archive_entry_set_pathname(entry, "layer.tar")
        guard archive_write_header(writer, entry) == ARCHIVE_OK else { throw failure(writer, "cannot start gzip") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(input, buffer.baseAddress, buffer.count)
            if count < 0, errno == EINTR { continue }
            if count < 0 { throw LayerUnpacker.systemError("cannot read \(tarPath)", errno) }
            if count == 0 { break }
            guard archive_write_data(writer, buffer.baseAddress, count) == count else { throw failure(writer, "cannot compress") }
        }
        guard archive_write_close(writer) == ARCHIVE_OK else { throw failure(writer, "cannot finish gzip") }
        guard fsync(fd) == 0 else { throw LayerUnpacker.systemError("cannot sync \(path)", errno) }
        return (sink.hasher.finalize(), sink.hasher.count)
    }
}
