import BerthAPI

/// Writes trees as block-style YAML, keys sorted as `kubectl get -o yaml`
/// prints them. Strings that a YAML 1.1 reader would take for something else
/// (`"8080"`, `"yes"`, `"null"`) are quoted, so that what Berth prints reads
/// back as the same tree; multi-line strings use literal blocks (`|`).
public enum YAMLWriter {
    /// One document, without the `---` separator, ending in a newline.
    public static func document(_ value: JSONValue) -> String {
        var output: [UInt8] = []
        writeDocument(value, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Several documents separated by `---`.
    public static func stream(_ values: [JSONValue]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 2048)
        for value in values {
            output.append(contentsOf: "---\n".utf8)
            writeDocument(value, into: &output)
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func writeDocument(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .object(let fields) where !fields.isEmpty:
            writeObject(fields, indent: 0, into: &output)
        case .array(let items) where !items.isEmpty:
            writeArray(items, indent: 0, into: &output)
        default:
            append(scalar(value, indent: 0), to: &output)
            output.append(0x0A)
        }
    }

    @inline(__always)
    private static func append(_ text: String, to output: inout [UInt8]) {
        output.append(contentsOf: text.utf8)
    }

    @inline(__always)
    private static func pad(_ indent: Int, _ output: inout [UInt8]) {
        output.append(contentsOf: repeatElement(0x20, count: indent))
    }

    private static func writeObject(_ fields: [String: JSONValue], indent: Int, into output: inout [UInt8], listItem: Bool = false) {
        for (index, key) in fields.keys.sorted().enumerated() {
            let value = fields[key] ?? .null
            if index == 0 && listItem {
                pad(indent - 2, &output)
                output.append(contentsOf: [UInt8(ascii: "-"), 0x20])
            } else {
                pad(indent, &output)
            }
            append(string(key, indent: indent), to: &output)
            output.append(UInt8(ascii: ":"))
            writeValue(value, indent: indent, into: &output)
        }
    }

    private static func writeArray(_ items: [JSONValue], indent: Int, into output: inout [UInt8]) {
        for item in items {
            switch item {
            case .object(let fields) where !fields.isEmpty:
                writeObject(fields, indent: indent + 2, into: &output, listItem: true)
            case .array(let inner) where !inner.isEmpty:
                pad(indent, &output)
                output.append(contentsOf: [UInt8(ascii: "-"), 0x0A])
                writeArray(inner, indent: indent + 2, into: &output)
            default:
                pad(indent, &output)
                output.append(contentsOf: [UInt8(ascii: "-"), 0x20])
                append(scalar(item, indent: indent + 2), to: &output)
                output.append(0x0A)
            }
        }
    }

    /// After `key:`; nested collections go on the next lines.
    private static func writeValue(_ value: JSONValue, indent: Int, into output: inout [UInt8]) {
        switch value {
        case .object(let fields) where !fields.isEmpty:
            output.append(0x0A)
            writeObject(fields, indent: indent + 2, into: &output)
        case .array(let items) where !items.isEmpty:
            // Sequences inside mappings at the key's indentation, as kubectl does.
            output.append(0x0A)
            writeArray(items, indent: indent, into: &output)
        default:
            output.append(0x20)
            append(scalar(value, indent: indent + 2), to: &output)
            output.append(0x0A)
        }
    }

    private static func scalar(_ value: JSONValue, indent: Int) -> String {
        switch value {
        case .null: return "null"
        case .bool(let bool): return bool ? "true" : "false"
        case .int(let int): return String(int)
        case .double(let double):
            if double.isNaN { return ".nan" }
            if double.isInfinite { return double < 0 ? "-.inf" : ".inf" }
            let text = CanonicalJSON.format(double)
            // Keep it a float when read back: `3` would become an integer.
            return text.contains(".") || text.contains("e") ? text : text + ".0"
        case .string(let text): return string(text, indent: indent)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    static func string(_ text: String, indent: Int) -> String {
        if isPlainSafe(text) { return text }
        if text.contains("\n"), canBeLiteral(text) {
            let chomp: String
            if text.hasSuffix("\n\n") { chomp = "+" } else if text.hasSuffix("\n") { chomp = "" } else { chomp = "-" }
            var body = text
            if chomp == "" || chomp == "+" { body.removeLast() }
            let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
            let padding = String(repeating: " ", count: max(indent, 2))
            return "|" + chomp + "\n" + lines.map { $0.isEmpty ? "" : padding + $0 }.joined(separator: "\n")
        }
        return doubleQuoted(text)
    }

    private static func canBeLiteral(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first != " ", first != "\t" else { return false }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0x0A || value == 0x09 { continue }
            if value < 0x20 || value == 0x7F || value == 0xFEFF || (value >= 0x80 && value < 0xA0) { return false }
        }
        // Trailing spaces on a line survive a literal block; a line with only
        // spaces before an empty line would not: keep it simple and quote.
        return !text.contains(" \n") && !text.hasSuffix(" ")
    }

    private static func isPlainSafe(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last else { return false }
        if first == 0x20 || last == 0x20 || last == UInt8(ascii: ":") { return false }
        // Indicators that may not start a plain scalar; `-x`, `?x`, `:x` may.
        switch first {
        case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
            let second = bytes.dropFirst().first
            if second == nil || second == 0x20 { return false }
        case UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
             UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"),
             UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"),
             UInt8(ascii: "`"):
            return false
        default:
            break
        }
        var previous: UInt8 = 0
        var numberLike = first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")
        for byte in bytes {
            if byte < 0x20 || byte >= 0x7F { return false }
            if previous == UInt8(ascii: ":") && byte == 0x20 { return false }
            if previous == 0x20 && byte == UInt8(ascii: "#") { return false }
            if numberLike {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "."),
                     UInt8(ascii: "_"), UInt8(ascii: "e"), UInt8(ascii: "E"):
                    break
                default:
                    numberLike = false
                }
            }
            previous = byte
        }
        // Timestamps, sexagesimals and numbers that YAML 1.1 readers may take differently.
        if numberLike { return false }
        if text == "<<" || text == "=" { return false }
        guard case .string = ScalarResolver.resolve(text) else { return false }
        return true
    }

    private static func doubleQuoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFEFF {
                    result += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
