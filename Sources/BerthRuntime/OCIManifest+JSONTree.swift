import BerthAPI

/// Hand-written tree forms of the manifest and the index: the store's
/// index.json and an image's manifest are read on every container start
/// (see `JSONTreeCodable` for why not Codable there). Keys and optional
/// handling follow the synthesized Codable conformances exactly.
extension OCIManifest: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(config: try fields.tree("config"), layers: try fields.trees("layers"), annotations: try fields.optionalStringMap("annotations"))
        schemaVersion = try fields.integer("schemaVersion")
        mediaType = try fields.optionalString("mediaType")
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [
            "schemaVersion": .int(schemaVersion), "config": config.jsonTree, "layers": .trees(layers),
        ]
        fields["mediaType"] = mediaType.map(JSONValue.string)
        fields["annotations"] = annotations.map(JSONValue.stringMap)
        return .object(fields)
    }
}

extension OCIIndex: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(manifests: try fields.trees("manifests"), annotations: try fields.optionalStringMap("annotations"))
        schemaVersion = try fields.integer("schemaVersion")
        mediaType = try fields.optionalString("mediaType")
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = ["schemaVersion": .int(schemaVersion), "manifests": .trees(manifests)]
        fields["mediaType"] = mediaType.map(JSONValue.string)
        fields["annotations"] = annotations.map(JSONValue.stringMap)
        return .object(fields)
    }
}
