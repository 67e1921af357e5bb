/// The pending sync of one source. Any number of triggers that arrive
/// before the sync starts collapse into it (and get its id); a trigger that
/// arrives while a sync runs starts one more pending sync, never a second
/// concurrent one.
public struct TriggerQueue: Sendable {
    public struct Pending: Sendable, Hashable {
        public var id: Int64
        public var triggers: [SyncTrigger]
        public var force: Bool
    }

    public private(set) var pending: Pending?

    public init() {}

    /// Adds a trigger. Returns the id of the pending sync it joined, or nil
    /// when a new pending sync must be created (call `open`).
    public mutating func join(_ trigger: SyncTrigger, force: Bool) -> Int64? {
        guard var current = pending else { return nil }
        if !current.triggers.contains(trigger) { current.triggers.append(trigger) }
        current.force = current.force || force
        pending = current
        return current.id
    }

    /// Starts a new pending sync with the id of its queued history row.
    public mutating func open(id: Int64, trigger: SyncTrigger, force: Bool) {
        pending = Pending(id: id, triggers: [trigger], force: force)
    }

    /// Takes the pending sync to run it.
    public mutating func take() -> Pending? {
        defer { pending = nil }
        return pending
    }

    public var isEmpty: Bool { pending == nil }
}
