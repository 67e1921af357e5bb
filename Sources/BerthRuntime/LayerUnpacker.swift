import BerthAPI
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What unpacking one layer found out.
public struct LayerUnpackResult: Sendable, Hashable {
    /// sha256 of the uncompressed tar (the layer's diff_id).
    public var diffID: OCIDigest
    public var uncompressedSize: Int64
    public var compression: ArchiveCompression
    public var entries: Int
    /// False when another unpack of the same layer got there first.
    public var created = true
}

/// Unpacks one layer tar into an empty directory, for overlayfs.
///
/// Safety is the point of this type. A layer is untrusted input that root
/// unpacks, so every file system operation is made *relative to a directory
/// file descriptor* that was itself reached from the layer root one component
/// at a time with `O_NOFOLLOW | O_DIRECTORY`. A symlink — planted by an
/// earlier entry of the same tar (`a -> /etc`, then `a/passwd`: the
/// CVE-2018-15664 / CVE-2021-32760 class) — is therefore never followed; the
/// entry is refused instead. Absolute names and `..` are refused, hard links
/// must name an entry inside the layer, and files are created with
/// `O_CREAT | O_EXCL | O_NOFOLLOW` after removing what was there, so a
/// symlink at the final component is replaced, not written through. Symlink
/// *targets* are stored verbatim: they are only resolved later, inside the
/// container's root.
///
/// Whiteouts are converted to overlayfs form, as containerd's overlay
/// snapshotter does, because layers are unpacked separately and stacked by
/// the kernel: `.wh.x` becomes a 0:0 character device `x`, and
/// `.wh..wh..opq` becomes `trusted.overlay.opaque=y` on its directory.
/// `trusted.overlay.*` attributes from the tar itself are dropped, since they
/// would steer overlayfs.
struct LayerUnpacker {
    private let rootFD: Int32
    private let label: String
    /// Directory mtimes, applied at the end (creating children changes them).
    private var directoryTimes: [([String], timespec)] = []

    private init(rootFD: Int32, label: String) {
        self.rootFD = rootFD
        self.label = label
    }

    /// Unpacks `blob` into `destination`, which must not exist yet. On any
    /// error the caller removes `destination`. When `expectedDiffID` is given,
    /// a mismatch throws `.imageCorrupt` after the whole stream was read.
    static func unpack(blob: String, into destination: String, expectedDiffID: OCIDigest?, label: String) throws -> LayerUnpackResult {
        guard mkdir(destination, 0o755) == 0 else {
            throw LayerUnpacker.systemError("cannot create \(destination)", errno)
        }
        let rootFD = open(destination, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard rootFD >= 0 else { throw LayerUnpacker.systemError("cannot open \(destination)", errno) }
        defer { close(rootFD) }

        let reader = try ArchiveTarReader(path: blob, label: label)
        var unpacker = LayerUnpacker(rootFD: rootFD, label: label)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var entries = 0
        while let entry = try reader.nextEntry() {
            try unpacker.apply(entry, reader: reader, buffer: buffer)
            entries += 1
        }
        let (diffID, size) = try reader.finish()
        if let expectedDiffID, expectedDiffID != diffID {
            throw BerthError(
                .imageCorrupt,
                "\(label): uncompressed layer has digest \(diffID) but the image config says \(expectedDiffID)",
                hint: "the image is corrupt; import or pull it again")
        }
        unpacker.applyDirectoryTimes()
        return LayerUnpackResult(diffID: diffID, uncompressedSize: size, compression: reader.compression, entries: entries)
    }

    // MARK: - Entries

    private mutating func apply(_ entry: ArchiveEntryInfo, reader: ArchiveTarReader, buffer: UnsafeMutableRawBufferPointer) throws {
        let components = try sanitize(entry.path, entry: entry.path)
        guard let name = components.last else {
            // "./" itself: the layer root's metadata.
            guard entry.type == S_IFDIR else { throw unsafe(entry.path, "would replace the layer root") }
            try setOwnerModeXattrs(fd: rootFD, entry: entry)
            directoryTimes.append(([], entry.mtime))
            return
        }
        let parentComponents = Array(components.dropLast())

        if name.hasPrefix(".wh.") {
            let parent = try openDirectory(parentComponents, create: true, entry: entry.path)
            defer { close(parent) }
            try applyWhiteout(name: name, parent: parent, entry: entry.path)
            return
        }

        let parent = try openDirectory(parentComponents, create: true, entry: entry.path)
        defer { close(parent) }

        if let link = entry.hardlinkTarget {
            try applyHardLink(name: name, parent: parent, target: link, entry: entry.path)
            return
        }

        switch entry.type {
        case S_IFDIR:
            if try !removeExisting(parent: parent, name: name, keepDirectory: true) {
                guard mkdirat(parent, name, 0o700) == 0 else { throw systemError(entry.path, "mkdir", errno) }
            }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw systemError(entry.path, "open directory", errno) }
            defer { close(fd) }
            try setOwnerModeXattrs(fd: fd, entry: entry)
            directoryTimes.append((components, entry.mtime))

        case S_IFREG:
            _ = try removeExisting(parent: parent, name: name, keepDirectory: false)
            let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw systemError(entry.path, "create", errno) }
            defer { close(fd) }
            while true {
                let count = try reader.readData(into: buffer)
                if count == 0 { break }
                var written = 0
                while written < count {
                    let n = write(fd, buffer.baseAddress! + written, count - written)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw systemError(entry.path, "write", errno)
                    }
                    written += n
                }
            }
            try setOwnerModeXattrs(fd: fd, entry: entry)
            try setTimes(parent: parent, name: name, entry: entry)

