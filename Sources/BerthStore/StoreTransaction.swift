import BerthAPI
import Foundation
import GRDB

/// The write side of the store, valid only inside `Store.transaction`.
///
/// Every method runs synchronously on the writer connection; everything done
/// through one `StoreTransaction` commits together. `database` is GRDB's
/// connection for callers that keep their own rows in the same database and
/// want them in the same commit (the reconciler's history row).
public final class StoreTransaction {
    /// GRDB's connection, inside the open transaction.
    public let database: Database
    let retention: EventRetention
    private var revision: Int64?
    /// Looked up (never filled: this transaction's rows are not committed yet).
    let cache: ObjectCache?
    /// What this transaction wrote and removed, for the cache after the commit.
    private(set) var written: [ObjectKey: StoredObject] = [:]
    private(set) var removed: Set<ObjectKey> = []

    init(database: Database, retention: EventRetention, cache: ObjectCache?) {
        self.database = database
        self.retention = retention
        self.cache = cache
    }

    /// The object at `key` as this transaction sees it, decoded only when
    /// the cache does not hold its version.
    private func fetch(_ key: ObjectKey) throws -> StoredObject? {
        try ObjectRows.fetch(database, key, cache: cache, fill: false)
    }

    // MARK: - Reads inside the transaction

    /// The object at `key` as this transaction sees it.
    public func get(_ key: ObjectKey) throws -> StoredObject? {
        try fetch(key)
    }

    /// Objects of one kind, as in `Store.list`.
    public func list(
        apiVersion: String, kind: String, namespace: String? = nil, labelSelector: LabelSelector? = nil
    ) throws -> [StoredObject] {
        try ObjectRows.fetchAll(
            database, apiVersion: apiVersion, kind: kind, namespace: namespace, selector: labelSelector,
            cache: cache, fill: false)
    }

    /// `list` for a kind Berth knows.
    public func list(_ kind: ResourceKind, namespace: String? = nil, labelSelector: LabelSelector? = nil) throws -> [StoredObject] {
        try list(apiVersion: kind.apiVersion, kind: kind.rawValue, namespace: namespace, labelSelector: labelSelector)
    }

    // MARK: - Create

    /// Creates an object from its tree (`apiVersion`, `kind`,
    /// `metadata.name` or `metadata.generateName`, optional
    /// `metadata.namespace` — "default" for namespaced kinds when absent).
    /// Sets uid, resourceVersion, generation 1 and creationTimestamp;
    /// ignores any such fields the caller sent.
    ///
    /// - Throws: `alreadyExists`, `invalidArgument` for a missing or invalid
    ///   name, kind or apiVersion.
    @discardableResult
    public func create(_ object: JSONValue, now: Date = Date()) throws -> StoredObject {
        var (key, tree) = try Self.identify(object)
        if key.name.isEmpty {
            guard let prefix = tree["metadata"]?["generateName"]?.stringValue, !prefix.isEmpty else {
                throw BerthError(.invalidArgument, "\(key.kind) has neither metadata.name nor metadata.generateName", hint: "give the object a name")
            }
            key.name = try uniqueName(prefix: prefix, key: key)
            tree["metadata"]?["name"] = .string(key.name)
        }
        try Self.validateName(key.name, what: "name", key: key)
        if !key.namespace.isEmpty { try Self.validateName(key.namespace, what: "namespace", key: key) }
        if try fetch(key) != nil {
            throw BerthError(.alreadyExists, "\(key) already exists", hint: "update it instead, or delete it first", object: key.description)
        }
        let rv = try nextRevision()
        let uid = UUID().uuidString.lowercased()
        let created = Timestamp.string(now)
        var meta = tree["metadata"]?.objectValue ?? [:]
        meta["uid"] = .string(uid)
        meta["resourceVersion"] = .string(String(rv))
        meta["generation"] = .int(1)
        meta["creationTimestamp"] = .string(created)
        meta["deletionTimestamp"] = nil
        tree["metadata"] = .object(meta)
        let stored = StoredObject(
            key: key, uid: uid, resourceVersion: rv, generation: 1, creationTimestamp: created,
            deletionTimestamp: nil, object: tree)
        try database.executeCached(sql: """
                INSERT INTO object (api_version, kind, namespace, name, uid, resource_version, generation,
                    creation_timestamp, deletion_timestamp, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
                """,
            arguments: [key.apiVersion, key.kind, key.namespace, key.name, uid, rv, 1, created, JSONCoding.encode(tree)])
        try writeOwnerReferences(stored)
        try recordChange(.added, stored, revision: rv)
        written[key] = stored
        removed.remove(key)
        return stored
    }

    // MARK: - Update

