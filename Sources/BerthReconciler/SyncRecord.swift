import BerthAPI
import Foundation

/// What started a sync. Triggers carry nothing else: a sync is level-triggered.
public enum SyncTrigger: String, Sendable, Codable, Hashable, CaseIterable {
    case timer, webhook, manual, startup
}

/// How a sync ended.
public enum SyncResult: String, Sendable, Codable, Hashable {
    /// Applied, and every touched Deployment became Available.
    case succeeded
    /// Nothing applied (invalid manifests, fetch or apply error), or a failed
    /// rollout with no earlier good revision to go back to.
    case failed
    /// The rollout failed and the last good revision was re-applied.
    case rolledBack
    /// Live state already matched: nothing to do.
    case noop
    /// A newer commit arrived while waiting for the rollout.
    case superseded
    /// `berth serve` stopped (or was killed) during the sync; the next sync converges.
    case interrupted
}

/// The commit a sync deployed.
public struct CommitInfo: Sendable, Codable, Hashable {
    public var sha: String
    public var author: String
    public var message: String
    public var time: Date

    public init(sha: String, author: String, message: String, time: Date) {
        self.sha = sha
        self.author = author
        self.message = message
        self.time = time
    }

    public var short: String { String(sha.prefix(12)) }
}

/// One object's change in a sync, field diffs included (Secret values redacted by the planner).
public struct ObjectChangeRecord: Sendable, Codable, Hashable {
    public var action: String
    public var object: String
    public var fields: [FieldChange]

    public init(action: String, object: String, fields: [FieldChange]) {
        self.action = action
        self.object = object
        self.fields = fields
    }
}

/// How one Deployment's rollout ended.
public struct RolloutOutcome: Sendable, Codable, Hashable {
    public enum Result: String, Sendable, Codable { case available, failed, timedOut, superseded, interrupted }
    public var deployment: String
    public var result: Result
    public var reason: String?
    /// True for the rollout of a rollback.
    public var rollback: Bool

    public init(deployment: String, result: Result, reason: String? = nil, rollback: Bool = false) {
        self.deployment = deployment
        self.result = result
        self.reason = reason
        self.rollback = rollback
    }
}

/// `2 created, 1 updated, 0 deleted, 4 unchanged`
public struct PlanSummary: Sendable, Codable, Hashable, CustomStringConvertible {
    public var creates: Int
    public var updates: Int
    public var deletes: Int
    public var unchanged: Int

    public init(creates: Int = 0, updates: Int = 0, deletes: Int = 0, unchanged: Int = 0) {
        self.creates = creates
        self.updates = updates
        self.deletes = deletes
        self.unchanged = unchanged
    }

    public init(_ plan: Plan) {
        self.init(creates: plan.count(.create), updates: plan.count(.update), deletes: plan.count(.delete), unchanged: plan.count(.unchanged))
    }

    public var changed: Int { creates + updates + deletes }
    public var description: String { "\(creates) created, \(updates) updated, \(deletes) deleted, \(unchanged) unchanged" }
}

/// One history row: everything about one sync, kept in Berth's own store.
public struct SyncRecord: Sendable, Codable, Hashable {
    public enum State: String, Sendable, Codable { case queued, running, applied, finished }

    public var id: Int64
    public var source: String
    /// Every trigger that was collapsed into this sync, first one first.
    public var triggers: [SyncTrigger]
    public var forced: Bool
    public var state: State
    public var result: SyncResult?
    public var reason: String?
    /// The commit git was at.
    public var commit: CommitInfo?
    /// The commit whose objects this sync made live (differs from `commit`
    /// when a pinned or last-good revision was held).
    public var deployedCommit: String?
    public var previousCommit: String?
    /// For rollbacks: the commit and sync whose objects were re-applied.
    public var rolledBackTo: String?
    public var rolledBackToSync: Int64?
    public var queued: Date
    public var started: Date?
    public var ended: Date?
    public var plan: PlanSummary?
    public var changes: [ObjectChangeRecord]
    public var rollouts: [RolloutOutcome]
    public var warnings: [String]
    /// Steps with times, for `berth history show`.
    public var events: [String]
    /// The plan was non-empty with the commit already deployed: live changes were reverted.
    public var driftCorrected: Bool
    /// Consecutive no-op syncs compacted into this row.
    public var count: Int
    /// Content-hash key of the desired object set that is live after this sync (nil if nothing was applied).
    public var objectSet: String?

    public init(id: Int64, source: String, trigger: SyncTrigger, forced: Bool, queued: Date) {
        self.id = id
        self.source = source
        self.triggers = [trigger]
        self.forced = forced
        self.state = .queued
        self.queued = queued
        self.changes = []
        self.rollouts = []
        self.warnings = []
        self.events = []
        self.driftCorrected = false
        self.count = 1
    }

    public var trigger: SyncTrigger { triggers.first ?? .manual }

    public var duration: Double? {
        guard let started, let ended else { return nil }
        return ended.timeIntervalSince(started)
    }

    /// `succeeded`, `failed: reason`, `rolled back to abc123`, `no-op`.
    public var resultText: String {
        switch result {
        case .succeeded?: return driftCorrected ? "succeeded (drift corrected)" : "succeeded"
        case .failed?: return "failed" + (reason.map { ": \($0)" } ?? "")
        case .rolledBack?: return "rolled back to \(rolledBackTo.map { String($0.prefix(12)) } ?? "?")"
        case .noop?: return count > 1 ? "no-op (×\(count))" : "no-op"
        case .superseded?: return "superseded"
        case .interrupted?: return "interrupted"
        case nil: return state.rawValue
        }
    }

    mutating func log(_ text: String, at date: Date = Date()) {
        events.append("\(ISOTime.string(date)) \(text)")
    }
}

enum ISOTime {
    static func string(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }
}
