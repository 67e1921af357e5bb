/// The fields of a JSON object, read for a `JSONTreeCodable` type's
/// `init(jsonTree:)` with the rules of `JSONValue.decode` (TreeDecoder): a
/// missing required field or a value of the wrong type is an error, a missing
/// or `null` optional field is nil, fields nobody asks for are ignored.
/// Errors name the field (`spec.argv[2]: …`), prefixed on the way up.
///
/// Non-generic over the value types on purpose (see `JSONTreeCodable`): only
/// the small closures differ between fields.
public struct JSONTreeFields {
    public let fields: [String: JSONValue]

    public init(_ tree: JSONValue) throws {
        guard case .object(let fields) = tree else { throw JSONTreeError.expected("an object", found: tree) }
        self.fields = fields
    }

    /// The field `key` read by `read`; throws if it is missing (a `null` is
    /// handed to `read`, which rejects it, as TreeDecoder does).
    public func required<T>(_ key: String, _ read: (JSONValue) throws -> T) throws -> T {
        guard let value = fields[key] else { throw JSONTreeError(path: key, "required field is missing") }
        do {
            return try read(value)
        } catch let error as JSONTreeError {
            throw error.inField(key)
        }
    }

    /// The field `key` read by `read`, or nil when it is missing or `null`.
    public func optional<T>(_ key: String, _ read: (JSONValue) throws -> T) throws -> T? {
        guard let value = fields[key] else { return nil }
        if case .null = value { return nil }
        do {
            return try read(value)
        } catch let error as JSONTreeError {
            throw error.inField(key)
        }
    }

    // MARK: - The common field types

    public func string(_ key: String) throws -> String { try required(key) { try $0.treeString() } }
    public func optionalString(_ key: String) throws -> String? { try optional(key) { try $0.treeString() } }
    public func bool(_ key: String) throws -> Bool { try required(key) { try $0.treeBool() } }
    public func optionalBool(_ key: String) throws -> Bool? { try optional(key) { try $0.treeBool() } }

    public func integer<I: FixedWidthInteger>(_ key: String, as type: I.Type = I.self) throws -> I {
        try required(key) { try $0.treeInteger(I.self) }
    }

    public func optionalInteger<I: FixedWidthInteger>(_ key: String, as type: I.Type = I.self) throws -> I? {
        try optional(key) { try $0.treeInteger(I.self) }
    }

    public func strings(_ key: String) throws -> [String] { try required(key) { try $0.treeStrings() } }
    public func optionalStrings(_ key: String) throws -> [String]? { try optional(key) { try $0.treeStrings() } }
    public func stringMap(_ key: String) throws -> [String: String] { try required(key) { try $0.treeStringMap() } }
    public func optionalStringMap(_ key: String) throws -> [String: String]? { try optional(key) { try $0.treeStringMap() } }

    /// A nested `JSONTreeCodable` value.
    public func tree<T: JSONTreeCodable>(_ key: String, as type: T.Type = T.self) throws -> T {
        try required(key) { try T(jsonTree: $0) }
    }

    public func optionalTree<T: JSONTreeCodable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        try optional(key) { try T(jsonTree: $0) }
    }

    /// An array of nested `JSONTreeCodable` values.
    public func trees<T: JSONTreeCodable>(_ key: String, as type: T.Type = T.self) throws -> [T] {
        try required(key) { try $0.treeArray(of: "objects") { try T(jsonTree: $0) } }
    }

    public func optionalTrees<T: JSONTreeCodable>(_ key: String, as type: T.Type = T.self) throws -> [T]? {
        try optional(key) { try $0.treeArray(of: "objects") { try T(jsonTree: $0) } }
    }
}
