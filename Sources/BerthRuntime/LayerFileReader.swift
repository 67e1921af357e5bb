import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ResolvedImage {
    /// Reads a small file of the image as the container will see it — top
    /// layer wins, overlay whiteouts delete, opaque directories hide lower
    /// layers — without mounting anything. For resolving a user name
    /// (`/etc/passwd`, `/etc/group`) before the container exists.
    ///
    /// Nothing is followed: each layer is walked with `O_NOFOLLOW` from its
    /// root fd, and a symlink anywhere on the path gives nil rather than a
    /// read of a host file it might point at (`etc/passwd -> /etc/shadow`).
    /// Nil also when the file is absent or larger than `maxBytes`.
    public func readFile(_ path: String, maxBytes: Int = 1 << 20) -> Data? {
        let components = path.split(separator: "/").map(String.init).filter { $0 != "." }
        guard let name = components.last, !components.contains("..") else { return nil }
        for layer in layerPaths.reversed() {
            switch Self.lookup(layer: layer, directories: components.dropLast(), name: name, maxBytes: maxBytes) {
            case .found(let data): return data
            case .deleted: return nil
            case .absent(let opaque): if opaque { return nil }
            }
        }
        return nil
    }

    private enum Lookup {
        case found(Data)
        /// Whited out, or in the way (a symlink or a non-directory parent).
        case deleted
        /// Not in this layer; `opaque` if a directory on the path hides lower layers.
        case absent(opaque: Bool)
    }

    private static func isWhiteout(_ info: stat) -> Bool {
        info.st_mode & S_IFMT == S_IFCHR && info.st_rdev == 0
    }

    private static func lookup(layer: String, directories: ArraySlice<String>, name: String, maxBytes: Int) -> Lookup {
        var fd = open(layer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return .absent(opaque: false) }
        defer { close(fd) }
        var opaque = false
        for directory in directories {
            var info = stat()
            guard fstatat(fd, directory, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return .absent(opaque: opaque) }
            if isWhiteout(info) { return .deleted }
            guard info.st_mode & S_IFMT == S_IFDIR else { return .deleted }
            let next = openat(fd, directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else { return .deleted }
            close(fd)
            fd = next
            if LayerXattr.get(fd: fd, name: "trusted.overlay.opaque") == "y" { opaque = true }
        }
        var info = stat()
        guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return .absent(opaque: opaque) }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size <= maxBytes else { return .deleted }
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else { return .deleted }
        defer { close(file) }
        var data = Data(count: Int(info.st_size))
        let count = data.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        guard count >= 0 else { return .deleted }
        return .found(data.prefix(count))
    }
}