    /// Replaces an object's spec and metadata (labels, annotations,
    /// ownerReferences, finalizers …) with those of `object`. Server-set
    /// metadata and `status` are kept from the stored object.
    ///
    /// - If `object` carries `metadata.resourceVersion` and it is not the
    ///   stored one → `BerthError(.conflict)`: re-read and retry.
    /// - `generation` is bumped when the spec changed.
    /// - An identical update is a no-op (same resourceVersion, no event).
    /// - Removing the last finalizer of an object being deleted deletes it.
    @discardableResult
    public func update(_ object: JSONValue) throws -> StoredObject {
        let (key, incoming) = try Self.identify(object)
        guard let current = try fetch(key) else {
            throw BerthError(.notFound, "\(key) not found", hint: "create it first", object: key.description)
        }
        try checkPrecondition(incoming, current: current)

        var tree = incoming
        var meta = tree["metadata"]?.objectValue ?? [:]
        meta["uid"] = .string(current.uid)
        meta["creationTimestamp"] = .string(current.creationTimestamp)
        meta["deletionTimestamp"] = current.deletionTimestamp.map(JSONValue.string)
        meta["namespace"] = key.namespace.isEmpty ? nil : .string(key.namespace)
        meta["generateName"] = current.object["metadata"]?["generateName"]
        tree["status"] = current.object["status"]
        let specChanged = Self.specPart(tree) != Self.specPart(current.object)
        let generation = current.generation + (specChanged ? 1 : 0)
        meta["generation"] = .int(Int(generation))
        meta["resourceVersion"] = .string(String(current.resourceVersion))
        tree["metadata"] = .object(meta)
        if tree == current.object { return current }

        if current.deletionTimestamp != nil, (meta["finalizers"]?.arrayValue ?? []).isEmpty {
            var last = current
            last.object = tree
            try remove(last, propagation: .background)
            return last
        }
        return try write(current, tree: tree, generation: generation)
    }

    /// Replaces only `status` with `object`'s; everything else is kept.
    /// Does not bump `generation`. Same conflict rule as `update`.
    @discardableResult
    public func updateStatus(_ object: JSONValue) throws -> StoredObject {
        let (key, incoming) = try Self.identify(object)
        guard let current = try fetch(key) else {
            throw BerthError(.notFound, "\(key) not found", object: key.description)
        }
        try checkPrecondition(incoming, current: current)
        var tree = current.object
        tree["status"] = incoming["status"]
        if tree == current.object { return current }
        return try write(current, tree: tree, generation: current.generation)
    }

    /// Creates the object, or updates it unconditionally (ignoring any
    /// `resourceVersion` it carries) when it exists — what `kubectl apply`
    /// and the reconciler want. Reports whether anything changed.
    @discardableResult
    public func apply(_ object: JSONValue) throws -> (StoredObject, ApplyOutcome) {
        let (key, identified) = try Self.identify(object)
        guard !key.name.isEmpty, let current = try fetch(key) else {
            return (try create(object), .created)
        }
        var tree = identified
        tree["metadata"]?["resourceVersion"] = nil
        let updated = try update(tree)
        return (updated, updated.resourceVersion == current.resourceVersion ? .unchanged : .updated)
    }

    // MARK: - Delete

    /// Deletes the object at `key`.
    ///
    /// With finalizers, the object is only marked (`deletionTimestamp`, a
    /// `modified` event); whoever owns a finalizer removes it with `update`
    /// when its cleanup is done, and that removes the object. Otherwise the
    /// object is removed (a `deleted` event carrying its last state) and its
    /// dependents are handled by `propagation`. Deleting a Namespace deletes
    /// everything in it.
    ///
    /// - Parameter resourceVersion: if given and not current → `conflict`.
    /// - Returns: the object as it was last (removed) or as marked.
    @discardableResult
    public func delete(
        _ key: ObjectKey, propagation: DeletePropagation = .background, resourceVersion: Int64? = nil, now: Date = Date()
    ) throws -> StoredObject {
        guard let current = try fetch(key) else {
            throw BerthError(.notFound, "\(key) not found", object: key.description)
        }
        if let resourceVersion, resourceVersion != current.resourceVersion {
            throw Self.conflict(key, current: current.resourceVersion, sent: resourceVersion)
        }
        if !current.finalizers.isEmpty {
            if current.deletionTimestamp != nil { return current }
            var tree = current.object
            tree["metadata"]?["deletionTimestamp"] = .string(Timestamp.string(now))
            return try write(current, tree: tree, generation: current.generation)
        }
        try remove(current, propagation: propagation)
        return current
    }

    // MARK: - Internals

