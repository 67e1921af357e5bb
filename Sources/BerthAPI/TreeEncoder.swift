import Foundation

/// Encodes a typed value straight into a `JSONValue` tree, giving the tree
/// that printing it with JSONEncoder and parsing the bytes back gives: nil
/// optionals are left out, a whole-number Double becomes `.int` (as the
/// parser reads "2.0"), Data is base64 and URL a string, and a non-finite
/// number is an error. `JSONValue(encoding:)` is built on it; the
/// controllers' writes and the store backend's three-way merge encode on
/// every update (see `TreeDecoder` for why skipping the bytes matters).
enum TreeEncoder {
    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try TreeSlot.encode(value, nil)
    }
}

/// Where an encoded value goes: finished values, or containers still
/// being filled (nested containers and super encoders write later).
enum TreeSlot {
    case value(JSONValue)
    case object(TreeObjectBox)
    case array(TreeArrayBox)
    case encoder(TreeEncoding)

    var resolved: JSONValue {
        switch self {
        case .value(let value): value
        case .object(let box): .object(box.fields.mapValues(\.resolved))
        case .array(let box): .array(box.items.map(\.resolved))
        case .encoder(let encoder): encoder.result
        }
    }

    static func number(_ value: Double, _ path: TreePath?) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: TreePath.keys(path), debugDescription: "Unable to encode Double.\(value) directly in JSON."))
        }
        if value.rounded() == value, let whole = Int(exactly: value) { return .int(whole) }
        return .double(value)
    }

    static func integer<I: BinaryInteger>(_ value: I) -> JSONValue {
        JSONValue.integer(value)
    }

    static func encode<T: Encodable>(_ value: T, _ path: TreePath?) throws -> JSONValue {
        if let tree = value as? JSONValue { return tree }
        if let text = value as? String { return .string(text) }
        if let number = value as? Int { return .int(number) }
        if let flag = value as? Bool { return .bool(flag) }
        if let double = value as? Double { return try number(double, path) }
        // JSONEncoder's defaults for the Foundation types it special-cases.
        if let data = value as? Data { return .string(data.base64EncodedString()) }
        if let url = value as? URL { return .string(url.absoluteString) }
        let encoder = TreeEncoding(path: path)
        try value.encode(to: encoder)
        return encoder.result
    }
}

final class TreeObjectBox {
    var fields: [String: TreeSlot] = [:]
}

final class TreeArrayBox {
    var items: [TreeSlot] = []
}

final class TreeEncoding: Encoder {
    let path: TreePath?
    var slot: TreeSlot?
    var codingPath: [any CodingKey] { TreePath.keys(path) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(path: TreePath?) {
        self.path = path
    }

    /// What was encoded; an empty object when nothing was (as JSONEncoder
    /// writes `{}` for a type that encodes no fields).
    var result: JSONValue { slot?.resolved ?? .object([:]) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object(let box)? = slot { return KeyedEncodingContainer(TreeKeyedEncoder<Key>(box: box, path: path)) }
        let box = TreeObjectBox()
        slot = .object(box)
        return KeyedEncodingContainer(TreeKeyedEncoder<Key>(box: box, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let box)? = slot { return TreeUnkeyedEncoder(box: box, path: path) }
        let box = TreeArrayBox()
        slot = .array(box)
        return TreeUnkeyedEncoder(box: box, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        TreeSingleValueEncoder(encoder: self)
    }
}

struct TreeKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: TreeObjectBox
    let path: TreePath?
    var codingPath: [any CodingKey] { TreePath.keys(path) }

    private func set(_ value: JSONValue, _ key: Key) { box.fields[key.stringValue] = .value(value) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try TreeSlot.number(value, TreePath(path, key)), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try TreeSlot.number(Double(value), TreePath(path, key)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(TreeSlot.integer(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(TreeSlot.integer(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try TreeSlot.encode(value, TreePath(path, key)), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = TreeObjectBox()
        box.fields[key.stringValue] = .object(nested)
        return KeyedEncodingContainer(TreeKeyedEncoder<NestedKey>(box: nested, path: TreePath(path, key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = TreeArrayBox()
        box.fields[key.stringValue] = .array(nested)
        return TreeUnkeyedEncoder(box: nested, path: TreePath(path, key))
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = TreeEncoding(path: path)
        box.fields["super"] = .encoder(encoder)
        return encoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let encoder = TreeEncoding(path: TreePath(path, key))
        box.fields[key.stringValue] = .encoder(encoder)
        return encoder
    }
}

struct TreeUnkeyedEncoder: UnkeyedEncodingContainer {
    let box: TreeArrayBox
    let path: TreePath?
    var codingPath: [any CodingKey] { TreePath.keys(path) }
    var count: Int { box.items.count }

    private func append(_ value: JSONValue) { box.items.append(.value(value)) }
    private var nextPath: TreePath { TreePath(path, TreeIndexKey(index: box.items.count)) }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try TreeSlot.number(value, nextPath)) }
    mutating func encode(_ value: Float) throws { append(try TreeSlot.number(Double(value), nextPath)) }
    mutating func encode(_ value: Int) throws { append(.int(value)) }
    mutating func encode(_ value: Int8) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: Int16) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: Int32) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: Int64) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt8) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt16) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt32) throws { append(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt64) throws { append(TreeSlot.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try TreeSlot.encode(value, nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = TreeObjectBox()
        let nestedPath = nextPath
        box.items.append(.object(nested))
        return KeyedEncodingContainer(TreeKeyedEncoder<NestedKey>(box: nested, path: nestedPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = TreeArrayBox()
        let nestedPath = nextPath
        box.items.append(.array(nested))
        return TreeUnkeyedEncoder(box: nested, path: nestedPath)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = TreeEncoding(path: nextPath)
        box.items.append(.encoder(encoder))
        return encoder
    }
}

struct TreeSingleValueEncoder: SingleValueEncodingContainer {
    let encoder: TreeEncoding
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ value: JSONValue) { encoder.slot = .value(value) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try TreeSlot.number(value, encoder.path)) }
    mutating func encode(_ value: Float) throws { set(try TreeSlot.number(Double(value), encoder.path)) }
    mutating func encode(_ value: Int) throws { set(.int(value)) }
    mutating func encode(_ value: Int8) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(TreeSlot.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(TreeSlot.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        set(try TreeSlot.encode(value, encoder.path))
    }
}
