/// Resolves plain (unquoted) YAML scalars to JSON types the way Kubernetes
/// does: `kubectl` and the API server read YAML with go-yaml v2, which follows
/// YAML 1.1, so `yes`/`on`/`y` are booleans, `0x1F` and `0755` are integers
/// and `~` is null. Quoted scalars are always strings and never come here.
///
/// Written by hand rather than with Yams' regular-expression resolver: this
/// runs for every scalar of every manifest and must be cheap.
enum ScalarResolver {
    static func resolve(_ text: String) -> JSONValueResolution {
        let utf8 = text.utf8
        guard let first = utf8.first else { return .null }
        switch first {
        case UInt8(ascii: "~"):
            return utf8.count == 1 ? .null : .string
        case UInt8(ascii: "n"), UInt8(ascii: "N"):
            switch text {
            case "null", "Null", "NULL": return .null
            case "n", "N", "no", "No", "NO": return .bool(false)
            default: return .string
            }
        case UInt8(ascii: "y"), UInt8(ascii: "Y"):
            switch text {
            case "y", "Y", "yes", "Yes", "YES": return .bool(true)
            default: return .string
            }
        case UInt8(ascii: "t"), UInt8(ascii: "T"):
            switch text {
            case "true", "True", "TRUE": return .bool(true)
            default: return .string
            }
        case UInt8(ascii: "f"), UInt8(ascii: "F"):
            switch text {
            case "false", "False", "FALSE": return .bool(false)
            default: return .string
            }
        case UInt8(ascii: "o"), UInt8(ascii: "O"):
            switch text {
            case "on", "On", "ON": return .bool(true)
            case "off", "Off", "OFF": return .bool(false)
            default: return .string
            }
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return resolveNumber(text)
        default:
            return .string
        }
    }

    private static func resolveNumber(_ text: String) -> JSONValueResolution {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        var body = Substring(text)
        var negative = false
        if body.first == "+" || body.first == "-" {
            negative = body.first == "-"
            body = body.dropFirst()
        }
        let digits = body.contains("_") ? String(body.filter { $0 != "_" }) : String(body)
        guard !digits.isEmpty else { return .string }
        // Integers: decimal, 0x hex, 0o or leading-0 octal, 0b binary (Go's ParseInt with base 0).
        if let value = parseInteger(digits) {
            if negative {
                return value == Int.min.magnitude ? .int(Int.min) : (value <= UInt(Int.max) ? .int(-Int(value)) : .string)
            }
            return value <= UInt(Int.max) ? .int(Int(value)) : .double(Double(value))
        }
        // Floats: only the decimal syntax, checked before Double() (which takes "nan", "0x1p3" …).
        guard isDecimalFloat(digits), let value = Double(digits) else { return .string }
        return .double(negative ? -value : value)
    }

    private static func parseInteger(_ digits: String) -> UInt? {
        let bytes = Array(digits.utf8)
        if bytes.count > 2, bytes[0] == UInt8(ascii: "0") {
            switch bytes[1] {
            case UInt8(ascii: "x"), UInt8(ascii: "X"): return UInt(digits.dropFirst(2), radix: 16)
            case UInt8(ascii: "o"), UInt8(ascii: "O"): return UInt(digits.dropFirst(2), radix: 8)
            case UInt8(ascii: "b"), UInt8(ascii: "B"): return UInt(digits.dropFirst(2), radix: 2)
            default: break
            }
        }
        guard bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        if bytes.count > 1, bytes[0] == UInt8(ascii: "0") {
            return UInt(digits.dropFirst(), radix: 8)
        }
        return UInt(digits, radix: 10)
    }

    private static func isDecimalFloat(_ text: String) -> Bool {
        var sawDigit = false
        var sawDot = false
        var sawExponent = false
        var previous: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                sawDigit = true
            case UInt8(ascii: "."):
                if sawDot || sawExponent { return false }
                sawDot = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                if sawExponent || !sawDigit { return false }
                sawExponent = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                if previous != UInt8(ascii: "e") && previous != UInt8(ascii: "E") { return false }
            default:
                return false
            }
            previous = byte
        }
        return sawDigit && previous != UInt8(ascii: "e") && previous != UInt8(ascii: "E")
            && previous != UInt8(ascii: "+") && previous != UInt8(ascii: "-")
    }
}

/// What a plain scalar means; `.string` keeps the scalar's own text.
enum JSONValueResolution: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string

    static func == (lhs: JSONValueResolution, rhs: JSONValueResolution) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null), (.string, .string): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        default: return false
        }
    }
}
