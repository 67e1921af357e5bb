import BerthAPI
import BerthGit
import BerthManifests
import BerthStore
import Foundation
import GRDB
import Logging

/// Runs the syncs of ONE source, one at a time (an actor; its loop takes
/// one pending sync after the other, so two syncs of a source never
/// overlap), and answers questions about it.
///
/// A sync: fetch → load → plan (against the live objects) → apply the plan
/// and write the history row in ONE store transaction → watch the rollouts of
/// the Deployments it touched → on failure re-apply the objects of the last
/// good sync, taken from history (not from git).
public actor SourceSyncer {
    public let config: SourceConfig
    let store: Store
    let git: any GitSource
    let retention: Int
    let metrics: ReconcilerMetrics
    let logger: Logger
    let pollInterval: Duration
    /// The API's admission checks, run on every object a sync creates or updates.
    let admissionChecks: [any AdmissionCheck]

    private var queue = TriggerQueue()
    private var opening: Task<Int64, any Error>?
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private var lastAbandonCheck = ContinuousClock.now
    /// The commit the running sync deploys (for "a newer commit arrived").
    private var deploying: String?
    /// Parsed manifest files by path, with the bytes they were parsed from.
    private var fileCache: [String: (data: Data, result: LoadResult)] = [:]
    /// The previous plan's decisions (see ``PlanMemo``).
    private var planMemo: [ObjectKey: PlanMemo] = [:]

    init(config: SourceConfig, store: Store, git: any GitSource, retention: Int, metrics: ReconcilerMetrics,
         logger: Logger, pollInterval: Duration = .milliseconds(250), admissionChecks: [any AdmissionCheck] = []) {
        self.config = config
        self.admissionChecks = admissionChecks
        self.store = store
        self.git = git
        self.retention = retention
        self.metrics = metrics
        self.logger = logger
        self.pollInterval = pollInterval
        (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: - Triggers

    /// Queues a sync (or joins the one already pending) and returns the id
    /// of its history row.
    public func request(_ trigger: SyncTrigger, force: Bool = false) async throws -> Int64 {
        if let id = queue.join(trigger, force: force) { return id }
        if let opening {
            let id = try await opening.value
            if let joined = queue.join(trigger, force: force) { return joined }
            queue.open(id: id, trigger: trigger, force: force)
            wake.yield()
            return id
        }
        let store = self.store, name = config.name
        let task = Task {
            try await store.transaction { tx in
                try HistoryStore.insert(tx.database, source: name, trigger: trigger, forced: force).id
            }
        }
        opening = task
        defer { opening = nil }
        let id = try await task.value
        if let joined = queue.join(trigger, force: force) { return joined }
        queue.open(id: id, trigger: trigger, force: force)
        wake.yield()
        return id
    }

    /// Whether a sync is waiting to run.
    public var hasPending: Bool { !queue.isEmpty }

    /// Runs pending syncs until cancelled.
    func run() async {
        for await _ in wakeups {
            while let pending = queue.take() {
                await perform(pending)
                if Task.isCancelled { return }
            }
        }
    }

    func stop() { wake.finish() }

    // MARK: - One sync

    /// Where the desired objects of a sync come from.
    enum Desired {
        case git(GitCheckout, [ManifestObject])
        /// A history snapshot: a pin, or the last good sync held while git's commit is known to fail.
        case snapshot(SyncRecord, [ManifestObject], why: String)
    }

    func perform(_ pending: TriggerQueue.Pending) async {
        var record: SyncRecord
        do {
            guard let loaded = try await store.read({ db in try HistoryStore.record(db, id: pending.id) }) else { return }
            record = loaded
        } catch {
            logger.error("sync \(pending.id) of \(config.name): cannot read its history row: \(error)")
            return
        }
        record.triggers = pending.triggers
        record.forced = pending.force
        record.state = .running
        let started = Date()
        record.started = started
        record.log("started")
        logger.info("sync #\(record.id) of \(config.name) started", metadata: ["trigger": "\(record.triggers.map(\.rawValue))"])
        do {
            try await save(record)
            record = try await sync(record, force: pending.force)
        } catch {
            let message = (error as? BerthError)?.description ?? "\(error)"
            record.result = .failed
            record.reason = message
            record.log("failed: \(message)")
            logger.warning("sync #\(record.id) of \(config.name) failed: \(message)")
        }
        record.state = .finished
        record.ended = Date()
        deploying = nil
        let final = record
        let retention = self.retention, name = config.name
        do {
            try await store.transaction { tx in
                var row = final
                try HistoryStore.compactNoop(tx.database, &row)
                try HistoryStore.save(tx.database, row)
                try HistoryStore.applyRetention(tx.database, source: name, retention: retention)
            }
        } catch {
            logger.error("sync #\(record.id) of \(config.name): cannot record its result: \(error)")
        }
        // A sync's transient trees (a cold sync of 1,000 objects decodes,
        // normalizes and encodes each a few times) go back to the system, so
        // serve's RSS stays at what it keeps, not at the sync's peak.
        _ = berthMallocTrim(0)
        metrics.recordSync(source: name, result: record.result ?? .failed, duration: Date().timeIntervalSince(started))
        if record.result == .rolledBack { metrics.recordRollback(source: name) }
        logger.info("sync #\(record.id) of \(config.name): \(record.resultText)",
                    metadata: ["commit": "\(record.commit?.short ?? "-")", "plan": "\(record.plan?.description ?? "-")"])
    }

    private func save(_ record: SyncRecord) async throws {
        try await store.transaction { tx in try HistoryStore.save(tx.database, record) }
    }

    private func updateState(_ change: @escaping @Sendable (inout SourceState) -> Void) async throws {
        let name = config.name
        try await store.transaction { tx in
            var state = try HistoryStore.state(tx.database, source: name)
            change(&state)
            try HistoryStore.saveState(tx.database, source: name, state)
        }
    }

    /// The body of a sync; returns the record with its result set.
    func sync(_ input: SyncRecord, force: Bool) async throws -> SyncRecord {
        var record = input
        let name = config.name
        // What the sync starts from, in one read (each trip to a reader can
        // wait for a thread on a busy machine): the source's state, the newest
        // deployed row's head only (decoding rows — a cold sync's lists 1,000
        // changes — is left to the paths that roll back), and whether the
        // previous sync was interrupted.
        let id = record.id
        let (state, lastDeployed, recovering) = try await store.read { db in
            (try HistoryStore.state(db, source: name), try HistoryStore.lastDeployed(db, source: name),
             try Self.interruptedBefore(db, id: id, source: name))
        }
        record.previousCommit = lastDeployed?.commit

        // 1. What should be live.
        let desired: Desired
        if let pin = state.pinnedSync {
            let (pinned, objects) = try await snapshot(pin)
            record.commit = pinned.commit
            desired = .snapshot(pinned, objects, why: "pinned by `berth rollback` to sync #\(pin); `berth sync --resume` follows git again")
        } else {
            let checkout = try await fetch(&record)
            if let failed = state.failedCommit, failed == checkout.commit.id.hex, !force {
                guard let good = RollbackPolicy.target(deployed: try await rollbackCandidates(), failing: failed) else {
                    record.result = .noop
                    record.warnings.append("commit \(String(failed.prefix(12))) failed before and is not retried until a newer commit or `berth sync --force`")
                    return record
                }
                let (_, objects) = try await snapshot(good.id)
                desired = .snapshot(good, objects, why: "commit \(String(failed.prefix(12))) failed before; holding \(String((good.deployedCommit ?? good.commit?.sha ?? "").prefix(12))) until a newer commit or `berth sync --force`")
            } else {
                let files = checkout.files.map { ManifestFile(path: $0.path, data: $0.contents) }
                let loaded = await load(files)
                record.warnings += loaded.warnings.map(\.description)
                guard loaded.isValid else {
                    record.result = .failed
                    record.reason = "invalid manifests (\(loaded.errors.count) error\(loaded.errors.count == 1 ? "" : "s")); nothing applied"
                    record.warnings += loaded.errors.map(\.description)
                    record.log("load failed: \(loaded.errors.count) errors; nothing applied")
                    let sha = checkout.commit.id.hex
                    try await updateState { $0.failedCommit = sha }
                    return record
                }
                record.log("loaded \(loaded.objects.count) objects from \(files.count) files")
                desired = .git(checkout, loaded.objects)
                if force, state.failedCommit != nil { try await updateState { $0.failedCommit = nil } }
            }
        }
        let objects: [ManifestObject]
        switch desired {
        case .git(let checkout, let loaded):
            objects = loaded
            record.deployedCommit = checkout.commit.id.hex
        case .snapshot(let from, let loaded, let why):
            objects = loaded
            record.deployedCommit = from.deployedCommit ?? from.commit?.sha
            record.warnings.append(why)
        }
        deploying = record.commit?.sha

        // 2. Plan against the live objects.
        let live = try await liveObjects()
        var plan = Planner(source: name).plan(desired: objects, live: live, memo: &planMemo)
        if !config.prune {
            let prunable = plan.count(.delete)
            plan.items.removeAll { $0.action == .delete }
            if prunable > 0 { record.warnings.append("\(prunable) owned objects are gone from git but kept (prune: false)") }
        }
        let sameCommit = lastDeployed != nil && record.deployedCommit == lastDeployed?.commit
        record.plan = PlanSummary(plan)
        record.log("plan: \(plan.summary)")
        if plan.isEmpty {
            try await updateState { $0.driftCount = 0 }
            metrics.setDrift(source: name, count: 0)
            if !recovering || plan.items.allSatisfy({ $0.key.kind != "Deployment" }) {
                record.objectSet = try await storeObjectSet(plan)
                // Live already matching a commit not yet recorded (first sync, or history lost) still deploys it.
                record.result = sameCommit ? .noop : .succeeded
                return record
            }
            record.log("the previous sync was interrupted; watching its rollouts again")
        }
        if !plan.isEmpty && sameCommit && !config.selfHeal {
            let drift = plan.items.filter { $0.action != .unchanged }.count
            try await updateState { $0.driftCount = drift }
            metrics.setDrift(source: name, count: drift)
            record.result = .noop
            record.objectSet = lastDeployed?.objectSet
            record.warnings.append("\(drift) objects drifted from git; not reverted (selfHeal: false)")
            return record
        }
        record.driftCorrected = sameCommit && !plan.isEmpty
        if record.driftCorrected {
            record.log("self-heal: reverting \(plan.items.filter { $0.action != .unchanged }.count) live changes")
        }

        // 3. Admission: what the API would refuse on `berth apply` (a NodePort
        //    held by another Service …) fails the sync before anything is applied.
        if let refusal = await admissionRefusal(plan) {
            record.result = .failed
            record.reason = "refused by admission: \(refusal); nothing applied"
            record.log("admission refused: \(refusal); nothing applied")
            if case .git(let checkout, _) = desired {
                let sha = checkout.commit.id.hex
                try await updateState { $0.failedCommit = sha }
            }
            return record
        }

        // 4. Apply + history row, one transaction.
        record.changes = plan.items.filter { $0.action != .unchanged }.map {
            ObjectChangeRecord(action: $0.action.rawValue, object: $0.key.description, fields: $0.changes)
        }
        record = try await apply(plan, record: record, rollbackOf: nil)
        metrics.setDrift(source: name, count: 0)
        try await updateState { $0.driftCount = 0 }

        // 5. Watch the rollouts.
        let touched = recovering && plan.isEmpty
            ? plan.items.filter { $0.key.kind == "Deployment" }.map(\.key)
            : plan.items.filter { $0.key.kind == "Deployment" && ($0.action == .create || $0.action == .update) }.map(\.key)
        if touched.isEmpty {
            record.result = .succeeded
            if case .snapshot = desired {} else { try await clearFailed(record.deployedCommit) }
            return record
        }
        record.log("waiting for \(touched.count) rollouts (timeout \(DurationText.format(config.rolloutTimeout)))")
        try await save(record)
        let watcher = RolloutWatcher(store: store, failureThreshold: config.failureThreshold, pollInterval: pollInterval)
        let deployingCommit = record.commit?.sha
        let outcomes = await watcher.watch(touched, timeout: config.rolloutTimeout, rollback: false) { [weak self] in
            guard let self else { return true }
            return await self.newerCommitWaiting(than: deployingCommit)
        }
        record.rollouts = outcomes
        if outcomes.contains(where: { $0.result == .superseded }) {
            record.result = .superseded
            record.log("a newer commit arrived during the rollout; syncing it next")
            return record
        }
        if outcomes.contains(where: { $0.result == .interrupted }) {
            record.result = .interrupted
            return record
        }
        let failures = outcomes.filter { $0.result == .failed || $0.result == .timedOut }
        if failures.isEmpty {
            record.result = .succeeded
            record.log("all \(outcomes.count) rollouts available")
            if case .snapshot = desired {} else { try await clearFailed(record.deployedCommit) }
            await refreshPlanMemo(objects)
            return record
        }

        // 5. Roll back.
        let reason = failures.map { "\($0.deployment): \($0.reason ?? $0.result.rawValue)" }.joined(separator: "; ")
        record.reason = "rollout failed: \(reason)"
        record.log("rollout failed: \(reason)")
        return try await rollBack(record, deployed: try await rollbackCandidates())
    }

    /// Plans once more against the settled live objects, only to refresh
    /// the plan memo: a rollout changes what the memo keys on (the
    /// controller's update of each Deployment), and the next sync — often a
    /// webhook a user waits for — would otherwise normalize and diff every
    /// rolled-out Deployment again. The plan itself is thrown away.
    private func refreshPlanMemo(_ objects: [ManifestObject]) async {
        guard let live = try? await liveObjects() else { return }
        _ = Planner(source: config.name).plan(desired: objects, live: live, memo: &planMemo)
    }

    /// The syncs a rollback may go back to, newest first.
    private func rollbackCandidates() async throws -> [SyncRecord] {
        let name = config.name
        return try await store.read { db in try HistoryStore.deployedRecords(db, source: name, limit: 10) }
    }

    private func clearFailed(_ commit: String?) async throws {
        // A commit from git rolled out: whatever failed before is history.
        _ = commit
        try await updateState { $0.failedCommit = nil }
    }

    /// Re-applies the last good sync's objects after a failed rollout.
    func rollBack(_ input: SyncRecord, deployed: [SyncRecord]) async throws -> SyncRecord {
        var record = input
        let failing = record.deployedCommit
        guard let target = RollbackPolicy.target(deployed: deployed, failing: failing) else {
            // The first sync of a source (or every earlier one failed): nothing to go
            // back to. Say so in the result itself, not only in the log.
            record.result = .failed
            record.reason = (record.reason ?? "rollout failed") + "; not rolled back: no earlier successful sync of \(config.name) to return to"
                + " (the failed objects stay applied; push a fix or run `berth rollback` once a sync has succeeded)"
            record.warnings.append("no rollback: this source has no earlier successful sync")
            record.log("no earlier good sync to roll back to; the failed objects stay applied")
            if let failing { try await updateState { $0.failedCommit = failing } }
            return record
        }
        let (_, objects) = try await snapshot(target.id)
        var plan = BerthReconciler.plan(desired: objects, live: try await liveObjects(), source: config.name)
        if !config.prune { plan.items.removeAll { $0.action == .delete } }
        let targetCommit = target.deployedCommit ?? target.commit?.sha
        record.log("rolling back to sync #\(target.id) (\(targetCommit.map { String($0.prefix(12)) } ?? "?")): \(plan.summary)")
        record.rolledBackTo = targetCommit
        record.rolledBackToSync = target.id
        record.result = .rolledBack
        record.changes += plan.items.filter { $0.action != .unchanged }.map {
            ObjectChangeRecord(action: "rollback-" + $0.action.rawValue, object: $0.key.description, fields: $0.changes)
        }
        record = try await apply(plan, record: record, rollbackOf: failing)
        let touched = plan.items.filter { $0.key.kind == "Deployment" && ($0.action == .create || $0.action == .update) }.map(\.key)
        if !touched.isEmpty {
            let watcher = RolloutWatcher(store: store, failureThreshold: config.failureThreshold, pollInterval: pollInterval)
            let outcomes = await watcher.watch(touched, timeout: config.rolloutTimeout, rollback: true) { false }
            record.rollouts += outcomes
            let bad = outcomes.filter { $0.result != .available }
            if !bad.isEmpty { record.warnings.append("the rollback's rollouts did not all become available: \(bad.map(\.deployment).joined(separator: ", "))") }
        }
        return record
    }

    /// The first refusal of the admission checks for the objects `plan`
    /// creates or updates, with the manifest's file:line, or nil.
    private func admissionRefusal(_ plan: Plan) async -> String? {
        guard !admissionChecks.isEmpty else { return nil }
        for item in plan.items where item.action == .create || item.action == .update {
            guard let object = item.desired,
                  let kind = item.key.resourceKind else { continue }
            for check in admissionChecks {
                do {
                    try await check.admit(object, kind: kind)
                } catch var error as BerthError {
                    if error.location == nil { error.location = item.location }
                    return error.description
                } catch {
                    return "\(item.location.map { "\($0): " } ?? "")\(item.key): \(error)"
                }
            }
        }
        return nil
    }

    /// Applies `plan` and writes `record` (state applied, with the object
    /// set) in one transaction. For a rollback, also marks `rollbackOf` as
    /// the failed commit in the same transaction.
    private func apply(_ plan: Plan, record input: SyncRecord, rollbackOf failing: String?) async throws -> SyncRecord {
        let name = config.name
        let items = plan.items
        let start = ContinuousClock.now
        let (result, written) = try await store.transaction { tx in
            var record = input
            var written: [ObjectKey: JSONValue] = [:]
            for item in items {
                switch item.action {
                case .create, .update:
                    guard var desired = item.desired else { continue }
                    Self.keepServerSetAnnotations(&desired, live: item.live)
                    let (stored, outcome) = try tx.apply(desired)
                    if outcome != .unchanged { written[item.key] = stored.object }
                case .delete:
                    do {
                        try tx.delete(item.key)
                    } catch let error as BerthError where error.code == .notFound {}
                case .unchanged:
                    continue
                }
            }
            let set = try HistoryStore.putObjectSet(tx.database, items.compactMap { item in
                guard let tree = item.desired, let hash = item.hash else { return nil }
                return (hash, tree)
            })
            if failing == nil { record.objectSet = set }
            record.state = .applied
            record.log("applied: \(plan.summary)")
            try HistoryStore.save(tx.database, record)
            if let failing {
                var state = try HistoryStore.state(tx.database, source: name)
                state.failedCommit = failing
                try HistoryStore.saveState(tx.database, source: name, state)
            }
            return (record, written)
        }
        logger.debug("sync #\(result.id): plan committed in \(ContinuousClock.now - start)")
        // Committed: what was written from the plan now matches it (see PlanMemo.settle).
        if failing == nil {
            for (key, tree) in written { planMemo[key]?.settle(applied: tree) }
        }
        return result
    }

    /// The Deployment controller writes the revision annotation; applying
    /// the manifest (which has none) must not take it away.
    static func keepServerSetAnnotations(_ desired: inout JSONValue, live: JSONValue?) {
        guard let annotations = live?["metadata"]?["annotations"]?.objectValue else { return }
        for key in ObjectNormalizer.serverSetAnnotations {
            guard let value = annotations[key] else { continue }
            if desired["metadata"]?["annotations"] == nil { desired["metadata"]?["annotations"] = .object([:]) }
            desired["metadata"]?["annotations"]?[key] = value
        }
    }

    private func storeObjectSet(_ plan: Plan) async throws -> String {
        let items = plan.items
        return try await store.transaction { tx in
            try HistoryStore.putObjectSet(tx.database, items.compactMap { item in
                guard let tree = item.desired, let hash = item.hash else { return nil }
                return (hash, tree)
            })
        }
    }

    /// Whether the source's sync before `id` was interrupted after applying (its rollouts are watched again).
    private static func interruptedBefore(_ db: Database, id: Int64, source name: String) throws -> Bool {
        // The result column first: only an interrupted row's body is decoded.
        guard let previousID = try Int64.fetchOne(db, sql: """
            SELECT id FROM reconciler_sync WHERE source = ? AND id < ? AND state = 'finished' ORDER BY id DESC LIMIT 1
            """, arguments: [name, id]),
              try String.fetchOne(db, sql: "SELECT result FROM reconciler_sync WHERE id = ?", arguments: [previousID])
                == SyncResult.interrupted.rawValue,
              let body = try String.fetchOne(db, sql: "SELECT body FROM reconciler_sync WHERE id = ?", arguments: [previousID])
        else { return false }
        let previous = try HistoryStore.decode(SyncRecord.self, body)
        return previous.result == .interrupted && previous.objectSet != nil
    }

    // MARK: - Loading

    /// Loads manifests, re-parsing only files whose bytes changed since the
    /// last sync (a push that changes one file of 1,000 parses one file).
    func load(_ files: [ManifestFile]) async -> LoadResult {
        let options = LoadOptions(defaultNamespace: config.namespace, sourceName: config.name)
        let changed = files.filter { fileCache[$0.path]?.data != $0.data }
        if !changed.isEmpty {
            let results = await withTaskGroup(of: (ManifestFile, LoadResult).self) { group in
                for file in changed { group.addTask { (file, ManifestLoader.load(files: [file], options: options)) } }
                var results: [(ManifestFile, LoadResult)] = []
                for await result in group { results.append(result) }
                return results
            }
            for (file, result) in results { fileCache[file.path] = (file.data, result) }
        }
        let paths = Set(files.map(\.path))
        for path in fileCache.keys where !paths.contains(path) { fileCache[path] = nil }
        var combined = LoadResult()
        var seen: [ObjectKey: SourceLocation] = [:]
        seen.reserveCapacity(files.count)
        combined.objects.reserveCapacity(files.count)
        for file in files {
            guard let result = fileCache[file.path]?.result else { continue }
            combined.warnings += result.warnings
            combined.errors += result.errors
            for object in result.objects {
                if let first = seen[object.key] {
                    combined.errors.append(BerthError(
                        .duplicateObject, "\(object.key) is defined twice: at \(first) and at \(object.location)",
                        hint: "keep one of the two; objects are identified by kind, namespace and name",
                        location: object.location, object: object.key.description))
                    continue
                }
                seen[object.key] = object.location
                combined.objects.append(object)
            }
        }
        return combined
    }

    // MARK: - Git

    /// Fetches and reads the source's ref; records the commit.
    func fetch(_ record: inout SyncRecord) async throws -> GitCheckout {
        let checkout: GitCheckout
        do {
            checkout = try await git.checkout(config.remote, ref: config.gitRef, subpath: config.path)
        } catch let error as BerthError {
            throw BerthError(error.code, "fetch of \(config.name) failed: \(Redaction.scrub(error.message))", hint: error.hint)
        }
        let commit = checkout.commit
        record.commit = CommitInfo(sha: commit.id.hex, author: "\(commit.author.name) <\(commit.author.email)>",
                                   message: commit.summary, time: commit.time)
        record.log("fetched \(checkout.ref.name) at \(commit.id.short): \(commit.summary)")
        let sha = commit.id.hex
        try await updateState { $0.lastFetchedCommit = sha }
        return checkout
    }

    /// True when a trigger is waiting and git's ref now points at another
    /// commit than `current` (checked at most every 0.5 s).
    func newerCommitWaiting(than current: String?) async -> Bool {
        guard !queue.isEmpty, let current else { return false }
        let now = ContinuousClock.now
        guard now - lastAbandonCheck >= .milliseconds(500) else { return false }
        lastAbandonCheck = now
        do {
            let mirror = try await git.fetch(config.remote)
            let resolved = try await git.resolve(config.gitRef, in: mirror)
            return resolved.commit.hex != current
        } catch {
            return false
        }
    }

    // MARK: - Objects

    /// Every live object of a kind manifests can hold (the planner decides
    /// which are owned), not being deleted.
    ///
    /// The store's object cache decodes each object once per
    /// resourceVersion, so a sync after a one-object push decodes a handful
    /// of objects, not every object of the source; all kinds come from one
    /// snapshot (one trip to a reader, not six).
    func liveObjects() async throws -> [JSONValue] {
        try await store.list(kinds: ResourceKind.manifestKinds).compactMap { $0.deletionTimestamp == nil ? $0.object : nil }
    }

    /// The objects of a history row, as the loader would have produced them.
    func snapshot(_ id: Int64) async throws -> (SyncRecord, [ManifestObject]) {
        let result: (SyncRecord, [JSONValue]) = try await store.read { db in
            guard let record = try HistoryStore.record(db, id: id) else {
                throw BerthError(.notFound, "sync #\(id) is not in history", hint: "see `berth history`")
            }
            guard let set = record.objectSet else {
                throw BerthError(.notFound, "sync #\(id) applied nothing", hint: "pick a succeeded sync from `berth history`")
            }
            return (record, try HistoryStore.objectSet(db, set))
        }
        return (result.0, Self.manifestObjects(result.1, from: id))
    }

    static func manifestObjects(_ trees: [JSONValue], from id: Int64) -> [ManifestObject] {
        trees.compactMap { tree in
            guard let key = Planner.key(of: tree), let kind = ResourceKind(apiVersion: key.apiVersion, kind: key.kind) else { return nil }
            return ManifestObject(key: key, kind: kind, tree: tree, location: SourceLocation(file: "history #\(id)", line: 0),
                                  hash: ContentHash.of(tree))
        }
    }
}

/// glibc's malloc_trim(3): returns free heap pages to the system. Not in
/// Swift's Glibc module map (malloc.h), hence declared by symbol name.
@_silgen_name("malloc_trim")
private func berthMallocTrim(_ pad: Int) -> Int32
