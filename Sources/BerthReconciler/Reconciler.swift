import BerthAPI
import BerthGit
import BerthManifests
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// The GitOps reconciler: one `SourceSyncer` per configured source, their
/// timers, and the questions the API and CLI ask (status, history, drift,
/// rollback). Runs as a swift-service-lifecycle Service in `berth serve`'s
/// ServiceGroup, next to the API and the orchestrator.
public final class Reconciler: ServiceLifecycle.Service, Sendable {
    public let config: BerthConfig
    public let store: Store
    public let metrics: ReconcilerMetrics
    let git: any GitSource
    let syncers: [String: SourceSyncer]
    let logger: Logger

    /// The store migrations the reconciler needs; pass them in
    /// `Store.Options.extraMigrations` of every writer.
    public static var migrations: [StoreMigration] { HistoryStore.migrations }

    /// - Parameter admissionChecks: the checks `berth serve`'s API runs on
    ///   every apply (e.g. a NodePort held by another Service). A sync runs
    ///   the same checks on every object it would create or update, so git
    ///   cannot store what `berth apply` would refuse.
    public init(config: BerthConfig, store: Store, git: any GitSource, metrics: ReconcilerMetrics = ReconcilerMetrics(),
                logger: Logger = Logger(label: "berth.reconciler"), pollInterval: Duration = .milliseconds(250),
                admissionChecks: [any AdmissionCheck] = []) {
        self.config = config
        self.store = store
        self.git = git
        self.metrics = metrics
        self.logger = logger
        var syncers: [String: SourceSyncer] = [:]
        for source in config.sources {
            syncers[source.name] = SourceSyncer(config: source, store: store, git: git, retention: config.historyRetention,
                                                metrics: metrics, logger: logger, pollInterval: pollInterval,
                                                admissionChecks: admissionChecks)
        }
        self.syncers = syncers
    }

    // MARK: - Service

