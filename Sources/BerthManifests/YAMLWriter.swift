import BerthAPI

/// Writes trees as block-style YAML, keys sorted as `kubectl get -o yaml`
/// prints them. Strings that a YAML 1.1 reader would take for something else
/// (`"8080"`, `"yes"`, `"null"`) are quoted, so that what Berth prints reads
/// back as the same tree; multi-line strings use literal blocks (`|`).
public enum YAMLWriter {
    /// One document, without the `---` separator, ending in a newline.
    public static func document(_ value: JSONValue) -> String {
        var output = ""
        switch value {
        case .object(let fields) where !fields.isEmpty:
            writeObject(fields, indent: 0, into: &output)
        case .array(let items) where !items.isEmpty:
            writeArray(items, indent: 0, into: &output)
        default:
            output = scalar(value, indent: 0) + "\n"
        }
        return output
    }

    /// Several documents separated by `---`.
    public static func stream(_ values: [JSONValue]) -> String {
        values.map { "---\n" + document($0) }.joined()
    }

    private static func pad(_ indent: Int) -> String { String(repeating: " ", count: indent) }

    private static func writeObject(_ fields: [String: JSONValue], indent: Int, into output: inout String, firstLinePrefix: String? = nil) {
        for (index, key) in fields.keys.sorted().enumerated() {
            let value = fields[key] ?? .null
            let prefix = (index == 0 ? firstLinePrefix : nil) ?? pad(indent)
            output += prefix + string(key, indent: indent) + ":"
            writeValue(value, indent: indent, into: &output, nested: indent + 2)
        }
    }

    private static func writeArray(_ items: [JSONValue], indent: Int, into output: inout String) {
        for item in items {
            switch item {
            case .object(let fields) where !fields.isEmpty:
                writeObject(fields, indent: indent + 2, into: &output, firstLinePrefix: pad(indent) + "- ")
            case .array(let inner) where !inner.isEmpty:
                output += pad(indent) + "-\n"
                writeArray(inner, indent: indent + 2, into: &output)
            default:
                output += pad(indent) + "- " + scalar(item, indent: indent + 2) + "\n"
            }
        }
    }

    /// After `key:`; nested collections go on the next lines.
    private static func writeValue(_ value: JSONValue, indent: Int, into output: inout String, nested: Int) {
        switch value {
        case .object(let fields) where !fields.isEmpty:
            output += "\n"
            writeObject(fields, indent: nested, into: &output)
        case .array(let items) where !items.isEmpty:
            // Sequences inside mappings at the key's indentation, as kubectl does.
            output += "\n"
            writeArray(items, indent: indent, into: &output)
        default:
            output += " " + scalar(value, indent: nested) + "\n"
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
            let padding = pad(max(indent, 2))
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
        guard let first = text.utf8.first, let last = text.utf8.last else { return false }
        guard case .string = ScalarResolver.resolve(text) else { return false }
        if first == 0x20 || last == 0x20 { return false }
        // Indicators that may not start a plain scalar.
        if "-?:,[]{}#&*!|>'\"%@`".utf8.contains(first) {
            // `-foo` and `:foo` are plain-safe in block context when not followed by space.
            if first == UInt8(ascii: "-") || first == UInt8(ascii: "?") || first == UInt8(ascii: ":") {
                let second = text.utf8.dropFirst().first
                if second == nil || second == 0x20 { return false }
            } else {
                return false
            }
        }
        if last == UInt8(ascii: ":") { return false }
        if text.contains(": ") || text.contains(" #") { return false }
        if text == "<<" || text == "=" { return false }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x20 || value == 0x7F || value >= 0x80 { return false }
        }
        // Timestamps and YAML 1.2 numbers that YAML 1.1 readers may take differently.
        if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") {
            if text.allSatisfy({ $0.isNumber || $0 == "-" || $0 == ":" || $0 == "." || $0 == "_" || $0 == "e" || $0 == "E" }) { return false }
        }
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
