import BerthAPI

/// The exit file written by berth-shim when the container ends.
struct ShimExit: Sendable, Hashable, Codable {
    var exitCode: Int
    var signal: Int
    var oomKilled: Bool
    var finishedAt: String
    var error: String?
}

/// Hand-written tree form, read when a container's exit is collected (see
/// `JSONTreeCodable` for why not Codable there). Same keys and optional
/// handling as the synthesized Codable conformance.
extension ShimExit: JSONTreeCodable {
    init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        exitCode = try fields.integer("exitCode")
        signal = try fields.integer("signal")
        oomKilled = try fields.bool("oomKilled")
        finishedAt = try fields.string("finishedAt")
        error = try fields.optionalString("error")
    }

    var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [
            "exitCode": .int(exitCode), "signal": .int(signal), "oomKilled": .bool(oomKilled), "finishedAt": .string(finishedAt),
        ]
        fields["error"] = error.map(JSONValue.string)
        return .object(fields)
    }
}
