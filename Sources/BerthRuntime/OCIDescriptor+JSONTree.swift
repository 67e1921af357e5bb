import BerthAPI

/// Hand-written tree forms of the descriptor types: index.json and every
/// manifest are lists of them, read on each container start (see
/// `JSONTreeCodable` for why not Codable there). Keys and optional handling
/// follow the synthesized Codable conformances exactly.
extension OCIDescriptor: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(
            mediaType: try fields.string("mediaType"), digest: try fields.tree("digest"), size: try fields.integer("size"),
            annotations: try fields.optionalStringMap("annotations"), platform: try fields.optionalTree("platform"))
        urls = try fields.optionalStrings("urls")
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [
            "mediaType": .string(mediaType), "digest": digest.jsonTree, "size": .integer(size),
        ]
        fields["annotations"] = annotations.map(JSONValue.stringMap)
        fields["platform"] = platform?.jsonTree
        fields["urls"] = urls.map(JSONValue.strings)
        return .object(fields)
    }
}

extension OCIPlatform: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(architecture: try fields.string("architecture"), os: try fields.string("os"), variant: try fields.optionalString("variant"))
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = ["architecture": .string(architecture), "os": .string(os)]
        fields["variant"] = variant.map(JSONValue.string)
        return .object(fields)
    }
}
