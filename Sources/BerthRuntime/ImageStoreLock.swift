import BerthAPI
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The cross-process lock of an image store: `flock` on `<images>/lock`.
///
/// `berth image import` (a CLI process) and `berth serve` share the store;
/// the actor only serializes callers inside one process. Each critical
/// section opens its own file description, so two sections in the same
/// process exclude each other too (flock locks belong to the open file
/// description, not the process).
enum ImageStoreLock {
    static func withLock<T>(at path: String, exclusive: Bool, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LayerUnpacker.systemError("cannot open the image store lock \(path)", errno) }
        defer { close(fd) }
        while flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            if errno == EINTR { continue }
            throw LayerUnpacker.systemError("cannot lock the image store \(path)", errno)
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
