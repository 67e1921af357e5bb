import Foundation

/// glibc malloc settings for `berth serve`, applied once at start.
///
/// glibc gives every thread that allocates under contention its own arena
/// (up to 8 per core) and each keeps freed memory resident: serve runs
/// Dispatch workers for the store, NIO threads and the cooperative pool, and
/// the arenas made up a good part of its RSS after a sync (bench/sync). One
/// arena: with two, each kept 2–3 MB of free fragments after bench/sync
/// (malloc_info), and one arena measured 2–3 MB less RSS there; serve's
/// allocations are short critical sections on a 2-core machine, so the
/// shared arena lock is cheap. A `MALLOC_ARENA_MAX` in the environment wins,
/// as glibc documents. The `berth` binary sets the limit before main
/// (CBerthLinux/early_malloc.c), since arenas of threads that allocated
/// before mallopt stay; this call covers a serve started in-process (tests).
enum MallocTuning {
    static func apply() {
        guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
        _ = berthMallopt(mArenaMax, 1)
    }

    /// `M_ARENA_MAX` from glibc's malloc.h.
    private static let mArenaMax: Int32 = -8
}

/// glibc's mallopt(3); malloc.h is not in Swift's Glibc module map.
@_silgen_name("mallopt")
private func berthMallopt(_ parameter: Int32, _ value: Int32) -> Int32
