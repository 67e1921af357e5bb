import Dispatch

/// Where blocking work (file systems, locks, pipes) runs.
///
/// In a long-running Berth (`serve`) a blocking call must not hold one of the
/// few cooperative threads: it goes to a Dispatch thread and the caller
/// awaits it. A one-shot CLI command runs on `CurrentThreadExecutor`
/// instead, where blocking the one thread is exactly what it wants; there
/// `inline` is set and the work runs in place, without a thread hop.
public enum BlockingWork {
    /// Set by `CurrentThreadExecutor.run` for the operation it runs.
    @TaskLocal public static var inline = false

    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        if inline { return try work() }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        if inline { return work() }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
