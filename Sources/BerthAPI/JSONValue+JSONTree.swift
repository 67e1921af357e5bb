/// The scalar and collection conversions `JSONTreeCodable` types are built
/// from, with TreeDecoder's and TreeEncoder's rules, so that the hand-written
/// conversions give what Codable gives. Reading throws `JSONTreeError`
/// without a path; `JSONTreeFields` adds it.
extension JSONValue {
    // MARK: - Reading

    public func treeString() throws -> String {
        guard case .string(let text) = self else { throw JSONTreeError.expected("a string", found: self) }
        return text
    }

    public func treeBool() throws -> Bool {
        guard case .bool(let flag) = self else { throw JSONTreeError.expected("a boolean", found: self) }
        return flag
    }

    /// An integer of type `I`: an `.int`, or a `.double` with no fraction
    /// (`2.0`), that `I` holds exactly.
    public func treeInteger<I: FixedWidthInteger>(_ type: I.Type = I.self) throws -> I {
        let exact: I?
        switch self {
        case .int(let number): exact = I(exactly: number)
        case .double(let number): exact = I(exactly: number)
        default: throw JSONTreeError.expected("an integer", found: self)
        }
        guard let exact else {
            throw JSONTreeError("expected an integer that fits in \(I.self), found a number with a fraction or out of range")
        }
        return exact
    }

    /// The items of an array, each read by `read`; `what` names the items
    /// in the error for a value that is not an array ("strings").
    public func treeArray<T>(of what: String, _ read: (JSONValue) throws -> T) throws -> [T] {
        guard case .array(let items) = self else { throw JSONTreeError.expected("an array of " + what, found: self) }
        var result: [T] = []
        result.reserveCapacity(items.count)
        for index in items.indices {
            do {
                result.append(try read(items[index]))
            } catch let error as JSONTreeError {
                throw error.inItem(index)
            }
        }
        return result
    }

    public func treeStrings() throws -> [String] {
        try treeArray(of: "strings") { try $0.treeString() }
    }

    /// An object whose values are all strings (labels, annotations).
    public func treeStringMap() throws -> [String: String] {
        guard case .object(let fields) = self else { throw JSONTreeError.expected("an object of strings", found: self) }
        var result: [String: String] = [:]
        result.reserveCapacity(fields.count)
        for (key, value) in fields {
            guard case .string(let text) = value else { throw JSONTreeError.expected("a string", found: value).inField(key) }
            result[key] = text
        }
        return result
    }

    // MARK: - Writing

    /// An integer as TreeEncoder (and JSONEncoder's output, parsed) has it:
    /// `.int` when it fits in `Int`, otherwise a `.double` (a UInt64 above
    /// `Int.max`).
    public static func integer<I: BinaryInteger>(_ value: I) -> JSONValue {
        if let number = Int(exactly: value) { return .int(number) }
        return .double(Double(value))
    }

    public static func strings(_ values: [String]) -> JSONValue {
        .array(values.map(JSONValue.string))
    }

    public static func stringMap(_ values: [String: String]) -> JSONValue {
        .object(values.mapValues(JSONValue.string))
    }

    public static func trees<T: JSONTreeCodable>(_ values: [T]) -> JSONValue {
        .array(values.map { $0.jsonTree })
    }
}
