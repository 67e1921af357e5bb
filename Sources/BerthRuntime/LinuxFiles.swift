import Glibc

/// Plain system-call file helpers for the container start path.
///
/// `berth run` is a short-lived process, and there Foundation's first uses
/// are not cheap: `FileManager`, `String(contentsOfFile:)`,
/// `components(separatedBy:)` and `replacingOccurrences` set up Foundation's
/// string and file machinery (NSString bridging, generic instantiations that
/// each scan the binary's ~12 k protocol conformance records) before doing a
/// few system calls. perf put them at a tenth of the CPU of a container
/// start. These do the system calls only.
enum LinuxFiles {
    /// The whole file, or nil if it cannot be opened or read. Works for
    /// /proc and /sys files too, whose size stat(2) reports as 0.
    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        let hint = fstat(fd, &st) == 0 && st.st_size > 0 ? Int(st.st_size) : 4096
        var bytes = [UInt8](repeating: 0, count: hint + 1)
        var count = 0
        while true {
            if count == bytes.count { bytes.append(contentsOf: repeatElement(0, count: bytes.count)) }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            count += n
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// The file as UTF-8 text (invalid sequences repaired), or nil.
    static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory (without "." and ".."), or nil if it cannot be read.
    static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `path` with every run of slashes collapsed to one ("/sys/fs/cgroup//x" → "/sys/fs/cgroup/x").
    static func collapsingSlashes(_ path: String) -> String {
        var out = ""
        out.reserveCapacity(path.utf8.count)
        var previousSlash = false
        for c in path.unicodeScalars {
            if c == "/" && previousSlash { continue }
            previousSlash = c == "/"
            out.unicodeScalars.append(c)
        }
        return out
    }
}