    public func run() async throws {
        let interrupted = try await store.transaction { tx in try HistoryStore.markInterrupted(tx.database) }
        for record in interrupted {
            logger.warning("sync #\(record.id) of \(record.source) was interrupted by a restart; syncing again")
        }
        await withTaskGroup(of: Void.self) { group in
            for (name, syncer) in syncers {
                group.addTask { await syncer.run() }
                group.addTask { [logger] in
                    do { _ = try await syncer.request(.startup) } catch { logger.error("cannot queue the start-up sync of \(name): \(error)") }
                    await Self.timer(syncer, logger: logger)
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
            for syncer in self.syncers.values { await syncer.stop() }
        }
    }

    /// The sync loops only (no timers, no start-up sync): for tests that
    /// trigger every sync themselves. Ends when the task is cancelled.
    func runSyncLoopsForTests() async throws {
        _ = try await store.transaction { tx in try HistoryStore.markInterrupted(tx.database) }
        await withTaskGroup(of: Void.self) { group in
            for syncer in syncers.values { group.addTask { await syncer.run() } }
        }
    }

    /// The poll timer: every `interval`, ±10 % jitter so that many sources
    /// (or many Berths on one git server) do not fetch in lockstep.
    static func timer(_ syncer: SourceSyncer, logger: Logger) async {
        let interval = syncer.config.interval
        while !Task.isCancelled {
            let jitter = Double.random(in: 0.9...1.1)
            try? await Task.sleep(for: interval * jitter)
            if Task.isCancelled { return }
            do { _ = try await syncer.request(.timer) } catch { logger.warning("timer sync of \(syncer.config.name): \(error)") }
        }
    }

    // MARK: - Triggers

    public func syncer(_ name: String) throws -> SourceSyncer {
        guard let syncer = syncers[name] else {
            throw BerthError(.notFound, "no source named \"\(name)\"",
                             hint: "configured sources: \(syncers.keys.sorted().joined(separator: ", "))")
        }
        return syncer
    }

    /// Queues a sync; returns the id of its history row.
    @discardableResult
    public func sync(source: String, trigger: SyncTrigger = .manual, force: Bool = false) async throws -> Int64 {
        try await syncer(source).request(trigger, force: force)
    }

    /// Ends a pin made by `rollback` and syncs from git again.
    @discardableResult
    public func resume(source: String) async throws -> Int64 {
        let syncer = try self.syncer(source)
        try await store.transaction { tx in
            var state = try HistoryStore.state(tx.database, source: source)
            state.pinnedSync = nil
            state.pinnedCommit = nil
            try HistoryStore.saveState(tx.database, source: source, state)
        }
        return try await syncer.request(.manual, force: false)
    }

    /// Pins the source to an earlier good sync (by id or commit; nil: the
    /// one before the current) and syncs. Returns the pinned sync and the
    /// queued sync's id.
    public func rollback(source: String, to selector: String?) async throws -> (target: SyncRecord, queued: Int64) {
        let syncer = try self.syncer(source)
        let target: SyncRecord = try await store.transaction { tx in
            let deployed = try HistoryStore.deployedRecords(tx.database, source: source, limit: 1000)
            let current = deployed.first.flatMap { $0.deployedCommit ?? $0.commit?.sha }
            guard let target = RollbackPolicy.manualTarget(deployed: deployed, to: selector, current: selector == nil ? current : nil) else {
                throw BerthError(.notFound, selector.map { "no succeeded sync of \(source) matches \"\($0)\"" } ?? "no earlier succeeded sync of \(source) to roll back to",
                                 hint: "pick an id or commit from `berth history \(source)`")
            }
            var state = try HistoryStore.state(tx.database, source: source)
            state.pinnedSync = target.id
            state.pinnedCommit = target.deployedCommit ?? target.commit?.sha
            try HistoryStore.saveState(tx.database, source: source, state)
            return target
        }
        let id = try await syncer.request(.manual, force: true)
        return (target, id)
    }

    // MARK: - Questions

    public func status() async throws -> [SourceStatus] {
        var result: [SourceStatus] = []
        for source in config.sources {
            result.append(try await status(source: source.name))
        }
        return result
    }

    public func status(source name: String) async throws -> SourceStatus {
        let syncer = try self.syncer(name)
        let source = syncer.config
        let pending = await syncer.hasPending
        return try await store.read { db in
            let state = try HistoryStore.state(db, source: name)
            let last = try HistoryStore.records(db, source: name, limit: 1).first
            let lastFinished = try String.fetchOne(db, sql: "SELECT body FROM reconciler_sync WHERE source = ? AND state = 'finished' ORDER BY id DESC LIMIT 1", arguments: [name])
                .map { try HistoryStore.decode(SyncRecord.self, $0) }
            let deployed = try HistoryStore.deployedRecords(db, source: name, limit: 1).first
            return SourceStatus(
                name: name, url: Redaction.scrub(source.url), ref: source.ref, path: source.path,
                interval: DurationText.format(source.interval), prune: source.prune, selfHeal: source.selfHeal,
                webhook: source.webhookSecret != nil,
                deployedCommit: deployed.flatMap { $0.deployedCommit ?? $0.commit?.sha },
                lastFetchedCommit: state.lastFetchedCommit,
                lastSync: lastFinished?.id, lastResult: lastFinished?.resultText, lastSyncTime: lastFinished?.ended,
                syncing: last.map { $0.state != .finished } ?? false || pending,
                pinned: state.pinnedSync != nil, pinnedSync: state.pinnedSync, pinnedCommit: state.pinnedCommit,
                failedCommit: state.failedCommit, driftCount: state.driftCount)
        }
    }

    public func history(source: String?, limit: Int) async throws -> [SyncRecord] {
        if let source { _ = try syncer(source) }
        return try await store.read { db in try HistoryStore.records(db, source: source, limit: max(1, limit)) }
    }

    public func record(id: Int64) async throws -> SyncRecord {
        guard let record = try await store.read({ db in try HistoryStore.record(db, id: id) }) else {
            throw BerthError(.notFound, "sync #\(id) is not in history", hint: "it may have been compacted or removed by retention; see `berth history`")
        }
        return record
    }

    /// Desired (at `ref`, default the source's) against live. Fetches first
    /// unless `offline`, which uses the last fetched commit.
    public func drift(source name: String, ref: String? = nil, offline: Bool = false) async throws -> DriftReport {
        let syncer = try self.syncer(name)
        let report = try await syncer.drift(ref: ref, offline: offline)
        if ref == nil {
            let count = report.count
            try await store.transaction { tx in
                var state = try HistoryStore.state(tx.database, source: name)
                state.driftCount = count
                state.lastDriftCheck = Date()
                try HistoryStore.saveState(tx.database, source: name, state)
            }
            metrics.setDrift(source: name, count: count)
        }
        return report
    }

    /// Sources whose url is the same repository as `url` (a webhook payload's).
    public func sources(matchingRepository url: String) -> [SourceConfig] {
        let wanted = RepositoryURL.normalize(url)
        return config.sources.filter { RepositoryURL.normalize($0.url) == wanted }
    }
}

/// What `berth status` shows for a source.
public struct SourceStatus: Sendable, Codable, Hashable {
    public var name: String
    public var url: String
    public var ref: String
    public var path: String
    public var interval: String
    public var prune: Bool
    public var selfHeal: Bool
    public var webhook: Bool
    public var deployedCommit: String?
    public var lastFetchedCommit: String?
    public var lastSync: Int64?
    public var lastResult: String?
    public var lastSyncTime: Date?
    public var syncing: Bool
    public var pinned: Bool
    public var pinnedSync: Int64?
    public var pinnedCommit: String?
    public var failedCommit: String?
    public var driftCount: Int
}

extension SourceSyncer {
    /// The drift report for `ref` (default: the source's).
    func drift(ref: String?, offline: Bool) async throws -> DriftReport {
        let gitRef = ref.map { GitRef(parsing: $0) } ?? config.gitRef
        let mirror: GitMirror
        let commit: GitCommitID
        if offline {
            let state = try await store.read { [name = config.name] db in try HistoryStore.state(db, source: name) }
            guard let local = LibGit2Mirror.path(git, remote: config.remote) else {
                throw BerthError(.unavailable, "no local mirror for \(config.name)", hint: "run without --offline once")
            }
            mirror = local
            if ref == nil {
                guard let last = state.lastFetchedCommit, let id = GitCommitID(last) else {
                    throw BerthError(.notFound, "\(config.name) was never fetched", hint: "run without --offline")
                }
                commit = id
            } else {
                commit = try await self.git.resolve(gitRef, in: mirror).commit
            }
        } else {
            mirror = try await git.fetch(config.remote)
            commit = try await git.resolve(gitRef, in: mirror).commit
        }
        let subpath = try TreePath.normalizeSubpath(config.path)
        let files = try await git.files(at: commit, subpath: subpath, in: mirror).map { ManifestFile(path: $0.path, data: $0.contents) }
        let loaded = await ManifestLoader.loadConcurrently(files: files, options: LoadOptions(defaultNamespace: config.namespace, sourceName: config.name))
        guard loaded.isValid else {
            throw BerthError(.invalidManifest, "the manifests at \(commit.short) do not load: \(loaded.errors.first?.description ?? "")",
                             hint: "`berth render --repo … --ref \(commit.short)` lists every error")
        }
        let plan = BerthReconciler.plan(desired: loaded.objects, live: try await liveObjects(), source: config.name)
        return DriftReport(source: config.name, ref: ref ?? config.ref, commit: commit.hex, offline: offline, plan: plan)
    }
}

/// The local mirror of a remote without fetching, for `--offline`.
enum LibGit2Mirror {
    static func path(_ git: any GitSource, remote: GitRemote) -> GitMirror? {
        guard let libgit2 = git as? LibGit2Source, let path = try? libgit2.mirrorPath(for: remote),
              FileManager.default.fileExists(atPath: path.path) else { return nil }
        return GitMirror(path: path, remoteURL: remote.url)
    }
}

/// Repository URLs compared the way people write them: scheme, user,
/// `.git` and trailing slashes do not matter, host case does not matter.
public enum RepositoryURL {
    public static func normalize(_ url: String) -> String {
        var text = url.trimmingCharacters(in: .whitespacesAndNewlines)
        if let range = text.range(of: "://") {
            text = String(text[range.upperBound...])
        } else if let colon = text.firstIndex(of: ":"), !text.hasPrefix("/"), text[..<colon].contains("@") || !text[..<colon].contains("/") {
            // scp-like git@host:owner/repo
            text = text.replacingCharacters(in: colon...colon, with: "/")
        }
        if let at = text.firstIndex(of: "@"), let slash = text.firstIndex(of: "/"), at < slash {
            text = String(text[text.index(after: at)...])
        }
        while text.hasSuffix("/") { text.removeLast() }
        if text.hasSuffix(".git") { text.removeLast(4) }
        while text.hasSuffix("/") { text.removeLast() }
        if let slash = text.firstIndex(of: "/") {
            var host = String(text[..<slash]).lowercased()
            for port in [":443", ":80", ":22"] where host.hasSuffix(port) { host.removeLast(port.count) }
            text = host + text[slash...]
        }
        return text
    }
}
