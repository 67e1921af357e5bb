/// One challenge of a `WWW-Authenticate` header (RFC 7235):
/// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`
/// or `Basic realm="registry"`. Registries send exactly one; the parser
/// still reads a list, because the grammar allows it.
public struct RegistryAuthChallenge: Sendable, Hashable {
    /// Lowercased: `bearer`, `basic`.
    public var scheme: String
    /// Parameter names lowercased.
    public var parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme.lowercased()
        self.parameters = parameters
    }

    /// Every challenge in the header values, in order. Malformed trailing
    /// parts are ignored rather than fatal: a registry that cannot quote is
    /// still a registry.
    public static func parse(_ values: [String]) -> [RegistryAuthChallenge] {
        values.flatMap { parse($0) }
    }

    public static func parse(_ header: String) -> [RegistryAuthChallenge] {
        var scanner = Scanner(Array(header.utf8))
        var result: [RegistryAuthChallenge] = []
        while true {
            scanner.skip(while: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: ",") })
            guard let scheme = scanner.token() else { break }
            var challenge = RegistryAuthChallenge(scheme: scheme, parameters: [:])
            // auth-params: name = (token | quoted-string), separated by commas.
            while true {
                let mark = scanner.position
                scanner.skip(while: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: ",") })
                guard let name = scanner.token() else { scanner.position = mark; break }
                scanner.skip(while: { $0 == UInt8(ascii: " ") })
                guard scanner.consume(UInt8(ascii: "=")) else {
                    // A token without '=' starts the next challenge.
                    scanner.position = mark
                    break
                }
                scanner.skip(while: { $0 == UInt8(ascii: " ") })
                let value = scanner.peek == UInt8(ascii: "\"") ? scanner.quoted() : scanner.token(allowingEquals: true)
                challenge.parameters[name.lowercased()] = value ?? ""
            }
            result.append(challenge)
            if scanner.atEnd { break }
        }
        return result
    }

    /// A tiny byte scanner for the header grammar.
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[position] }

        mutating func skip(while predicate: (UInt8) -> Bool) {
            while let byte = peek, predicate(byte) { position += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            position += 1
            return true
        }

        static func isTokenByte(_ byte: UInt8, allowingEquals: Bool) -> Bool {
            if byte == UInt8(ascii: "=") { return allowingEquals }
            if byte <= 32 || byte >= 127 { return false }
            return !"\"(),/:;<>?@[\\]{}".utf8.contains(byte) || (allowingEquals && "/:".utf8.contains(byte))
        }

        mutating func token(allowingEquals: Bool = false) -> String? {
            let start = position
            while let byte = peek, Self.isTokenByte(byte, allowingEquals: allowingEquals) { position += 1 }
            return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
        }

        mutating func quoted() -> String {
            position += 1  // opening quote
            var value: [UInt8] = []
            while let byte = peek {
                position += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\"), let next = peek {
                    position += 1
                    value.append(next)
                } else {
                    value.append(byte)
                }
            }
            return String(decoding: value, as: UTF8.self)
        }
    }
}
