import Foundation

/// A JSON (or YAML) tree that keeps every field it was given.
///
/// Berth stores objects as trees rather than as typed structs so that fields
/// it does not model (affinity, tolerations …) are never silently dropped,
/// as the Kubernetes API server does. Typed views (`Deployment`, `Pod` …) are
/// decoded from the tree when a controller needs them.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

// MARK: - Access

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        get {
            if case .object(let fields) = self { return fields[key] }
            return nil
        }
        set {
            guard case .object(var fields) = self else { return }
            fields[key] = newValue
            self = .object(fields)
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value: return Int(exactly: value)
        default: return nil
        }
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

// MARK: - Shared storage

extension JSONValue {
    /// This value, with every subtree that equals the one at the same place
    /// in `other` taken from `other`. The result equals `self`; where the
    /// two agree they share their dictionaries and arrays (copy-on-write),
    /// so that two long-lived trees derived from one another (a manifest and
    /// its normalized form) cost one copy, not two.
    public func sharingStorage(with other: JSONValue) -> JSONValue {
        switch (self, other) {
        case (.object(let mine), .object(let theirs)):
            if mine == theirs { return other }
            var shared = mine
            for (key, value) in mine {
                guard let counterpart = theirs[key] else { continue }
                shared[key] = value.sharingStorage(with: counterpart)
            }
            return .object(shared)
        case (.array(let mine), .array(let theirs)):
            if mine == theirs { return other }
            var shared = mine
            for index in mine.indices where index < theirs.count {
                shared[index] = mine[index].sharingStorage(with: theirs[index])
            }
            return .array(shared)
        case (.string, .string):
            return self == other ? other : self
        default:
            return self
        }
    }
}

// MARK: - Typed conversion

extension JSONValue {
    /// Converts any `Encodable` value into a tree: the tree JSONEncoder's
    /// bytes would parse to, built directly (``TreeEncoder``).
    public init(encoding value: some Encodable) throws {
        self = try TreeEncoder.encode(value)
    }

    /// Decodes a typed view of this tree, as JSONDecoder would decode its
    /// bytes, without printing them (``TreeDecoder``). Fields the type does
    /// not model are ignored by the view but stay in the tree.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try TreeDecoder.decode(T.self, from: self)
    }

    /// Canonical JSON: sorted keys, no insignificant white space. Two trees
    /// that mean the same produce the same bytes, which makes this the input
    /// of content hashes.
    public func canonicalJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: every case maps to JSON.
        return (try? encoder.encode(self)) ?? Data()
    }
}
