import Foundation

/// glibc malloc settings for `berth serve`, applied once at start.
///
/// glibc gives every thread that allocates under contention its own arena
/// (up to 8 per core) and each keeps freed memory resident: serve runs
/// Dispatch workers for the store, NIO threads and the cooperative pool, and
/// the arenas made up a good part of its RSS after a sync (bench/sync). Two
/// arenas, set before main (CBerthLinux/early_malloc.c; set from Swift it
/// came after the concurrency runtime's threads had taken arenas of their
/// own). One arena measured the same RSS after bench/sync (64–65 MB, six
/// alternating runs) but slower syncs under the shared lock (webhook → plan
/// 96–125 ms against 67–91). A `MALLOC_ARENA_MAX` in the environment wins,
/// as glibc documents. This call covers a serve started in-process (tests).
enum MallocTuning {
    static func apply() {
        guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
        _ = berthMallopt(mArenaMax, 2)
    }

    /// `M_ARENA_MAX` from glibc's malloc.h.
    private static let mArenaMax: Int32 = -8
}

/// glibc's mallopt(3); malloc.h is not in Swift's Glibc module map.
@_silgen_name("mallopt")
private func berthMallopt(_ parameter: Int32, _ value: Int32) -> Int32
