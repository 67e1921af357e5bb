import BerthAPI
import Foundation
import GRDB

/// How many Kubernetes-style Events the store keeps. Events are a debugging
/// aid, not state: like the API server's one-hour TTL, old ones go.
public struct EventRetention: Sendable, Hashable {
    /// Events kept per involved object (the newest by last occurrence).
    public var maxPerObject: Int
    /// Events whose last occurrence is older than this are dropped.
    public var maxAge: Duration

    public init(maxPerObject: Int = 50, maxAge: Duration = .seconds(3600)) {
        self.maxPerObject = maxPerObject
        self.maxAge = maxAge
    }
}

/// Normal or Warning, as in Kubernetes.
public enum EventType: String, Sendable, Hashable, Codable {
    case normal = "Normal"
    case warning = "Warning"
}

extension StoreTransaction {
    /// Records an Event about an object, Kubernetes-style: the same object,
    /// type, reason and message as an existing event increments its `count`
    /// and `lastTimestamp` instead of adding a row, so a crash loop yields
    /// one line "Back-off restarting … (x42)", not 42.
    ///
    /// Never put Secret values in `message`.
    @discardableResult
    public func recordEvent(
        about involved: ObjectReference, type: EventType = .normal, reason: String, message: String,
        source: String = "berth", now: Date = Date()
    ) throws -> Event {
        let nowMS = Timestamp.milliseconds(now)
        let namespace = involved.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let rv = try nextRevision()
        let involvedNamespace = involved.namespace ?? ""
        let id: Int64
        if let row = try database.fetchOneCached(sql: """
                SELECT id FROM event WHERE involved_kind = ? AND involved_namespace = ? AND involved_name = ?
                    AND reason = ? AND involved_uid = ? AND type = ? AND message = ?
                """,
            arguments: [involved.kind, involvedNamespace, involved.name, reason, involved.uid ?? "", type.rawValue, message])
        {
            id = row["id"]
            try database.execute(
                sql: "UPDATE event SET count = count + 1, last_ms = ?, resource_version = ? WHERE id = ?",
                arguments: [nowMS, rv, id])
        } else {
            let name = "\(involved.name).\(String(UInt64(nowMS) &* 1_000_000 &+ UInt64(rv), radix: 16))"
            try database.execute(
                sql: """
                    INSERT INTO event (namespace, name, uid, involved_api_version, involved_kind, involved_namespace,
                        involved_name, involved_uid, type, reason, message, source, count, first_ms, last_ms, resource_version)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
                    """,
                arguments: [
                    namespace, name, UUID().uuidString.lowercased(), involved.apiVersion ?? "", involved.kind,
                    involvedNamespace, involved.name, involved.uid ?? "", type.rawValue, reason, message, source,
                    nowMS, nowMS, rv,
                ])
            id = database.lastInsertedRowID
        }
        try applyRetention(involved: involved, now: now)
        guard let event = try Self.fetchEvents(database, where: "id = ?", arguments: [id]).first else {
            throw BerthError(.internal, "event vanished after it was recorded")
        }
        return event
    }

    /// Records an Event about a stored object.
    @discardableResult
    public func recordEvent(
        about object: StoredObject, type: EventType = .normal, reason: String, message: String,
        source: String = "berth", now: Date = Date()
    ) throws -> Event {
        try recordEvent(
            about: object.reference, type: type, reason: reason, message: message, source: source, now: now)
    }

    private func applyRetention(involved: ObjectReference, now: Date) throws {
        let cutoff = Timestamp.milliseconds(now) - Int64(retention.maxAge.components.seconds * 1000)
        try database.executeCached(sql: "DELETE FROM event WHERE last_ms < ?", arguments: [cutoff])
        try database.execute(
            sql: """
                DELETE FROM event WHERE id IN (
                    SELECT id FROM event WHERE involved_kind = ? AND involved_namespace = ? AND involved_name = ?
                    ORDER BY last_ms DESC, id DESC LIMIT -1 OFFSET ?)
                """,
            arguments: [involved.kind, involved.namespace ?? "", involved.name, retention.maxPerObject])
    }

    /// Events, newest last (by last occurrence), in one namespace (nil: all)
    /// and optionally about one object.
    public func events(namespace: String? = nil, involving key: ObjectKey? = nil) throws -> [Event] {
        try Self.events(database, namespace: namespace, involving: key)
    }

    static func events(_ db: Database, namespace: String?, involving key: ObjectKey?) throws -> [Event] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let namespace {
            clauses.append("namespace = ?")
            _ = arguments.append(contentsOf: [namespace])
        }
        if let key {
            clauses.append("involved_kind = ? AND involved_namespace = ? AND involved_name = ?")
            _ = arguments.append(contentsOf: [key.kind, key.namespace, key.name])
        }
        return try fetchEvents(db, where: clauses.isEmpty ? "1" : clauses.joined(separator: " AND "), arguments: arguments)
    }

    static func fetchEvents(_ db: Database, where clause: String, arguments: StatementArguments) throws -> [Event] {
        try db.fetchAllCached(sql: "SELECT * FROM event WHERE \(clause) ORDER BY last_ms, id", arguments: arguments).map { row in
            var meta = ObjectMeta(name: row["name"], namespace: row["namespace"])
            meta.uid = row["uid"]
            meta.resourceVersion = String(row["resource_version"] as Int64)
            let first = Timestamp.string(Timestamp.date(milliseconds: row["first_ms"]))
            meta.creationTimestamp = first
            let involvedNamespace: String = row["involved_namespace"]
            let involvedUID: String = row["involved_uid"]
            let apiVersion: String = row["involved_api_version"]
            var event = Event(
                metadata: meta,
                involvedObject: ObjectReference(
                    apiVersion: apiVersion.isEmpty ? nil : apiVersion, kind: row["involved_kind"],
                    namespace: involvedNamespace.isEmpty ? nil : involvedNamespace, name: row["involved_name"],
                    uid: involvedUID.isEmpty ? nil : involvedUID),
                reason: row["reason"], message: row["message"], type: row["type"], count: row["count"],
                firstTimestamp: first,
                lastTimestamp: Timestamp.string(Timestamp.date(milliseconds: row["last_ms"])))
            event.source = ["component": row["source"]]
            return event
        }
    }
}

extension Store {
    /// Events in one namespace (nil: all), optionally about one object,
    /// oldest first.
    public func events(namespace: String? = nil, involving key: ObjectKey? = nil) async throws -> [Event] {
        try await read { db in try StoreTransaction.events(db, namespace: namespace, involving: key) }
    }

    /// Records one Event in its own transaction. See
    /// `StoreTransaction.recordEvent`.
    @discardableResult
    public func recordEvent(
        about involved: ObjectReference, type: EventType = .normal, reason: String, message: String,
        source: String = "berth", now: Date = Date()
    ) async throws -> Event {
        try await transaction { tx in
            try tx.recordEvent(about: involved, type: type, reason: reason, message: message, source: source, now: now)
        }
    }
}

extension StoredObject {
    /// A reference to this object, for Events and EndpointAddress targets.
    public var reference: ObjectReference {
        ObjectReference(
            apiVersion: key.apiVersion, kind: key.kind, namespace: key.namespace.isEmpty ? nil : key.namespace,
            name: key.name, uid: uid)
    }
}
