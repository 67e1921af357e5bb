import BerthAPI

/// A digest is a JSON string, `"sha256:<hex>"`, checked as `init(parsing:)`
/// checks it. Hand-written for the reason given at `JSONTreeCodable`.
extension OCIDigest: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let text = try jsonTree.treeString()
        do {
            try self.init(parsing: text)
        } catch let error as BerthError {
            throw JSONTreeError(error.message)
        }
    }

    public var jsonTree: JSONValue { .string(description) }
}
