import GRDB

/// A schema migration another module (the reconciler's history tables, for
/// instance) wants run in the store's database, after the store's own.
///
/// Identifiers must be unique and should carry the module's name
/// (`reconciler-v1-history`). Every process that opens the database for
/// writing must pass the same list: an applied migration this binary does
/// not know means the database was written by a newer Berth, and opening it
/// fails with `storeTooNew`.
public struct StoreMigration: Sendable {
    public var identifier: String
    public var migrate: @Sendable (Database) throws -> Void

    public init(_ identifier: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.identifier = identifier
        self.migrate = migrate
    }
}

/// The store's own schema.
enum StoreSchema {
    /// Prefix of the store's own migration identifiers.
    static let prefix = "store-"

    static func migrations() -> [StoreMigration] {
        [
            StoreMigration("store-v1") { db in
                try db.execute(sql: """
                    CREATE TABLE store_meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value INTEGER NOT NULL
                    );
                    INSERT INTO store_meta (key, value) VALUES ('revision', 0);

                    CREATE TABLE object (
                        api_version TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        namespace TEXT NOT NULL,
                        name TEXT NOT NULL,
                        uid TEXT NOT NULL UNIQUE,
                        resource_version INTEGER NOT NULL,
                        generation INTEGER NOT NULL,
                        creation_timestamp TEXT NOT NULL,
                        deletion_timestamp TEXT,
                        body TEXT NOT NULL,
                        PRIMARY KEY (api_version, kind, namespace, name)
                    ) WITHOUT ROWID;
                    CREATE INDEX object_by_kind_namespace ON object (kind, namespace);

                    CREATE TABLE owner_reference (
                        owner_uid TEXT NOT NULL,
                        dependent_uid TEXT NOT NULL,
                        PRIMARY KEY (owner_uid, dependent_uid)
                    ) WITHOUT ROWID;
                    CREATE INDEX owner_reference_by_dependent ON owner_reference (dependent_uid);

                    CREATE TABLE change (
                        revision INTEGER PRIMARY KEY NOT NULL,
                        type TEXT NOT NULL,
                        api_version TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        namespace TEXT NOT NULL,
                        name TEXT NOT NULL,
                        uid TEXT NOT NULL,
                        last_state TEXT
                    );

                    CREATE TABLE event (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        namespace TEXT NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        uid TEXT NOT NULL,
                        involved_api_version TEXT NOT NULL,
                        involved_kind TEXT NOT NULL,
                        involved_namespace TEXT NOT NULL,
                        involved_name TEXT NOT NULL,
                        involved_uid TEXT NOT NULL,
                        type TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        message TEXT NOT NULL,
                        source TEXT NOT NULL,
                        count INTEGER NOT NULL,
                        first_ms INTEGER NOT NULL,
                        last_ms INTEGER NOT NULL,
                        resource_version INTEGER NOT NULL
                    );
                    CREATE INDEX event_by_involved ON event
                        (involved_kind, involved_namespace, involved_name, reason);
                    CREATE INDEX event_by_namespace ON event (namespace);
                    CREATE INDEX event_by_last ON event (last_ms);
                    """)
            },
            // Which owner reference is the controller's: controllers find the
            // objects they control, and the orphans they may adopt, through
            // this index instead of decoding every object of the kind.
            StoreMigration("store-v2-owner-controller") { db in
                try db.execute(sql: """
                    ALTER TABLE owner_reference ADD COLUMN controller INTEGER NOT NULL DEFAULT 0;
                    UPDATE owner_reference SET controller = 1 WHERE EXISTS (
                        SELECT 1 FROM object o, json_each(o.body, '$.metadata.ownerReferences') e
                        WHERE o.uid = owner_reference.dependent_uid
                            AND json_extract(e.value, '$.uid') = owner_reference.owner_uid
                            AND json_extract(e.value, '$.controller') = 1);
                    DROP INDEX owner_reference_by_dependent;
                    CREATE INDEX owner_reference_by_dependent ON owner_reference (dependent_uid, controller);
                    DROP INDEX object_by_kind_namespace;
                    CREATE INDEX object_by_kind_namespace_uid ON object (kind, namespace, uid);
                    """)
            },
        ]
    }
}
