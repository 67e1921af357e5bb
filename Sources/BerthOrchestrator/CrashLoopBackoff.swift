import Foundation

/// The kubelet's restart backoff (`flowcontrol.Backoff` as kuberuntime uses
/// it): the first restart of a crashed container is immediate, every later
/// one waits 10 s, 20 s, 40 s … capped at 300 s after the container's
/// finish time. A container that ran more than twice the cap (10 min) since
/// the last restart starts over at 10 s.
public struct CrashLoopBackoff: Sendable {
    public var initial: TimeInterval = 10
    public var maximum: TimeInterval = 300

    struct Entry: Sendable { var delay: TimeInterval; var lastUpdate: Date }
    private var entries: [String: Entry] = [:]

    public init(initial: TimeInterval = 10, maximum: TimeInterval = 300) {
        self.initial = initial
        self.maximum = maximum
    }

    private func expired(_ entry: Entry, at time: Date) -> Bool {
        time.timeIntervalSince(entry.lastUpdate) > 2 * maximum
    }

    /// When backing off, the time a restart becomes allowed; nil if now.
    public func backoffUntil(_ key: String, finishedAt: Date, now: Date) -> Date? {
        guard let entry = entries[key], !expired(entry, at: now) else { return nil }
        let until = finishedAt.addingTimeInterval(entry.delay)
        return now < until ? until : nil
    }

    /// kubelet's `IsInBackOffSinceUpdate`: while less than the current
    /// delay has passed since the last failure, the time the backoff ends;
    /// nil when a new attempt is allowed now (or `key` never failed).
    public func backoffSinceUpdate(_ key: String, now: Date) -> Date? {
        guard let entry = entries[key], !expired(entry, at: now) else { return nil }
        let until = entry.lastUpdate.addingTimeInterval(entry.delay)
        return now < until ? until : nil
    }

    /// The current delay of `key` (for messages: "back-off 20s restarting …").
    public func delay(_ key: String) -> TimeInterval { entries[key]?.delay ?? 0 }

    /// Records a restart for a container that finished at `finishedAt`.
    public mutating func next(_ key: String, finishedAt: Date) {
        if let entry = entries[key], !expired(entry, at: finishedAt) {
            entries[key] = Entry(delay: min(entry.delay * 2, maximum), lastUpdate: finishedAt)
        } else {
            entries[key] = Entry(delay: initial, lastUpdate: finishedAt)
        }
    }

    public mutating func reset(_ key: String) { entries[key] = nil }

    /// Drops every key that starts with `prefix` (a deleted pod's "uid/…").
    public mutating func forget(prefix: String) { entries = entries.filter { !$0.key.hasPrefix(prefix) } }
}
