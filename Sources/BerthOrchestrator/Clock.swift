import Foundation

/// Time as the orchestrator sees it. Controllers never read the wall clock
/// directly, so that tests can drive rollouts, probe periods and crash-loop
/// backoff with a `ManualClock` in milliseconds instead of minutes.
public protocol OrchestratorClock: Sendable {
    func now() -> Date
    /// Sleeps until `deadline` on this clock (or throws on cancellation).
    func sleep(until deadline: Date) async throws
}

/// The real clock.
public struct SystemClock: OrchestratorClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int64(seconds * 1000) + 1)) }
    }
}

/// A clock that only moves when told: `advance(by:)` wakes every sleeper
/// whose deadline has passed.
public final class ManualClock: OrchestratorClock, @unchecked Sendable {
    // Guarded by `lock`: a clock is read from synchronous code (`now()`), so
    // it cannot be an actor.
    private let lock = NSLock()
    private var current: Date
    private var sleepers: [(deadline: Date, continuation: CheckedContinuation<Void, Never>)] = []

    public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = start
    }

    public func now() -> Date { lock.withLock { current } }

    public func advance(by seconds: TimeInterval) {
        let ready: [CheckedContinuation<Void, Never>] = lock.withLock {
            current = current.addingTimeInterval(seconds)
            let now = current
            let due = sleepers.filter { $0.deadline <= now }.map(\.continuation)
            sleepers.removeAll { $0.deadline <= now }
            return due
        }
        ready.forEach { $0.resume() }
    }

    public func sleep(until deadline: Date) async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = lock.withLock {
                if deadline <= current { return true }
                sleepers.append((deadline, continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
        try Task.checkCancellation()
    }
}

/// RFC 3339 timestamps as Kubernetes writes them (seconds precision, UTC),
/// read back with or without fractional seconds.
enum Timestamp {
    static func format(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// With milliseconds ("2026-11-29T12:18:05.123Z"), for the times the
    /// kubelet writes into pod status (container start, condition
    /// transitions): Kubernetes writes whole seconds, but every RFC 3339
    /// reader (kubectl, client-go's metav1.Time) accepts the fraction, and
    /// sub-second times let a rollout be taken apart (bench/rollout) and
    /// minReadySeconds count from the real transition.
    static func formatMillis(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let whole = Date(timeIntervalSince1970: TimeInterval(millis / 1000))
        var text = format(whole)
        text.removeLast()
        return text + String(format: ".%03dZ", Int(millis % 1000))
    }

    static func parse(_ text: String?) -> Date? {
        guard let text, text.count >= 19 else { return nil }
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for byte in chars[from..<(from + count)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        var fraction = 0.0
        var index = 19
        if index < chars.count, chars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                fraction += Double(chars[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        if index < chars.count, chars[index] == UInt8(ascii: "+") || chars[index] == UInt8(ascii: "-"),
           let hours = number(index + 1, 2), let minutes = number(index + 4, 2) {
            offset = (hours * 3600 + minutes * 60) * (chars[index] == UInt8(ascii: "+") ? 1 : -1)
        }
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: TimeInterval(epoch - offset) + fraction)
    }
}
