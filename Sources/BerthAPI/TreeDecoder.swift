import Foundation

/// Decodes a typed view (`Pod`, `ReplicaSet` …) straight from a `JSONValue`
/// tree, with the results Foundation's JSONDecoder gives for the same JSON
/// (its default strategies: Data as base64, URL as a string, Date as a number).
/// `JSONValue.decode` is built on it.
///
/// Why: printing the tree to JSON bytes and parsing them again (what
/// `JSONValue.decode` did before) cost a quarter of the server's CPU time in
/// a 10-replica rollout (bench/rollout): the controllers decode every object
/// they list on every reconcile. Walking the tree skips both steps.
enum TreeDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try TreeDecoding.decode(T.self, value, nil)
    }
}

/// The coding path as a linked list: built only when an error needs it.
final class TreePath {
    let parent: TreePath?
    let key: any CodingKey

    init(_ parent: TreePath?, _ key: any CodingKey) {
        self.parent = parent
        self.key = key
    }

    static func keys(_ path: TreePath?) -> [any CodingKey] {
        var keys: [any CodingKey] = []
        var node = path
        while let current = node {
            keys.append(current.key)
            node = current.parent
        }
        return keys.reversed()
    }
}

struct TreeIndexKey: CodingKey {
    var stringValue: String { "Index \(index)" }
    var intValue: Int? { index }
    let index: Int
    init(index: Int) { self.index = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.index = intValue }
}

struct TreeDecoding: Decoder {
    let value: JSONValue
    let path: TreePath?
    var codingPath: [any CodingKey] { TreePath.keys(path) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else {
            throw Self.mismatch([String: JSONValue].self, value, path)
        }
        return KeyedDecodingContainer(TreeKeyedContainer<Key>(fields: fields, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw Self.mismatch([JSONValue].self, value, path) }
        return TreeUnkeyedContainer(items: items, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        TreeSingleValueContainer(value: value, path: path)
    }

    // MARK: Scalars, shared by the containers

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: TreePath?) -> DecodingError {
        if value == .null {
            return .valueNotFound(type, .init(codingPath: TreePath.keys(path),
                                              debugDescription: "Expected \(type) value but found null instead."))
        }
        return .typeMismatch(type, .init(codingPath: TreePath.keys(path), debugDescription: "Expected to decode \(type) but found \(value) instead."))
    }

    static func string(_ value: JSONValue, _ path: TreePath?) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, value, path) }
        return text
    }

    static func bool(_ value: JSONValue, _ path: TreePath?) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, path) }
        return flag
    }

    static func double(_ value: JSONValue, _ path: TreePath?) throws -> Double {
        switch value {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: throw mismatch(Double.self, value, path)
        }
    }

    static func integer<I: FixedWidthInteger>(_ type: I.Type, _ value: JSONValue, _ path: TreePath?) throws -> I {
        switch value {
        case .int(let number):
            if let exact = I(exactly: number) { return exact }
        case .double(let number):
            if let exact = I(exactly: number) { return exact }
        default:
            throw mismatch(I.self, value, path)
        }
        throw DecodingError.dataCorrupted(.init(codingPath: TreePath.keys(path),
                                                debugDescription: "Parsed JSON number <\(value)> does not fit in \(I.self)."))
    }

    /// Decodes `T` from `value`, with the scalar cases done without a nested decoder.
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ path: TreePath?) throws -> T {
        if T.self == String.self, let text = try string(value, path) as? T { return text }
        if T.self == Int.self, let number = try integer(Int.self, value, path) as? T { return number }
        if T.self == Bool.self, let flag = try bool(value, path) as? T { return flag }
        if T.self == JSONValue.self, let tree = value as? T { return tree }
        if T.self == Double.self, let number = try double(value, path) as? T { return number }
        // JSONDecoder's defaults for the Foundation types it special-cases.
        if T.self == Data.self {
            guard let data = Data(base64Encoded: try string(value, path)), let result = data as? T else {
                throw DecodingError.dataCorrupted(.init(codingPath: TreePath.keys(path), debugDescription: "Encountered Data is not valid Base64."))
            }
            return result
        }
        if T.self == URL.self {
            guard let url = URL(string: try string(value, path)), let result = url as? T else {
                throw DecodingError.dataCorrupted(.init(codingPath: TreePath.keys(path), debugDescription: "Invalid URL string."))
            }
            return result
        }
        return try T(from: TreeDecoding(value: value, path: path))
    }
}

