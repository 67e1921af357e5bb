import BerthAPI

/// One entry of the store's change feed, like one event of a Kubernetes
/// watch. Controllers use it as a trigger (level-triggered: they re-read the
/// object), so it carries the key, not the new state; only `deleted` carries
/// the last state, because afterwards there is nothing left to read.
public struct ChangeEvent: Sendable, Hashable {
    public enum ChangeType: String, Sendable, Hashable, Codable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    public var type: ChangeType
    public var key: ObjectKey
    public var uid: String
    /// The store revision of this change; strictly increasing along the feed.
    public var resourceVersion: Int64
    /// The last state of a deleted object (nil for added/modified).
    public var lastState: JSONValue?

    public init(type: ChangeType, key: ObjectKey, uid: String, resourceVersion: Int64, lastState: JSONValue? = nil) {
        self.type = type
        self.key = key
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.lastState = lastState
    }
}

/// Wakes change-feed subscribers after each commit made through this
/// process's `Store`. Writes from other processes are picked up by each
/// subscriber's poll timer.
actor ChangeHub {
    private var waiters: [Int: AsyncStream<Void>.Continuation] = [:]
    private var nextID = 0

    func add(_ continuation: AsyncStream<Void>.Continuation) -> Int {
        nextID += 1
        waiters[nextID] = continuation
        return nextID
    }

    func remove(_ id: Int) {
        waiters[id] = nil
    }

    func notify() {
        for waiter in waiters.values { waiter.yield() }
    }
}
