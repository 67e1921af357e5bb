import BerthAPI
import BerthManifests

/// What a sync would do: every object of the source and the live objects it
/// owns, each with one action, in the order the actions must run.
public struct Plan: Sendable {
    public var source: String
    /// Creates, updates and unchanged objects in apply order (Namespace,
    /// ConfigMap, Secret, Service, Pod/Deployment; within a kind by sync
    /// wave, then namespace and name), then deletes in the reverse order.
    public var items: [PlanItem]

    public init(source: String, items: [PlanItem]) {
        self.source = source
        self.items = items
    }

    public var creates: [PlanItem] { items.filter { $0.action == .create } }
    public var updates: [PlanItem] { items.filter { $0.action == .update } }
    public var deletes: [PlanItem] { items.filter { $0.action == .delete } }
    public var unchanged: [PlanItem] { items.filter { $0.action == .unchanged } }

    /// No create, update or delete: live state is what git says (no drift).
    public var isEmpty: Bool { items.allSatisfy { $0.action == .unchanged } }

    /// How many items have `action`, without building the filtered array
    /// (a copy of every item: a sync of 1,000 objects asks several times).
    public func count(_ action: PlanItem.Action) -> Int {
        items.reduce(0) { $0 + ($1.action == action ? 1 : 0) }
    }

    /// `2 to create, 1 to update, 0 to delete, 4 unchanged`
    public var summary: String {
        "\(count(.create)) to create, \(count(.update)) to update, \(count(.delete)) to delete, \(count(.unchanged)) unchanged"
    }
}

/// One object's action. Secret values never appear in `changes`; the trees
/// are what is applied (`desired`) and what was there (`live`), for the
/// applier, not for display.
public struct PlanItem: Sendable {
    public enum Action: String, Sendable, Codable {
        case create, update, delete, unchanged
    }

    public var action: Action
    public var key: ObjectKey
    /// The normalized desired object, with the ownership label (nil for deletes).
    public var desired: JSONValue?
    /// The live object as given (nil for creates).
    public var live: JSONValue?
    /// Field-level differences for updates (empty otherwise).
    public var changes: [FieldChange]
    /// Where the desired object is defined (nil for deletes).
    public var location: SourceLocation?
    /// Content hash of `desired`.
    public var hash: String?

    public init(action: Action, key: ObjectKey, desired: JSONValue?, live: JSONValue?,
                changes: [FieldChange] = [], location: SourceLocation? = nil, hash: String? = nil) {
        self.action = action
        self.key = key
        self.desired = desired
        self.live = live
        self.changes = changes
        self.location = location
        self.hash = hash
    }
}

/// One changed field: `spec.replicas: 2 → 3`. Values are compact JSON text,
/// or `(redacted, N bytes)` for Secret data, so a change can be shown,
/// logged and stored in history without leaking anything.
public struct FieldChange: Sendable, Hashable, Codable, CustomStringConvertible {
    public var path: String
    /// nil when the field is added.
    public var old: String?
    /// nil when the field is removed.
    public var new: String?

    public init(path: String, old: String?, new: String?) {
        self.path = path
        self.old = old
        self.new = new
    }

    public var description: String {
        switch (old, new) {
        case (nil, let new?): return "\(path): + \(new)"
        case (let old?, nil): return "\(path): - \(old)"
        default: return "\(path): \(old ?? "") → \(new ?? "")"
        }
    }
}

// MARK: - Text

extension Plan {
    /// The plan as people read it (`berth drift`, a dry run, logs): one line
    /// per create, update and delete, field changes indented below updates.
    /// Safe to print: Secret values are already redacted in `changes`, and
    /// the trees are never shown. Unchanged objects are left out.
    public var report: String {
        var lines: [String] = []
        for item in items where item.action != .unchanged {
            let place = item.location.map { " (\($0))" } ?? ""
            switch item.action {
            case .create: lines.append("+ create \(item.key)\(place)")
            case .delete: lines.append("- delete \(item.key)")
            case .update:
                lines.append("~ update \(item.key)\(place)")
                lines += item.changes.map { "    \($0)" }
            case .unchanged: break
            }
        }
        lines.append(summary)
        return lines.joined(separator: "\n")
    }
}