struct TreeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    let path: TreePath?
    var codingPath: [any CodingKey] { TreePath.keys(path) }
    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: TreePath.keys(path),
                                                       debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try TreeDecoding.bool(value(key), TreePath(path, key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try TreeDecoding.string(value(key), TreePath(path, key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try TreeDecoding.double(value(key), TreePath(path, key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try TreeDecoding.double(value(key), TreePath(path, key))) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try TreeDecoding.integer(Int.self, value(key), TreePath(path, key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try TreeDecoding.integer(Int8.self, value(key), TreePath(path, key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try TreeDecoding.integer(Int16.self, value(key), TreePath(path, key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try TreeDecoding.integer(Int32.self, value(key), TreePath(path, key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try TreeDecoding.integer(Int64.self, value(key), TreePath(path, key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try TreeDecoding.integer(UInt.self, value(key), TreePath(path, key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try TreeDecoding.integer(UInt8.self, value(key), TreePath(path, key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try TreeDecoding.integer(UInt16.self, value(key), TreePath(path, key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try TreeDecoding.integer(UInt32.self, value(key), TreePath(path, key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try TreeDecoding.integer(UInt64.self, value(key), TreePath(path, key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try TreeDecoding.decode(T.self, value(key), TreePath(path, key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = fields[key.stringValue], value != .null else { return nil }
        return try TreeDecoding.decode(T.self, value, TreePath(path, key))
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = fields[key.stringValue], value != .null else { return nil }
        return try TreeDecoding.string(value, TreePath(path, key))
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let value = fields[key.stringValue], value != .null else { return nil }
        return try TreeDecoding.integer(Int.self, value, TreePath(path, key))
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let value = fields[key.stringValue], value != .null else { return nil }
        return try TreeDecoding.bool(value, TreePath(path, key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoding(value: value(key), path: TreePath(path, key)).container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoding(value: value(key), path: TreePath(path, key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoding(value: fields["super"] ?? .null, path: path)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoding(value: fields[key.stringValue] ?? .null, path: TreePath(path, key))
    }
}

struct TreeUnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let path: TreePath?
    var currentIndex = 0
    var codingPath: [any CodingKey] { TreePath.keys(path) }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [JSONValue], path: TreePath?) {
        self.items = items
        self.path = path
    }

    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, TreePath) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: TreePath.keys(path) + [TreeIndexKey(index: currentIndex)],
                                                            debugDescription: "Unkeyed container is at end."))
        }
        let value = items[currentIndex]
        let itemPath = TreePath(path, TreeIndexKey(index: currentIndex))
        currentIndex += 1
        return (value, itemPath)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw DecodingError.valueNotFound(Any?.self, .init(codingPath: codingPath, debugDescription: "Unkeyed container is at end.")) }
        if items[currentIndex] == .null {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let (value, path) = try next(type); return try TreeDecoding.bool(value, path) }
    mutating func decode(_ type: String.Type) throws -> String { let (value, path) = try next(type); return try TreeDecoding.string(value, path) }
    mutating func decode(_ type: Double.Type) throws -> Double { let (value, path) = try next(type); return try TreeDecoding.double(value, path) }
    mutating func decode(_ type: Float.Type) throws -> Float { let (value, path) = try next(type); return Float(try TreeDecoding.double(value, path)) }
    mutating func decode(_ type: Int.Type) throws -> Int { let (value, path) = try next(type); return try TreeDecoding.integer(Int.self, value, path) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let (value, path) = try next(type); return try TreeDecoding.integer(Int8.self, value, path) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let (value, path) = try next(type); return try TreeDecoding.integer(Int16.self, value, path) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let (value, path) = try next(type); return try TreeDecoding.integer(Int32.self, value, path) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let (value, path) = try next(type); return try TreeDecoding.integer(Int64.self, value, path) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let (value, path) = try next(type); return try TreeDecoding.integer(UInt.self, value, path) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (value, path) = try next(type); return try TreeDecoding.integer(UInt8.self, value, path) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let (value, path) = try next(type); return try TreeDecoding.integer(UInt16.self, value, path) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let (value, path) = try next(type); return try TreeDecoding.integer(UInt32.self, value, path) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let (value, path) = try next(type); return try TreeDecoding.integer(UInt64.self, value, path) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next(type)
        return try TreeDecoding.decode(T.self, value, path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next([String: JSONValue].self)
        return try TreeDecoding(value: value, path: path).container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next([JSONValue].self)
        return try TreeDecoding(value: value, path: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next(JSONValue.self)
        return TreeDecoding(value: value, path: path)
    }
}

struct TreeSingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let path: TreePath?
    var codingPath: [any CodingKey] { TreePath.keys(path) }

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try TreeDecoding.bool(value, path) }
    func decode(_ type: String.Type) throws -> String { try TreeDecoding.string(value, path) }
    func decode(_ type: Double.Type) throws -> Double { try TreeDecoding.double(value, path) }
    func decode(_ type: Float.Type) throws -> Float { Float(try TreeDecoding.double(value, path)) }
    func decode(_ type: Int.Type) throws -> Int { try TreeDecoding.integer(Int.self, value, path) }
    func decode(_ type: Int8.Type) throws -> Int8 { try TreeDecoding.integer(Int8.self, value, path) }
    func decode(_ type: Int16.Type) throws -> Int16 { try TreeDecoding.integer(Int16.self, value, path) }
    func decode(_ type: Int32.Type) throws -> Int32 { try TreeDecoding.integer(Int32.self, value, path) }
    func decode(_ type: Int64.Type) throws -> Int64 { try TreeDecoding.integer(Int64.self, value, path) }
    func decode(_ type: UInt.Type) throws -> UInt { try TreeDecoding.integer(UInt.self, value, path) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try TreeDecoding.integer(UInt8.self, value, path) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try TreeDecoding.integer(UInt16.self, value, path) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try TreeDecoding.integer(UInt32.self, value, path) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try TreeDecoding.integer(UInt64.self, value, path) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try TreeDecoding.decode(T.self, value, path) }
}