        case S_IFLNK:
            _ = try removeExisting(parent: parent, name: name, keepDirectory: false)
            guard symlinkat(entry.symlinkTarget ?? "", parent, name) == 0 else { throw systemError(entry.path, "symlink", errno) }
            guard fchownat(parent, name, uid_t(truncatingIfNeeded: entry.uid), gid_t(truncatingIfNeeded: entry.gid), AT_SYMLINK_NOFOLLOW) == 0 else {
                throw systemError(entry.path, "chown", errno)
            }
            try setXattrsNoFollow(parent: parent, name: name, entry: entry)
            try setTimes(parent: parent, name: name, entry: entry)

        case S_IFCHR, S_IFBLK, S_IFIFO:
            _ = try removeExisting(parent: parent, name: name, keepDirectory: false)
            let device = entry.type == S_IFIFO ? 0 : Self.makeDevice(entry.deviceMajor, entry.deviceMinor)
            guard mknodat(parent, name, entry.type | 0o600, device) == 0 else { throw systemError(entry.path, "mknod", errno) }
            guard fchownat(parent, name, uid_t(truncatingIfNeeded: entry.uid), gid_t(truncatingIfNeeded: entry.gid), AT_SYMLINK_NOFOLLOW) == 0 else {
                throw systemError(entry.path, "chown", errno)
            }
            guard fchmodat(parent, name, entry.permissions, 0) == 0 else { throw systemError(entry.path, "chmod", errno) }
            try setXattrsNoFollow(parent: parent, name: name, entry: entry)
            try setTimes(parent: parent, name: name, entry: entry)

