import BerthAPI
import Foundation
import GRDB
import Synchronization

/// Decoded objects, each tagged with the resourceVersion it was decoded at:
/// what a Kubernetes informer keeps, so that reads do not parse JSON again.
///
/// Why: every controller reconcile lists objects (a Deployment lists its
/// namespace's ReplicaSets), the rollout watcher polls, the planner reads the
/// live objects; with 1,000 objects decoding the stored JSON was most of what
/// `berth serve` did (perf: `JSONCoding.decode` and the typed decode on top).
///
/// Correctness does not rest on the cache seeing every write: a read still
/// runs its SQL query on a consistent snapshot and only skips decoding
/// `body` when the row's `resource_version` equals the cached one. A
/// resourceVersion is store-wide and never reused for committed data, so
/// (key, resourceVersion) names one content exactly — even for writes made by
/// another process. Only committed data goes in: rows read on a snapshot,
/// and a transaction's writes after its commit (a rolled-back transaction
/// may hand out the same resourceVersion again).
///
/// Memory: one entry per live object (the tree, and at most one typed view),
/// nothing for deleted objects: removed on delete and on a list that no
/// longer returns them. The tree a write left goes when a typed view of the
/// same version comes, unless the object has been read as a tree.
///
/// A `Mutex`, not an actor: lookups happen inside GRDB's synchronous read
/// closures on a Dispatch worker, where an actor cannot be awaited; the
/// critical sections are dictionary lookups and merges.
final class ObjectCache: Sendable {
    /// The objects of one kind in one namespace.
    struct Bucket: Hashable, Sendable {
        var apiVersion: String
        var kind: String
        var namespace: String

        init(_ key: ObjectKey) {
            apiVersion = key.apiVersion
            kind = key.kind
            namespace = key.namespace
        }

        init(apiVersion: String, kind: String, namespace: String) {
            self.apiVersion = apiVersion
            self.kind = kind
            self.namespace = namespace
        }
    }

    struct Entry: Sendable {
        var resourceVersion: Int64
        var stored: StoredObject?
        /// One typed view (`Deployment`, `Pod` …) of `stored`, keyed by its type.
        var view: (any Sendable)?
        var viewType: ObjectIdentifier?
        /// Someone reads this object as a tree (not only typed): its tree is
        /// kept next to a typed view, across versions.
        var treeWanted = false
    }

    typealias Names = [String: Entry]

    private let buckets = Mutex<[Bucket: Names]>([:])

    // MARK: - Lookups

    /// The entries of one bucket, to look up without holding the lock.
    func snapshot(_ bucket: Bucket) -> Names {
        buckets.withLock { $0[bucket] ?? [:] }
    }

    /// The entries of every namespace of a kind.
    func snapshot(apiVersion: String, kind: String) -> [Bucket: Names] {
        buckets.withLock { all in all.filter { $0.key.apiVersion == apiVersion && $0.key.kind == kind } }
    }

    func entry(_ key: ObjectKey) -> Entry? {
        buckets.withLock { $0[Bucket(key)]?[key.name] }
    }

    // MARK: - Filling

    /// Merges freshly decoded entries, keeping whichever of two entries is
    /// newer; an entry for the same version gains the other's views.
    func merge(_ bucket: Bucket, _ fresh: Names) {
        guard !fresh.isEmpty else { return }
        buckets.withLock { all in
            var names = all.removeValue(forKey: bucket) ?? [:]
            for (name, entry) in fresh { names[name] = Self.combine(names[name], entry) }
            all[bucket] = names
        }
    }

    /// After a list of `bucket` (or of every namespace of its kind) that
    /// returned exactly `present`: drops entries of objects that are gone.
    func retain(_ bucket: Bucket, present: Set<String>) {
        buckets.withLock { all in
            guard var names = all.removeValue(forKey: bucket) else { return }
            for name in names.keys where !present.contains(name) { names[name] = nil }
            if !names.isEmpty { all[bucket] = names }
        }
    }

    /// `retain` for a list of every namespace: buckets the list did not reach are gone.
    func retain(apiVersion: String, kind: String, present: [Bucket: Set<String>]) {
        buckets.withLock { all in
            for bucket in all.keys where bucket.apiVersion == apiVersion && bucket.kind == kind {
                guard let names = present[bucket], var entries = all.removeValue(forKey: bucket) else {
                    all[bucket] = nil
                    continue
                }
                for name in entries.keys where !names.contains(name) { entries[name] = nil }
                if !entries.isEmpty { all[bucket] = entries }
            }
        }
    }

    /// A committed transaction's writes and removals.
    func commit(written: [ObjectKey: StoredObject], removed: Set<ObjectKey>) {
        guard !written.isEmpty || !removed.isEmpty else { return }
        buckets.withLock { all in
            for key in removed where written[key] == nil {
                all[Bucket(key)]?[key.name] = nil
            }
            for (key, stored) in written {
                let bucket = Bucket(key)
                let old = all[bucket]?[key.name]
                // A write's tree is wanted if the previous version's was.
                let entry = Entry(resourceVersion: stored.resourceVersion, stored: stored, treeWanted: old?.treeWanted ?? false)
                all[bucket, default: [:]][key.name] = Self.combine(old, entry)
            }
        }
    }

    /// Adds a typed view of the object at `key` as of `resourceVersion`.
    func putTyped<T: Sendable>(_ value: T, key: ObjectKey, resourceVersion: Int64) {
        merge(Bucket(key), [key.name: Entry(resourceVersion: resourceVersion, view: value, viewType: ObjectIdentifier(T.self))])
    }

    /// Entries held (for tests and the memory figures of bench/sync).
    var count: Int { buckets.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    func removeAll() { buckets.withLock { $0 = [:] } }

    private static func combine(_ old: Entry?, _ new: Entry) -> Entry {
        guard let old else { return new }
        if old.resourceVersion > new.resourceVersion { return old }
        if old.resourceVersion < new.resourceVersion { return new }
        var merged = old
        if merged.stored == nil { merged.stored = new.stored }
        if new.stored != nil, new.view == nil { merged.treeWanted = merged.treeWanted || new.treeWanted }
        if new.view != nil {
            merged.view = new.view
            merged.viewType = new.viewType
            // Controllers write through trees and read typed views: the tree
            // of a ReplicaSet's or Pod's last write, next to the view, is a
            // second copy nobody reads (~3 MB for 500 ReplicaSets in
            // bench/sync). A tree read decodes it again, and from then on
            // the object's trees are kept (the reconciler reads Deployments
            // as trees at every sync).
            if !merged.treeWanted { merged.stored = nil }
        }
        return merged
    }
}

extension ObjectCache.Entry {
    func typed<T>(_ type: T.Type) -> T? {
        guard viewType == ObjectIdentifier(T.self) else { return nil }
        return view as? T
    }
}
