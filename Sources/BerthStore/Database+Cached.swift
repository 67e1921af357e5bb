import GRDB

extension Database {
    /// Executes through SQLite's prepared-statement cache: the store runs the
    /// same few statements thousands of times, and preparing them (with
    /// GRDB's authorizer) cost more than running them.
    func executeCached(sql: String, arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    func fetchOneCached(sql: String, arguments: StatementArguments = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func fetchAllCached(sql: String, arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }
}