        default:
            break  // sockets and unknown types carry no content; Docker skips them too
        }
    }

    private func applyWhiteout(name: String, parent: Int32, entry: String) throws {
        if name == ".wh..wh..opq" {
            guard LayerXattr.set(fd: parent, name: "trusted.overlay.opaque", value: Array("y".utf8)) == 0 else {
                throw systemError(entry, "set trusted.overlay.opaque", errno)
            }
            return
        }
        if name.hasPrefix(".wh..wh.") { return }  // aufs bookkeeping (.wh..wh.plnk …), meaningless here
        let target = String(name.dropFirst(4))
        guard !target.isEmpty, target != ".", target != ".." else { throw unsafe(entry, "is a whiteout of nothing") }
        _ = try removeExisting(parent: parent, name: target, keepDirectory: false)
        guard mknodat(parent, target, S_IFCHR | 0o000, 0) == 0 else { throw systemError(entry, "mknod whiteout", errno) }
        guard fchownat(parent, target, 0, 0, AT_SYMLINK_NOFOLLOW) == 0 else { throw systemError(entry, "chown whiteout", errno) }
    }

    private func applyHardLink(name: String, parent: Int32, target: String, entry: String) throws {
        let targetComponents = try sanitize(target, entry: entry, what: "hard link target")
        guard let targetName = targetComponents.last else { throw unsafe(entry, "is a hard link to the layer root") }
        let targetParent = try openDirectory(Array(targetComponents.dropLast()), create: false, entry: entry)
        defer { close(targetParent) }
        var info = stat()
        guard fstatat(targetParent, targetName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw unsafe(entry, "is a hard link to \"\(target)\", which is not an earlier entry of this layer")
        }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw unsafe(entry, "is a hard link to a directory") }
        if targetParent == parent, targetName == name { return }
        _ = try removeExisting(parent: parent, name: name, keepDirectory: false)
        guard linkat(targetParent, targetName, parent, name, 0) == 0 else { throw systemError(entry, "link", errno) }
    }

    // MARK: - Walking

    /// The layer-relative components of an entry name. Absolute names and
    /// `..` are refused rather than rewritten: a well-formed layer never
    /// contains them, so one that does is not trusted any further.
    private func sanitize(_ raw: String, entry: String, what: String = "path") throws -> [String] {
        if raw.hasPrefix("/") { throw unsafe(entry, "has an absolute \(what) \"\(raw)\"") }
        let components = raw.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
        if components.contains("..") { throw unsafe(entry, "has a \(what) with \"..\" (\"\(raw)\")") }
        return components
    }

    /// Opens the directory at `components` below the root without following
    /// any symlink. Missing directories are created (mode 0755, as tar does
    /// for implied parents) when `create` is set. The caller closes the fd.
    private func openDirectory(_ components: [String], create: Bool, entry: String) throws -> Int32 {
        var fd = dup(rootFD)
        guard fd >= 0 else { throw systemError(entry, "dup", errno) }
        for component in components {
            var next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, create {
                if mkdirat(fd, component, 0o755) != 0, errno != EEXIST {
                    let error = errno
                    close(fd)
                    throw systemError(entry, "mkdir \(component)", error)
                }
                next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0 {
                let error = errno
                close(fd)
                if error == ELOOP || error == ENOTDIR {
                    throw unsafe(entry, "goes through \"\(component)\", which is a symlink or not a directory")
                }
                throw systemError(entry, "open \(component)", error)
            }
            close(fd)
            fd = next
        }
        return fd
    }

    /// Removes what is at `name` (a directory, recursively, unless
    /// `keepDirectory`). Returns true if a directory was kept.
    private func removeExisting(parent: Int32, name: String, keepDirectory: Bool) throws -> Bool {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return false }
            throw systemError(name, "stat", errno)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            if keepDirectory { return true }
            try Self.removeTree(parent: parent, name: name)
        } else if unlinkat(parent, name, 0) != 0 {
            throw systemError(name, "unlink", errno)
        }
        return false
    }

    /// Removes a directory tree below `parent` without following symlinks.
    static func removeTree(parent: Int32, name: String) throws {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            if errno == ENOTDIR || errno == ELOOP {
                guard unlinkat(parent, name, 0) == 0 else { throw systemError("cannot remove \(name)", errno) }
                return
            }
            throw systemError("cannot open \(name)", errno)
        }
        guard let dir = fdopendir(fd) else {
            close(fd)
            throw systemError("cannot read \(name)", errno)
        }
        defer { closedir(dir) }
        var children: [(String, Bool)] = []
        while let item = readdir(dir) {
            let child = withUnsafePointer(to: &item.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if child == "." || child == ".." { continue }
            children.append((child, item.pointee.d_type == UInt8(DT_DIR)))
        }
        for (child, isDirectory) in children {
            if isDirectory {
                try removeTree(parent: fd, name: child)
            } else if unlinkat(fd, child, 0) != 0, errno != ENOENT {
                throw systemError("cannot remove \(child)", errno)
            }
        }
        if unlinkat(parent, name, AT_REMOVEDIR) != 0, errno != ENOENT {
            throw systemError("cannot remove \(name)", errno)
        }
    }

    /// Removes `path` (a directory tree or a file) without following symlinks inside it.
    static func removeTree(path: String) throws {
        let url = URL(fileURLWithPath: path)
        let parentFD = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parentFD >= 0 else {
            if errno == ENOENT { return }
            throw systemError("cannot open parent of \(path)", errno)
        }
        defer { close(parentFD) }
        try removeTree(parent: parentFD, name: url.lastPathComponent)
    }

    // MARK: - Metadata

    /// Owner first, then mode: chown clears setuid/setgid bits.
    private func setOwnerModeXattrs(fd: Int32, entry: ArchiveEntryInfo) throws {
        guard fchown(fd, uid_t(truncatingIfNeeded: entry.uid), gid_t(truncatingIfNeeded: entry.gid)) == 0 else {
            throw systemError(entry.path, "chown", errno)
        }
        guard fchmod(fd, entry.permissions) == 0 else { throw systemError(entry.path, "chmod", errno) }
        for (name, value) in entry.xattrs where Self.isAllowedXattr(name) {
            let result = LayerXattr.set(fd: fd, name: name, value: value)
            if result != 0, errno != ENOTSUP { throw systemError(entry.path, "set xattr \(name)", errno) }
        }
    }

    /// Symlinks and device nodes cannot be opened for fsetxattr; their
    /// parent is reached through its fd in /proc, the name with `l*xattr`.
    private func setXattrsNoFollow(parent: Int32, name: String, entry: ArchiveEntryInfo) throws {
        let path = "/proc/self/fd/\(parent)/\(name)"
        for (attribute, value) in entry.xattrs where Self.isAllowedXattr(attribute) {
            let result = LayerXattr.setNoFollow(path: path, name: attribute, value: value)
            if result != 0, errno != ENOTSUP, errno != EPERM { throw systemError(entry.path, "set xattr \(attribute)", errno) }
        }
    }

    private static func isAllowedXattr(_ name: String) -> Bool { !name.hasPrefix("trusted.overlay.") }

    private func setTimes(parent: Int32, name: String, entry: ArchiveEntryInfo) throws {
        var times = [entry.mtime, entry.mtime]
        guard utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw systemError(entry.path, "set mtime", errno) }
    }

    private func applyDirectoryTimes() {
        for (components, time) in directoryTimes {
            var times = [time, time]
            guard let name = components.last else {
                _ = futimens(rootFD, &times)
                continue
            }
            guard let parent = try? openDirectory(Array(components.dropLast()), create: false, entry: name) else { continue }
            _ = utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW)
            close(parent)
        }
    }

    static func makeDevice(_ major: UInt32, _ minor: UInt32) -> dev_t {
        let major = UInt64(major), minor = UInt64(minor)
        return dev_t(((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff))
    }

    // MARK: - Errors

    private func unsafe(_ entry: String, _ why: String) -> BerthError {
        BerthError(
            .unsafeArchive, "\(label): entry \"\(entry)\" \(why); refusing to unpack it",
            hint: "the layer is malformed or malicious; nothing was written outside the layer directory")
    }

    private func systemError(_ entry: String, _ operation: String, _ code: Int32) -> BerthError {
        BerthError(.runtime, "\(label): entry \"\(entry)\": \(operation) failed: \(String(cString: strerror(code)))")
    }

    static func systemError(_ what: String, _ code: Int32) -> BerthError {
        BerthError(.runtime, "\(what): \(String(cString: strerror(code)))")
    }
}
