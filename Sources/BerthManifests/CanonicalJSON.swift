import BerthAPI

/// Canonical JSON bytes of a tree: keys sorted (by Unicode scalar order),
/// no insignificant white space, integers without fraction, `/` unescaped.
/// The input of content hashes: two trees that mean the same give the same
/// bytes. Hand-written because it runs for every object of every sync and
/// Foundation's `JSONEncoder` is several times slower on Linux.
public enum CanonicalJSON {
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        write(value, into: &output, indent: nil, depth: 0)
        return output
    }

    /// Indented, for people (`berth render -o json`); same key order.
    public static func pretty(_ value: JSONValue, indent: Int = 4) -> String {
        var output: [UInt8] = []
        write(value, into: &output, indent: indent, depth: 0)
        return String(decoding: output, as: UTF8.self)
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }

    private static func newline(_ output: inout [UInt8], indent: Int?, depth: Int) {
        guard let indent else { return }
        output.append(0x0A)
        output.append(contentsOf: repeatElement(0x20, count: indent * depth))
    }

    static func write(_ value: JSONValue, into output: inout [UInt8], indent: Int?, depth: Int) {
        switch value {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let bool):
            output.append(contentsOf: (bool ? "true" : "false").utf8)
        case .int(let int):
            output.append(contentsOf: String(int).utf8)
        case .double(let double):
            output.append(contentsOf: format(double).utf8)
        case .string(let string):
            writeString(string, into: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            if items.isEmpty { output.append(UInt8(ascii: "]")); return }
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(&output, indent: indent, depth: depth + 1)
                write(item, into: &output, indent: indent, depth: depth + 1)
            }
            newline(&output, indent: indent, depth: depth)
            output.append(UInt8(ascii: "]"))
        case .object(let fields):
            output.append(UInt8(ascii: "{"))
            if fields.isEmpty { output.append(UInt8(ascii: "}")); return }
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(&output, indent: indent, depth: depth + 1)
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                if indent != nil { output.append(0x20) }
                // The key comes from the dictionary: the lookup cannot fail.
                write(fields[key] ?? .null, into: &output, indent: indent, depth: depth + 1)
            }
            newline(&output, indent: indent, depth: depth)
            output.append(UInt8(ascii: "}"))
        }
    }

    static func format(_ double: Double) -> String {
        guard double.isFinite else { return "null" }
        if double.rounded() == double, abs(double) < 1e15 { return String(Int(double)) }
        return String(double)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x00..<0x20:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                           hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
