import Foundation

/// What a reconcile asks of its work queue after a successful pass. Errors
/// (thrown) requeue with rate limiting instead.
public enum ReconcileResult: Sendable, Equatable {
    case done
    /// Look again after this many seconds even if nothing changes (time-based
    /// conditions: minReadySeconds, progress deadlines, probe periods, backoff).
    case requeueAfter(TimeInterval)

    /// The earlier of two requests.
    func merged(_ other: ReconcileResult) -> ReconcileResult {
        switch (self, other) {
        case (.done, _): return other
        case (_, .done): return self
        case (.requeueAfter(let a), .requeueAfter(let b)): return .requeueAfter(min(a, b))
        }
    }
}