    /// Writes a new version of an existing object.
    private func write(_ current: StoredObject, tree: JSONValue, generation: Int64) throws -> StoredObject {
        let rv = try nextRevision()
        var tree = tree
        tree["metadata"]?["resourceVersion"] = .string(String(rv))
        let deletion = tree["metadata"]?["deletionTimestamp"]?.stringValue
        let key = current.key
        try database.executeCached(sql: """
                UPDATE object SET resource_version = ?, generation = ?, deletion_timestamp = ?, body = ?
                WHERE api_version = ? AND kind = ? AND namespace = ? AND name = ?
                """,
            arguments: [rv, generation, deletion, JSONCoding.encode(tree), key.apiVersion, key.kind, key.namespace, key.name])
        let stored = StoredObject(
            key: key, uid: current.uid, resourceVersion: rv, generation: generation,
            creationTimestamp: current.creationTimestamp, deletionTimestamp: deletion, object: tree)
        if tree["metadata"]?["ownerReferences"] != current.object["metadata"]?["ownerReferences"] { try writeOwnerReferences(stored) }
        try recordChange(.modified, stored, revision: rv)
        written[key] = stored
        return stored
    }

    /// Removes the row and cascades.
    private func remove(_ object: StoredObject, propagation: DeletePropagation) throws {
        let key = object.key
        try database.executeCached(sql: "DELETE FROM object WHERE api_version = ? AND kind = ? AND namespace = ? AND name = ?",
            arguments: [key.apiVersion, key.kind, key.namespace, key.name])
        try database.executeCached(sql: "DELETE FROM owner_reference WHERE dependent_uid = ?", arguments: [object.uid])
        let rv = try nextRevision()
        try recordChange(.deleted, object, revision: rv)
        written[key] = nil
        removed.insert(key)

        let dependents = try Self.fetchDependents(database, ownerUID: object.uid)
        try database.executeCached(sql: "DELETE FROM owner_reference WHERE owner_uid = ?", arguments: [object.uid])
        for dependent in dependents {
            switch propagation {
            case .background, .foreground:
                // A dependent may have gone already through another path of the cascade.
                if try fetch(dependent.key) != nil {
                    try delete(dependent.key, propagation: propagation)
                }
            case .orphan:
                guard let fresh = try fetch(dependent.key) else { continue }
                var tree = fresh.object
                let kept = fresh.ownerReferences.filter { $0.uid != object.uid }
                tree["metadata"]?["ownerReferences"] = kept.isEmpty ? nil : try JSONValue(encoding: kept)
                _ = try write(fresh, tree: tree, generation: fresh.generation)
            }
        }
        if key.kind == "Namespace" && key.apiVersion == "v1" {
            let rows = try database.fetchAllCached(sql: "SELECT api_version, kind, name FROM object WHERE namespace = ?", arguments: [key.name])
            for row in rows {
                let inner = ObjectKey(apiVersion: row["api_version"], kind: row["kind"], namespace: key.name, name: row["name"])
                if try fetch(inner) != nil { try delete(inner, propagation: propagation) }
            }
            try database.executeCached(sql: "DELETE FROM event WHERE namespace = ?", arguments: [key.name])
        }
    }

    private func checkPrecondition(_ incoming: JSONValue, current: StoredObject) throws {
        guard let sent = incoming["metadata"]?["resourceVersion"] else { return }
        let value: Int64?
        switch sent {
        case .string(let text): value = text.isEmpty ? nil : Int64(text)
        case .int(let number): value = Int64(number)
        case .null: return
        default: value = nil
        }
        guard let value else {
            throw BerthError(.invalidArgument, "metadata.resourceVersion must be a number, got \(sent)", object: current.key.description)
        }
        if value != current.resourceVersion {
            throw Self.conflict(current.key, current: current.resourceVersion, sent: value)
        }
    }

    static func conflict(_ key: ObjectKey, current: Int64, sent: Int64) -> BerthError {
        BerthError(
            .conflict,
            "the object has been modified (resourceVersion is \(current), the change was made against \(sent))",
            hint: "read the object again and re-apply your change to the latest version",
            object: key.description)
    }

    func nextRevision() throws -> Int64 {
        let current = try revision ?? Store.revision(database)
        let next = current + 1
        revision = next
        try database.executeCached(sql: "UPDATE store_meta SET value = ? WHERE key = 'revision'", arguments: [next])
        return next
    }

