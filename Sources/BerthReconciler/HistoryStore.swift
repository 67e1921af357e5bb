import BerthAPI
import BerthManifests
import BerthStore
import Crypto
import Foundation
import GRDB

/// The reconciler's tables in Berth's store: one row per sync, the desired
/// object set of every sync that applied something (deduplicated by content
/// hash, so that 1,000 syncs of 1,000 mostly unchanged objects cost little),
/// and a small state row per source (last fetched commit, failed commit, pin).
///
/// Rollback reads objects from here, never from git, so it works while the
/// git server is down.
public enum HistoryStore {
    /// Added after the store's own migrations; keep the identifier stable.
    public static let migrations: [StoreMigration] = [
        StoreMigration("reconciler-v1-history") { db in
            try db.execute(sql: """
                CREATE TABLE reconciler_sync (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    state TEXT NOT NULL,
                    result TEXT,
                    commit_sha TEXT,
                    body TEXT NOT NULL
                );
                CREATE INDEX reconciler_sync_by_source ON reconciler_sync (source, id);
                CREATE TABLE reconciler_blob (
                    hash TEXT PRIMARY KEY NOT NULL,
                    body TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE reconciler_object_set (
                    hash TEXT PRIMARY KEY NOT NULL,
                    members TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE reconciler_source (
                    name TEXT PRIMARY KEY NOT NULL,
                    body TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        },
    ]

    // MARK: - Sync rows

    static func insert(_ db: Database, source: String, trigger: SyncTrigger, forced: Bool, now: Date = Date()) throws -> SyncRecord {
        try db.execute(sql: "INSERT INTO reconciler_sync (source, state, body) VALUES (?, 'queued', '{}')", arguments: [source])
        var record = SyncRecord(id: db.lastInsertedRowID, source: source, trigger: trigger, forced: forced, queued: now)
        record.log("queued by \(trigger.rawValue)\(forced ? " (forced)" : "")", at: now)
        try save(db, record)
        return record
    }

    static func save(_ db: Database, _ record: SyncRecord) throws {
        try db.execute(
            sql: "UPDATE reconciler_sync SET state = ?, result = ?, commit_sha = ?, body = ? WHERE id = ?",
            arguments: [record.state.rawValue, record.result?.rawValue, record.commit?.sha, try encode(record), record.id])
    }

    static func record(_ db: Database, id: Int64) throws -> SyncRecord? {
        guard let body = try String.fetchOne(db, sql: "SELECT body FROM reconciler_sync WHERE id = ?", arguments: [id]) else { return nil }
        return try decode(SyncRecord.self, body)
    }

    /// Newest first.
    static func records(_ db: Database, source: String?, limit: Int) throws -> [SyncRecord] {
        let bodies: [String]
        if let source {
            bodies = try String.fetchAll(db, sql: "SELECT body FROM reconciler_sync WHERE source = ? ORDER BY id DESC LIMIT ?", arguments: [source, limit])
        } else {
            bodies = try String.fetchAll(db, sql: "SELECT body FROM reconciler_sync ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
        return try bodies.map { try decode(SyncRecord.self, $0) }
    }

    /// Finished syncs that left a known object set live, newest first: the
    /// candidates for a rollback.
    static func deployedRecords(_ db: Database, source: String, limit: Int = 200) throws -> [SyncRecord] {
        let bodies = try String.fetchAll(db, sql: """
            SELECT body FROM reconciler_sync WHERE source = ? AND state = 'finished' AND result IN ('succeeded', 'noop')
            ORDER BY id DESC LIMIT ?
            """, arguments: [source, limit])
        return try bodies.map { try decode(SyncRecord.self, $0) }.filter { $0.objectSet != nil }
    }

    /// What a sync needs to know of the source's newest deployed row (the
    /// first of ``deployedRecords(_:source:limit:)``): its id, the commit it
    /// made live and its object set.
    struct DeployedHead: Sendable, Hashable {
        var id: Int64
        /// `deployedCommit`, else the commit git was at.
        var commit: String?
        var objectSet: String
    }

    /// The newest deployed row's head, read with SQLite's `json_extract`
    /// instead of decoding the row: a cold sync's row lists every object it
    /// created (1,000 changes are ~25 ms of `JSONDecoder` in a release
    /// build), and every later sync starts by asking for it.
    static func lastDeployed(_ db: Database, source: String) throws -> DeployedHead? {
        let row = try Row.fetchOne(db, sql: """
            SELECT id, json_extract(body, '$.deployedCommit'), json_extract(body, '$.commit.sha'), json_extract(body, '$.objectSet')
            FROM reconciler_sync
            WHERE source = ? AND state = 'finished' AND result IN ('succeeded', 'noop')
              AND json_extract(body, '$.objectSet') IS NOT NULL
            ORDER BY id DESC LIMIT 1
            """, arguments: [source])
        guard let row else { return nil }
        let deployed: String? = row[1]
        let sha: String? = row[2]
        let objectSet: String = row[3]
        return DeployedHead(id: row[0], commit: deployed ?? sha, objectSet: objectSet)
    }

    /// Rows left `queued`, `running` or `applied` by a process that died.
    static func markInterrupted(_ db: Database, now: Date = Date()) throws -> [SyncRecord] {
        let bodies = try String.fetchAll(db, sql: "SELECT body FROM reconciler_sync WHERE state != 'finished'")
        var marked: [SyncRecord] = []
        for body in bodies {
            var record = try decode(SyncRecord.self, body)
            record.state = .finished
            record.result = .interrupted
            record.ended = now
            record.log("interrupted: berth serve stopped before the sync finished; the next sync converges", at: now)
            for index in record.rollouts.indices where record.rollouts[index].result == .superseded {
                record.rollouts[index].result = .interrupted
            }
            try save(db, record)
            marked.append(record)
        }
        return marked
    }

    /// Compacts a finished no-op into the source's previous row when that is
    /// a no-op of the same commit: the previous row goes, its count and start
    /// carry over, so the id that was handed out stays valid.
    static func compactNoop(_ db: Database, _ record: inout SyncRecord) throws {
        guard record.result == .noop else { return }
        guard let body = try String.fetchOne(db, sql: """
            SELECT body FROM reconciler_sync WHERE source = ? AND id < ? AND state = 'finished' ORDER BY id DESC LIMIT 1
            """, arguments: [record.source, record.id]) else { return }
        let previous = try decode(SyncRecord.self, body)
        guard Compaction.canMerge(previous: previous, into: record) else { return }
        Compaction.merge(previous: previous, into: &record)
        try db.execute(sql: "DELETE FROM reconciler_sync WHERE id = ?", arguments: [previous.id])
    }

    /// Keeps the newest `retention` rows per source (and every row a pin or
    /// the last good sync needs), then drops object sets and blobs nothing
    /// refers to any more.
    static func applyRetention(_ db: Database, source: String, retention: Int) throws {
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM reconciler_sync WHERE source = ?", arguments: [source]) ?? 0
        guard count > retention else { return }
        let keep = Set(try deployedRecords(db, source: source, limit: 1).map(\.id) + [try state(db, source: source).pinnedSync].compactMap { $0 })
        let ids = try Int64.fetchAll(db, sql: "SELECT id FROM reconciler_sync WHERE source = ? ORDER BY id DESC LIMIT -1 OFFSET ?", arguments: [source, retention])
        for id in ids where !keep.contains(id) {
            try db.execute(sql: "DELETE FROM reconciler_sync WHERE id = ?", arguments: [id])
        }
        try collectGarbage(db)
    }

    static func collectGarbage(_ db: Database) throws {
        let bodies = try String.fetchAll(db, sql: "SELECT body FROM reconciler_sync")
        var sets: Set<String> = []
        for body in bodies {
            if let set = try decode(SyncRecord.self, body).objectSet { sets.insert(set) }
        }
        var blobs: Set<String> = []
        for row in try Row.fetchAll(db, sql: "SELECT hash, members FROM reconciler_object_set") {
            let hash: String = row["hash"]
            if sets.contains(hash) {
                blobs.formUnion(try decode([String].self, row["members"]))
            } else {
                try db.execute(sql: "DELETE FROM reconciler_object_set WHERE hash = ?", arguments: [hash])
            }
        }
        for hash in try String.fetchAll(db, sql: "SELECT hash FROM reconciler_blob") where !blobs.contains(hash) {
            try db.execute(sql: "DELETE FROM reconciler_blob WHERE hash = ?", arguments: [hash])
        }
    }

    // MARK: - Object sets

    /// Stores `objects` (normalized desired trees) and returns the set's key.
    static func putObjectSet(_ db: Database, _ objects: [(hash: String, tree: JSONValue)]) throws -> String {
        let members = objects.map(\.hash)
        let setHash = ObjectSetHash.of(members)
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM reconciler_object_set WHERE hash = ?", arguments: [setHash]) == true {
            return setHash
        }
        // Most objects are unchanged since the last set: encode and insert only new ones.
        let existing = try Set(String.fetchAll(db, sql: "SELECT hash FROM reconciler_blob"))
        let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO reconciler_blob (hash, body) VALUES (?, ?)")
        for object in objects where !existing.contains(object.hash) {
            try insert.execute(arguments: [object.hash, CanonicalJSON.string(object.tree)])
        }
        try db.execute(sql: "INSERT INTO reconciler_object_set (hash, members) VALUES (?, ?)",
                       arguments: [setHash, try membersText(members)])
        return setHash
    }

    /// An object set's `members` column: the JSON array of its members'
    /// content hashes, as `JSONEncoder` writes it. Hex needs no escaping, so
    /// it is joined by hand (`JSONEncoder` took ~2 ms of every sync of 1,000
    /// objects); anything else still goes through the encoder.
    static func membersText(_ members: [String]) throws -> String {
        let isHex = members.allSatisfy { $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } }
        guard isHex else { return String(decoding: try JSONEncoder().encode(members), as: UTF8.self) }
        return "[" + members.map { "\"" + $0 + "\"" }.joined(separator: ",") + "]"
    }

    static func objectSet(_ db: Database, _ setHash: String) throws -> [JSONValue] {
        guard let members = try String.fetchOne(db, sql: "SELECT members FROM reconciler_object_set WHERE hash = ?", arguments: [setHash]) else {
            throw BerthError(.notFound, "the object set \(setHash) is gone from history", hint: "it was removed by retention")
        }
        return try decode([String].self, members).map { hash in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM reconciler_blob WHERE hash = ?", arguments: [hash]) else {
                throw BerthError(.storeCorrupt, "history object \(hash) is missing")
            }
            return try decode(JSONValue.self, body)
        }
    }

    // MARK: - Source state

    static func state(_ db: Database, source: String) throws -> SourceState {
        guard let body = try String.fetchOne(db, sql: "SELECT body FROM reconciler_source WHERE name = ?", arguments: [source]) else {
            return SourceState()
        }
        return try decode(SourceState.self, body)
    }

    static func saveState(_ db: Database, source: String, _ state: SourceState) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO reconciler_source (name, body) VALUES (?, ?)", arguments: [source, try encode(state)])
    }

    // MARK: - Coding

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }
}

/// What the reconciler remembers about a source between syncs.
public struct SourceState: Sendable, Codable, Hashable {
    /// The commit of the last successful fetch (what `berth drift --offline` uses).
    public var lastFetchedCommit: String?
    /// A commit whose sync failed; not retried until a newer commit or `--force`.
    public var failedCommit: String?
    /// `berth rollback`: this sync's objects are held until `berth sync --resume`.
    public var pinnedSync: Int64?
    public var pinnedCommit: String?
    /// Objects that differed from git at the last sync or drift check.
    public var driftCount: Int
    public var lastDriftCheck: Date?

    public init() { driftCount = 0 }
}

/// Which no-op rows fold together.
enum Compaction {
    static func canMerge(previous: SyncRecord, into record: SyncRecord) -> Bool {
        previous.result == .noop && record.result == .noop && previous.commit?.sha == record.commit?.sha
            && previous.deployedCommit == record.deployedCommit && previous.warnings == record.warnings
    }

    static func merge(previous: SyncRecord, into record: inout SyncRecord) {
        record.count += previous.count
        record.queued = previous.queued
        record.started = previous.started ?? record.started
        var triggers = previous.triggers
        for trigger in record.triggers where !triggers.contains(trigger) { triggers.append(trigger) }
        record.triggers = triggers
        record.events = Array((previous.events + record.events).suffix(20))
    }
}

enum ObjectSetHash {
    static func of(_ members: [String]) -> String {
        ContentHash.hex(SHA256.hash(data: Data(members.sorted().joined(separator: "\n").utf8)))
    }
}
