/// Why a `JSONValue` tree is not the typed value a `JSONTreeCodable` type
/// expected, and where: `spec.argv[2]: expected a string, found a number`.
///
/// It names the kind of value found, never the value itself: state files
/// hold environment variables, which may be secrets.
public struct JSONTreeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Dotted field path with `[index]` for array items; empty for the root.
    public var path: String
    public var problem: String

    public init(path: String = "", _ problem: String) {
        self.path = path
        self.problem = problem
    }

    /// "expected <what>, found <kind of value>".
    public static func expected(_ what: String, found value: JSONValue) -> JSONTreeError {
        JSONTreeError("expected \(what), found \(value.kindDescription)")
    }

    /// This error, one level down: inside the field `key`.
    public func inField(_ key: String) -> JSONTreeError {
        JSONTreeError(path: path.isEmpty ? key : path.hasPrefix("[") ? key + path : key + "." + path, problem)
    }

    /// This error, one level down: inside item `index` of an array.
    public func inItem(_ index: Int) -> JSONTreeError {
        let item = "[" + String(index) + "]"
        return JSONTreeError(path: path.isEmpty || path.hasPrefix("[") ? item + path : item + "." + path, problem)
    }

    public var description: String { path.isEmpty ? problem : path + ": " + problem }
}

extension JSONValue {
    /// "a string", "null" …: what an error says it found.
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
