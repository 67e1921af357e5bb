/// Which earlier sync a failed rollout goes back to. Pure, so that the
/// choice is tested on its own.
public enum RollbackPolicy {
    /// The newest sync (`deployed` is newest first: finished, succeeded or
    /// no-op, with an object set) whose live objects came from another commit
    /// than `failing`. Returns nil when there is none: the failure is then
    /// only recorded, there is nothing better to go back to.
    public static func target(deployed: [SyncRecord], failing: String?) -> SyncRecord? {
        deployed.first { record in
            guard record.objectSet != nil, record.result == .succeeded || record.result == .noop else { return false }
            let live = record.deployedCommit ?? record.commit?.sha
            return live != nil && live != failing
        }
    }

    /// `berth rollback SOURCE --to X`: X is a sync id, or a commit sha (or a
    /// prefix of at least 4 digits); nil picks the newest good sync before the
    /// one that is live now.
    public static func manualTarget(deployed: [SyncRecord], to selector: String?, current: String?) -> SyncRecord? {
        guard let selector, !selector.isEmpty else {
            return target(deployed: deployed, failing: current)
        }
        if let id = Int64(selector), let match = deployed.first(where: { $0.id == id }) { return match }
        guard selector.count >= 4 else { return nil }
        let lower = selector.lowercased()
        return deployed.first { ($0.deployedCommit ?? $0.commit?.sha ?? "").hasPrefix(lower) }
    }
}
