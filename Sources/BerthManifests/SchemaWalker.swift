import BerthAPI

/// Walks a tree against its schema, in one pass:
/// - checks JSON types as the API server's strict decoder does
///   (`replicas: "3"` is an error: quoted digits are a string);
/// - warns about fields outside the schema, with their path;
/// - returns the tree in canonical form: nulls, empty lists and empty maps
///   dropped (they mean "unset"), quantities in canonical text.
///
/// In `lenient` mode (for live objects, which the server already accepted)
/// nothing is reported and equivalent forms are unified instead: `"8080"`
/// becomes 8080 where the schema says integer.
struct SchemaWalker {
    enum Mode { case strict, lenient }

    let mode: Mode
    private(set) var issues: [Issue] = []
    /// The current path, kept as a stack so that building paths costs
    /// nothing until a message needs one.
    private var stack: [FieldPath.Component] = []
    /// Canonical text of quantities already seen: the same few (`100m`,
    /// `64Mi`) come back in every object of a repository.
    private var quantities: [String: String] = [:]

    init(mode: Mode) {
        self.mode = mode
        stack.reserveCapacity(16)
    }

    private var path: FieldPath { FieldPath(stack) }

    /// Returns the issues found so far and forgets them, so that one walker
    /// (and its caches) can serve every object of a file.
    mutating func takeIssues() -> [Issue] {
        defer { issues = [] }
        return issues
    }

    private mutating func report(_ make: (FieldPath) -> Issue) {
        if mode == .strict {
            let current = path
            issues.append(make(current))
        }
    }

    /// Returns the canonical value, or nil when the field is to be dropped.
    mutating func walk(_ value: JSONValue, _ type: FieldType) -> JSONValue? {
        if case .null = value { return nil }
        switch type {
        case .any:
            return value
        case .string:
            if case .string = value { return value }
            if mode == .strict, Self.scalarText(value) != nil {
                // `value: 8080`, `value: yes`: YAML read them as a number or a boolean.
                report { path in .error(path, "Invalid type: got \(Self.typeName(value)), expected string",
                                        hint: "put the value in quotes") }
                return value
            }
            return mismatch(value, type)
        case .int:
            switch value {
            case .int: return value
            case .double(let number) where number.rounded() == number && abs(number) < 9.0e18:
                // YAML `3.0` reaches the API server as JSON `3`: accepted.
                return .int(Int(number))
            case .string(let text) where mode == .lenient:
                return Int(text).map(JSONValue.int) ?? value
            case .string(let text) where Int(text) != nil:
                report { path in .error(path, "Invalid type: got string, expected integer",
                              hint: "write \(text) without quotes") }
                return value
            default:
                return mismatch(value, type)
            }
        case .bool:
            switch value {
            case .bool: return value
            case .string("true") where mode == .lenient: return .bool(true)
            case .string("false") where mode == .lenient: return .bool(false)
            default: return mismatch(value, type)
            }
        case .intOrString:
            switch value {
            case .int, .string: return value
            case .double(let number) where number.rounded() == number && abs(number) < 9.0e18:
                return .int(Int(number))
            default: return mismatch(value, type)
            }
        case .quantity:
            return quantity(value)
        case .stringMap:
            guard case .object(let fields) = value else { return mismatch(value, type) }
            var result: [String: JSONValue] = [:]
            result.reserveCapacity(fields.count)
            for (key, item) in fields {
                stack.append(.key(key))
                switch item {
                case .string:
                    result[key] = item
                case .null:
                    break
                default:
                    if mode == .lenient, let text = Self.scalarText(item) {
                        result[key] = .string(text)
                    } else {
                        report { path in .error(path, "Invalid type: got \(Self.typeName(item)), expected string",
                                      hint: "put the value in quotes") }
                        result[key] = item
                    }
                }
                stack.removeLast()
            }
            return result.isEmpty ? nil : .object(result)
        case .quantityMap:
            guard case .object(let fields) = value else { return mismatch(value, type) }
            var result: [String: JSONValue] = [:]
            for (key, item) in fields {
                stack.append(.key(key))
                if let canonical = quantity(item) { result[key] = canonical }
                stack.removeLast()
            }
            return result.isEmpty ? nil : .object(result)
        case .list(let element):
            guard case .array(let items) = value else { return mismatch(value, type) }
            var result: [JSONValue] = []
            result.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                stack.append(.index(index))
                // A null list element stays (and fails validation) rather than shifting indexes.
                result.append(walk(item, element) ?? .null)
                stack.removeLast()
            }
            return result.isEmpty ? nil : .array(result)
        case .object(let schema):
            guard case .object(let fields) = value else { return mismatch(value, type) }
            var result: [String: JSONValue] = [:]
            result.reserveCapacity(fields.count)
            for (key, item) in fields {
                stack.append(.key(key))
                if let fieldType = schema.fields[key] {
                    if let canonical = walk(item, fieldType) { result[key] = canonical }
                } else if case .null = item {
                    // `creationTimestamp: null` and the like: unset, nothing to say.
                } else {
                    report { path in .warning(path, "unknown field \"\(path)\"",
                                    hint: "Berth keeps it but does not act on it") }
                    result[key] = item
                }
                stack.removeLast()
            }
            if result.isEmpty && !schema.keepEmpty { return nil }
            return .object(result)
        }
    }

    private mutating func quantity(_ value: JSONValue) -> JSONValue? {
        let text: String
        switch value {
        case .null: return nil
        case .string(let string): text = string
        case .int(let int): text = String(int)
        case .double(let double): text = String(double)
        default: return mismatch(value, .quantity)
        }
        if let canonical = quantities[text] { return .string(canonical) }
        guard let parsed = Quantity(text) else {
            report { path in .error(path, "Invalid value: \"\(text)\": quantities must match the regular expression "
                          + "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                          hint: "examples: 250m, 0.5, 128Mi, 1G") }
            return value
        }
        let canonical = parsed.description
        quantities[text] = canonical
        return .string(canonical)
    }

    private mutating func mismatch(_ value: JSONValue, _ type: FieldType) -> JSONValue {
        report { path in .error(path, "Invalid type: got \(Self.typeName(value)), expected \(type.name)") }
        return value
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    static func scalarText(_ value: JSONValue) -> String? {
        switch value {
        case .bool(let bool): return bool ? "true" : "false"
        case .int(let int): return String(int)
        case .double(let double): return String(double)
        default: return nil
        }
    }
}
