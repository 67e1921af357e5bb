#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `*xattr` calls of <sys/xattr.h>, which the Glibc module does not
/// export. They are looked up once with `dlsym` and called through C
/// function pointers, which keeps the C calling convention exact without a
/// C target of our own.
enum LayerXattr {
    private typealias FSet = @convention(c) (Int32, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias LSet = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias LGet = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int) -> Int
    private typealias FGet = @convention(c) (Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int) -> Int

    private static func lookup<F>(_ name: String, as type: F.Type) -> F? {
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }

    private static let fsetxattrCall = lookup("fsetxattr", as: FSet.self)
    private static let lsetxattrCall = lookup("lsetxattr", as: LSet.self)
    private static let lgetxattrCall = lookup("lgetxattr", as: LGet.self)
    private static let fgetxattrCall = lookup("fgetxattr", as: FGet.self)

    /// fsetxattr(2); -1 with errno set on failure (ENOTSUP if unavailable).
    static func set(fd: Int32, name: String, value: [UInt8]) -> Int32 {
        guard let call = fsetxattrCall else { errno = ENOTSUP; return -1 }
        return value.withUnsafeBytes { call(fd, name, $0.baseAddress, $0.count, 0) }
    }

    /// lsetxattr(2): on the link itself, not its target.
    static func setNoFollow(path: String, name: String, value: [UInt8]) -> Int32 {
        guard let call = lsetxattrCall else { errno = ENOTSUP; return -1 }
        return value.withUnsafeBytes { call(path, name, $0.baseAddress, $0.count, 0) }
    }

    /// lgetxattr(2), as a string; nil if absent.
    static func get(path: String, name: String) -> String? {
        guard let call = lgetxattrCall else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { call(path, name, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// fgetxattr(2), as a string; nil if absent.
    static func get(fd: Int32, name: String) -> String? {
        guard let call = fgetxattrCall else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { call(fd, name, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
