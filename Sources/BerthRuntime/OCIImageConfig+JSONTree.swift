import BerthAPI

/// Hand-written tree forms of the image configuration blob, read on every
/// container start (see `JSONTreeCodable` for why not Codable there). Keys
/// (Docker's capitalized ones, `diff_ids` …) and optional handling follow the
/// Codable conformances exactly.
extension OCIImage: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        rootfs = try fields.tree("rootfs")
        created = try fields.optionalString("created")
        author = try fields.optionalString("author")
        architecture = try fields.optionalString("architecture")
        os = try fields.optionalString("os")
        config = try fields.optionalTree("config")
        history = try fields.optionalTrees("history")
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = ["rootfs": rootfs.jsonTree]
        fields["created"] = created.map(JSONValue.string)
        fields["author"] = author.map(JSONValue.string)
        fields["architecture"] = architecture.map(JSONValue.string)
        fields["os"] = os.map(JSONValue.string)
        fields["config"] = config?.jsonTree
        fields["history"] = history.map(JSONValue.trees)
        return .object(fields)
    }
}

extension OCIRootFS: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(diffIDs: try fields.trees("diff_ids"))
        type = try fields.string("type")
    }

    public var jsonTree: JSONValue {
        .object(["type": .string(type), "diff_ids": .trees(diffIDs)])
    }
}

extension OCIHistory: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(
            created: try fields.optionalString("created"), createdBy: try fields.optionalString("created_by"),
            comment: try fields.optionalString("comment"), emptyLayer: try fields.optionalBool("empty_layer"))
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [:]
        fields["created"] = created.map(JSONValue.string)
        fields["created_by"] = createdBy.map(JSONValue.string)
        fields["comment"] = comment.map(JSONValue.string)
        fields["empty_layer"] = emptyLayer.map(JSONValue.bool)
        return .object(fields)
    }
}

extension OCIImageConfig: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(
            user: try fields.optionalString("User"), exposedPorts: try fields.optional("ExposedPorts", Self.keysOfEmptyObjects),
            env: try fields.optionalStrings("Env"), entrypoint: try fields.optionalStrings("Entrypoint"),
            cmd: try fields.optionalStrings("Cmd"), volumes: try fields.optional("Volumes", Self.keysOfEmptyObjects),
            workingDir: try fields.optionalString("WorkingDir"), labels: try fields.optionalStringMap("Labels"),
            stopSignal: try fields.optionalString("StopSignal"))
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [:]
        fields["User"] = user.map(JSONValue.string)
        fields["ExposedPorts"] = exposedPorts.map(Self.emptyObjects)
        fields["Env"] = env.map(JSONValue.strings)
        fields["Entrypoint"] = entrypoint.map(JSONValue.strings)
        fields["Cmd"] = cmd.map(JSONValue.strings)
        fields["Volumes"] = volumes.map(Self.emptyObjects)
        fields["WorkingDir"] = workingDir.map(JSONValue.string)
        fields["Labels"] = labels.map(JSONValue.stringMap)
        fields["StopSignal"] = stopSignal.map(JSONValue.string)
        return .object(fields)
    }

    /// `{"80/tcp": {}, …}` → the sorted keys. The values are not looked at:
    /// the Codable form's synthesized `EmptyObject.init(from:)` reads no
    /// container, so it accepts any value there (`null`, `[]` …) too.
    private static func keysOfEmptyObjects(_ tree: JSONValue) throws -> [String] {
        guard case .object(let fields) = tree else { throw JSONTreeError.expected("an object of empty objects", found: tree) }
        return fields.keys.sorted()
    }

    private static func emptyObjects(_ keys: [String]) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        for key in keys { fields[key] = .object([:]) }
        return .object(fields)
    }
}
