import BerthAPI
import Foundation

/// The JSON files a container start reads and writes (state.json, the
/// image index, manifests and configs, the shim's exit file), coded through
/// BerthAPI's `JSONText` and tree coders instead of Foundation's
/// JSONDecoder/JSONEncoder.
///
/// Why: `berth run` is a fresh process each time, and Foundation's coders
/// ask the Swift runtime, for every nested type they meet, whether it
/// conforms to their private marker protocols; each first question scans the
/// binary's ~12 k conformance records. On `berth run --rm IMG true` that was
/// ~13% of the CPU samples (perf, release build) for four small files. The
/// tree coders compare types instead of casting to protocols. Output is
/// compact JSON with sorted keys; both sides read any JSON, so files written
/// by older builds (pretty-printed) still load.
///
/// The tree coders still run each type's synthesized Codable code, whose
/// first use instantiates generic containers by mangled name and so pays the
/// same conformance scan per type (`KeyedDecodingContainer<CodingKeys>`
/// needs `CodingKeys: CodingKey`). The types a start reads and writes are
/// therefore `JSONTreeCodable`: their `JSONTreeCodable` overloads below are
/// more specific than the `Decodable`/`Encodable` ones, so the compiler
/// picks the hand-written conversions with no runtime cast. Output is the
/// same text either way (the types' tests compare them).
enum RuntimeJSON {
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONText.decode(String(decoding: data, as: UTF8.self)).decode(T.self)
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        Data(JSONText.encode(try JSONValue(encoding: value)).utf8)
    }

    /// Throws `JSONText.SyntaxError` or `JSONTreeError` (naming the field).
    static func decode<T: JSONTreeCodable>(_ type: T.Type, from data: Data) throws -> T {
        try T(jsonTree: JSONText.decode(String(decoding: data, as: UTF8.self)))
    }

    static func encode<T: JSONTreeCodable>(_ value: T) -> Data {
        encodeBytes(value).withUnsafeBufferPointer { Data(buffer: $0) }
    }

    /// The same bytes as `encode`, without `Data` (`Data(string.utf8)` casts
    /// the view to a protocol at run time: one more conformance lookup).
    static func encodeBytes<T: JSONTreeCodable>(_ value: T) -> [UInt8] {
        JSONText.encodeBytes(value.jsonTree)
    }
}