    private func recordChange(_ type: ChangeEvent.ChangeType, _ object: StoredObject, revision: Int64) throws {
        let key = object.key
        let lastState = type == .deleted ? JSONCoding.encode(object.object) : nil
        try database.executeCached(sql: """
                INSERT INTO change (revision, type, api_version, kind, namespace, name, uid, last_state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [revision, type.rawValue, key.apiVersion, key.kind, key.namespace, key.name, object.uid, lastState])
        if revision % 1000 == 0 {
            try database.executeCached(sql: "DELETE FROM change WHERE revision <= ?", arguments: [revision - Store.changeRetention])
        }
    }

    private func writeOwnerReferences(_ object: StoredObject) throws {
        try database.executeCached(sql: "DELETE FROM owner_reference WHERE dependent_uid = ?", arguments: [object.uid])
        for reference in object.object["metadata"]?["ownerReferences"]?.arrayValue ?? [] {
            guard let uid = reference["uid"]?.stringValue else { continue }
            let controller = reference["controller"] == .bool(true)
            // A repeated uid keeps the row that says "controller".
            try database.executeCached(
                sql: """
                    INSERT INTO owner_reference (owner_uid, dependent_uid, controller) VALUES (?, ?, ?)
                    ON CONFLICT (owner_uid, dependent_uid) DO UPDATE SET controller = max(controller, excluded.controller)
                    """,
                arguments: [uid, object.uid, controller])
        }
    }

    private func uniqueName(prefix: String, key: ObjectKey) throws -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        for _ in 0..<16 {
            let suffix = String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
            var candidate = key
            candidate.name = prefix + suffix
            if try fetch(candidate) == nil { return candidate.name }
        }
        throw BerthError(.alreadyExists, "cannot generate a free name with prefix \(prefix)", object: key.description)
    }

    // MARK: - Static helpers shared with Store's reads

    /// Extracts the key of a tree and normalizes its namespace.
    static func identify(_ object: JSONValue) throws -> (ObjectKey, JSONValue) {
        guard case .object = object else {
            throw BerthError(.invalidArgument, "an object must be a JSON/YAML mapping")
        }
        guard let apiVersion = object["apiVersion"]?.stringValue, !apiVersion.isEmpty else {
            throw BerthError(.invalidArgument, "object has no apiVersion", hint: "add e.g. `apiVersion: v1`")
        }
        guard let kind = object["kind"]?.stringValue, !kind.isEmpty else {
            throw BerthError(.invalidArgument, "object has no kind", hint: "add e.g. `kind: ConfigMap`")
        }
        guard let meta = object["metadata"]?.objectValue else {
            throw BerthError(.invalidArgument, "\(kind) has no metadata", hint: "add metadata.name")
        }
        let name = meta["name"]?.stringValue ?? ""
        var namespace = meta["namespace"]?.stringValue ?? ""
        let namespaced = ResourceKind(apiVersion: apiVersion, kind: kind)?.isNamespaced ?? !namespace.isEmpty
        if namespaced && namespace.isEmpty { namespace = "default" }
        if !namespaced { namespace = "" }
        var tree = object
        tree["metadata"]?["namespace"] = namespace.isEmpty ? nil : .string(namespace)
        return (ObjectKey(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name), tree)
    }

    /// Names follow Kubernetes' DNS-1123 subdomain rule.
    static func validateName(_ name: String, what: String, key: ObjectKey) throws {
        let allowed = name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 }
        let edges = name.first.map { $0.isLetter || $0.isNumber } == true && name.last.map { $0.isLetter || $0.isNumber } == true
        if name.isEmpty || name.count > 253 || !allowed || !edges {
            throw BerthError(
                .invalidArgument, "invalid \(what) \"\(name)\"",
                hint: "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
                object: key.description)
        }
    }

    /// What `generation` tracks: the tree without metadata and status.
    static func specPart(_ tree: JSONValue) -> JSONValue {
        guard case .object(var fields) = tree else { return tree }
        fields["metadata"] = nil
        fields["status"] = nil
        return .object(fields)
    }

    static func fetchDependents(_ db: Database, ownerUID: String) throws -> [StoredObject] {
        try db.fetchAllCached(sql: """
                SELECT o.api_version, o.kind, o.namespace, o.name, o.uid, o.resource_version, o.generation,
                    o.creation_timestamp, o.deletion_timestamp, o.body
                FROM owner_reference r JOIN object o ON o.uid = r.dependent_uid
                WHERE r.owner_uid = ? ORDER BY o.kind, o.namespace, o.name
                """,
            arguments: [ownerUID]
        ).map(decodeRow)
    }

    static func decodeRow(_ row: Row) throws -> StoredObject {
        StoredObject(
            key: ObjectKey(apiVersion: row["api_version"], kind: row["kind"], namespace: row["namespace"], name: row["name"]),
            uid: row["uid"], resourceVersion: row["resource_version"], generation: row["generation"],
            creationTimestamp: row["creation_timestamp"], deletionTimestamp: row["deletion_timestamp"],
            object: try JSONCoding.decode(row["body"]))
    }
}

extension Store {
    /// How many revisions of the change feed are kept.
    public static let changeRetention: Int64 = 50_000
}
