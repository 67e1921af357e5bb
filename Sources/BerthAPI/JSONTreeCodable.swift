/// A `Codable` type that also converts itself to and from a `JSONValue` tree
/// by hand, without going through `Decoder`/`Encoder`.
///
/// Why: a short-lived process (`berth run --rm IMG true`) pays for Codable's
/// synthesized code the first time it touches each type. The synthesized
/// `init(from:)`/`encode(to:)` instantiate generic types by mangled name
/// (`KeyedDecodingContainer<OCIIndex.CodingKeys>`, `[String: EmptyObject]` …),
/// and the Swift runtime checks their generic requirements (`CodingKeys:
/// CodingKey`) with a linear scan over all of the binary's ~12 k protocol
/// conformance records, once per new pair. For the few files a container
/// start reads and writes, that scan was a large part of the CPU time. The
/// hand-written conversions touch only `JSONValue`, `String`, arrays and
/// dictionaries of them, whose lookups are already cached.
///
/// The tree must be exactly the one `JSONValue(encoding:)` gives for the
/// Codable form (same keys, nil optionals left out, same numbers), and
/// `init(jsonTree:)` must accept and reject what `JSONValue.decode` does;
/// the conforming types' tests compare both directions. Refining `Codable`
/// makes generic functions constrained to this protocol more specific than
/// their `Decodable`/`Encodable` overloads, so callers pick the fast path
/// statically (a dynamic `as? JSONTreeCodable` would itself be a
/// conformance lookup).
public protocol JSONTreeCodable: Codable {
    /// Reads a value from its tree; throws `JSONTreeError` naming the field.
    init(jsonTree: JSONValue) throws
    /// The tree `JSONValue(encoding: self)` gives.
    var jsonTree: JSONValue { get }
}
