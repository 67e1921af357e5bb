import BerthAPI
import Foundation
import GRDB

/// Reads of the `object` table through the `ObjectCache`: the query runs as
/// before, but a row's `body` is read and decoded only when the cache has no
/// entry for its (key, resourceVersion). GRDB's cursor rows read columns
/// lazily, and SQLite does not load a column nobody asks for, so a cache hit
/// costs the index walk and a dictionary lookup.
///
/// `fill` says whether rows read here may go into the cache: true on a
/// read snapshot (committed data), false inside a write transaction, which
/// sees its own uncommitted rows.
enum ObjectRows {
    /// Column order of every query below.
    static let columns = "namespace, name, resource_version, uid, generation, creation_timestamp, deletion_timestamp, body"

    // MARK: - Trees

    static func fetch(_ db: Database, _ key: ObjectKey, cache: ObjectCache?, fill: Bool) throws -> StoredObject? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(columns) FROM object WHERE api_version = ? AND kind = ? AND namespace = ? AND name = ?
            """)
        let cursor = try Row.fetchCursor(statement, arguments: [key.apiVersion, key.kind, key.namespace, key.name])
        guard let row = try cursor.next() else { return nil }
        let version: Int64 = row[2]
        if let hit = cache?.entry(key), hit.resourceVersion == version, let stored = hit.stored { return stored }
        let stored = try decode(row, key: key)
        if fill { cache?.merge(ObjectCache.Bucket(key), [key.name: .init(resourceVersion: version, stored: stored, treeWanted: true)]) }
        return stored
    }

    static func fetchAll(
        _ db: Database, apiVersion: String, kind: String, namespace: String?, selector: LabelSelector?,
        cache: ObjectCache?, fill: Bool
    ) throws -> [StoredObject] {
        var objects: [StoredObject] = []
        try scan(db, apiVersion: apiVersion, kind: kind, namespace: namespace, cache: cache, fill: fill) { row, key, entry in
            if let stored = entry?.stored { return (stored, nil) }
            let stored = try decode(row, key: key)
            return (stored, ObjectCache.Entry(resourceVersion: stored.resourceVersion, stored: stored, treeWanted: true))
        } keep: { (stored: StoredObject) in
            objects.append(stored)
        }
        guard let selector else { return objects }
        return objects.filter { selector.matches($0.labels) }
    }

    // MARK: - Typed views

    static func fetch<T: Decodable & Sendable>(
        _ type: T.Type, _ db: Database, _ key: ObjectKey, cache: ObjectCache?, fill: Bool
    ) throws -> T? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(columns) FROM object WHERE api_version = ? AND kind = ? AND namespace = ? AND name = ?
            """)
        let cursor = try Row.fetchCursor(statement, arguments: [key.apiVersion, key.kind, key.namespace, key.name])
        guard let row = try cursor.next() else { return nil }
        return try typedView(T.self, row, key: key, cache: cache, fill: fill, decoder: JSONDecoder())
    }

    /// A row's typed view: the cached one of the row's version, or decoded
    /// from its text (and cached, with `fill`).
    private static func typedView<T: Decodable & Sendable>(
        _ type: T.Type, _ row: Row, key: ObjectKey, cache: ObjectCache?, fill: Bool, decoder: JSONDecoder
    ) throws -> T {
        let version: Int64 = row[2]
        let hit = cache?.entry(key).flatMap { $0.resourceVersion == version ? $0 : nil }
        if let typed = hit?.typed(T.self) { return typed }
        let value: T = try decodeTyped(row, key: key, decoder: decoder)
        if fill { cache?.putTyped(value, key: key, resourceVersion: version) }
        return value
    }

    static func fetchAll<T: Decodable & Sendable>(
        _ type: T.Type, _ db: Database, apiVersion: String, kind: String, namespace: String?,
        cache: ObjectCache?, fill: Bool
    ) throws -> [T] {
        var values: [T] = []
        let decoder = JSONDecoder()
        try scan(db, apiVersion: apiVersion, kind: kind, namespace: namespace, cache: cache, fill: fill) { row, key, entry in
            if let typed = entry?.typed(T.self) { return (typed, nil) }
            let value: T = try decodeTyped(row, key: key, decoder: decoder)
            return (value, ObjectCache.Entry(resourceVersion: row[2], view: value, viewType: ObjectIdentifier(T.self)))
        } keep: { (value: T) in
            values.append(value)
        }
        return values
    }

    /// Typed views of the objects of one kind in one namespace whose
    /// controller (the owner reference marked `controller: true`) has
    /// `ownerUID`, or, when `ownerUID` is nil, of those that have no
    /// controller: through the owner index, so that a controller's pass
    /// reads what it controls, not every object of the kind.
    static func fetchControlled<T: Decodable & Sendable>(
        _ type: T.Type, _ db: Database, apiVersion: String, kind: String, namespace: String, controller ownerUID: String?,
        cache: ObjectCache?, fill: Bool
    ) throws -> [T] {
        guard let ownerUID else {
            // Names first, from the (kind, namespace, uid) index alone: the
            // rows (most of them controlled, each ~1 KB or more) are not
            // read. Usually none. Without statistics SQLite would walk the
            // table by primary key instead, hence INDEXED BY.
            let names = try String.fetchAll(db.cachedStatement(sql: """
                SELECT name FROM object INDEXED BY object_by_kind_namespace_uid
                WHERE kind = ? AND namespace = ? AND api_version = ?
                    AND NOT EXISTS (SELECT 1 FROM owner_reference WHERE dependent_uid = uid AND controller = 1)
                ORDER BY name
                """), arguments: [kind, namespace, apiVersion])
            return try names.compactMap { name in
                try fetch(T.self, db, ObjectKey(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name),
                          cache: cache, fill: fill)
            }
        }
        let statement = try db.cachedStatement(sql: """
            SELECT \(columns) FROM owner_reference CROSS JOIN object ON uid = dependent_uid
            WHERE owner_uid = ? AND controller = 1 AND api_version = ? AND kind = ? AND namespace = ?
            ORDER BY name
            """)
        // CROSS JOIN keeps SQLite's join order: the owner's references
        // first, then each object by uid, not every object of the kind.
        let arguments: StatementArguments = [ownerUID, apiVersion, kind, namespace]
        var values: [T] = []
        let decoder = JSONDecoder()
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() {
            let key = ObjectKey(apiVersion: apiVersion, kind: kind, namespace: namespace, name: row[1])
            values.append(try typedView(T.self, row, key: key, cache: cache, fill: fill, decoder: decoder))
        }
        return values
    }

    // MARK: - Internals

    /// Walks the rows of a kind (in one namespace or all), in namespace and
    /// name order, giving `read` each row with the cache entry of the same
    /// version (if any); what `read` decoded goes into the cache, and the
    /// cache forgets objects the walk did not meet.
    private static func scan<V>(
        _ db: Database, apiVersion: String, kind: String, namespace: String?, cache: ObjectCache?, fill: Bool,
        read: (Row, ObjectKey, ObjectCache.Entry?) throws -> (V, ObjectCache.Entry?),
        keep: (V) -> Void
    ) throws {
        let statement: Statement
        let arguments: StatementArguments
        if let namespace {
            statement = try db.cachedStatement(sql: """
                SELECT \(columns) FROM object WHERE api_version = ? AND kind = ? AND namespace = ? ORDER BY namespace, name
                """)
            arguments = [apiVersion, kind, namespace]
        } else {
            statement = try db.cachedStatement(sql: """
                SELECT \(columns) FROM object WHERE api_version = ? AND kind = ? ORDER BY namespace, name
                """)
            arguments = [apiVersion, kind]
        }
        var known: [ObjectCache.Bucket: ObjectCache.Names] = [:]
        if let cache {
            if let namespace {
                let bucket = ObjectCache.Bucket(apiVersion: apiVersion, kind: kind, namespace: namespace)
                known = [bucket: cache.snapshot(bucket)]
            } else {
                known = cache.snapshot(apiVersion: apiVersion, kind: kind)
            }
        }
        var fresh: [ObjectCache.Bucket: ObjectCache.Names] = [:]
        var met: [ObjectCache.Bucket: [String]] = [:]
        var metKnown = 0
        var bucket = ObjectCache.Bucket(apiVersion: apiVersion, kind: kind, namespace: namespace ?? "")
        var names: ObjectCache.Names = known[bucket] ?? [:]
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() {
            let rowNamespace: String = row[0]
            if rowNamespace != bucket.namespace {
                bucket.namespace = rowNamespace
                names = known[bucket] ?? [:]
            }
            let name: String = row[1]
            let version: Int64 = row[2]
            let key = ObjectKey(apiVersion: apiVersion, kind: kind, namespace: rowNamespace, name: name)
            let cached = names[name]
            if cached != nil { metKnown += 1 }
            let (value, decoded) = try read(row, key, cached.flatMap { $0.resourceVersion == version ? $0 : nil })
            keep(value)
            if fill {
                met[bucket, default: []].append(name)
                if let decoded { fresh[bucket, default: [:]][name] = decoded }
            }
        }
        guard fill, let cache else { return }
        // Entries of objects the walk did not meet are of deleted objects.
        let stale = metKnown < known.values.reduce(0) { $0 + $1.count }
        // Let go of the snapshot first, so that merging does not copy the buckets.
        known = [:]
        names = [:]
        for (bucket, entries) in fresh { cache.merge(bucket, entries) }
        guard stale else { return }
        if let namespace {
            let bucket = ObjectCache.Bucket(apiVersion: apiVersion, kind: kind, namespace: namespace)
            cache.retain(bucket, present: Set(met[bucket] ?? []))
        } else {
            cache.retain(apiVersion: apiVersion, kind: kind, present: met.mapValues { Set($0) })
        }
    }

    static func decode(_ row: Row, key: ObjectKey) throws -> StoredObject {
        StoredObject(
            key: key, uid: row[3], resourceVersion: row[2], generation: row[4],
            creationTimestamp: row[5], deletionTimestamp: row[6],
            object: try JSONCoding.decode(row[7]))
    }

    /// A typed view, straight from the stored JSON text: one parse, where
    /// going through the tree (even a cached one) costs text → tree → JSON → value.
    private static func decodeTyped<T: Decodable>(_ row: Row, key: ObjectKey, decoder: JSONDecoder) throws -> T {
        let body: String = row[7]
        do {
            return try decoder.decode(T.self, from: Data(body.utf8))
        } catch {
            throw BerthError(.internal, "stored object does not decode as \(T.self)", object: key.description, cause: error)
        }
    }
}
