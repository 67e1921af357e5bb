import BerthAPI

/// Hand-written tree forms of state.json: every `berth` command loads all
/// records and a start writes one several times (see `JSONTreeCodable` for
/// why not Codable there). Keys and optional handling follow the synthesized
/// Codable conformances exactly.
extension ContainerRecord: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        id = try fields.string("id")
        name = try fields.string("name")
        createdAt = try fields.string("createdAt")
        spec = try fields.tree("spec")
        phase = try fields.tree("phase")
        pid = try fields.optionalInteger("pid")
        pidStartTime = try fields.optionalInteger("pidStartTime")
        shimPid = try fields.optionalInteger("shimPid")
        shimStartTime = try fields.optionalInteger("shimStartTime")
        startedAt = try fields.optionalString("startedAt")
        finishedAt = try fields.optionalString("finishedAt")
        exitCode = try fields.optionalInteger("exitCode")
        signal = try fields.optionalInteger("signal")
        oomKilled = try fields.bool("oomKilled")
        error = try fields.optionalString("error")
        cgroups = try fields.optionalTree("cgroups")
        isSandbox = try fields.bool("isSandbox")
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "createdAt": .string(createdAt), "spec": spec.jsonTree,
            "phase": phase.jsonTree, "oomKilled": .bool(oomKilled), "isSandbox": .bool(isSandbox),
        ]
        fields["pid"] = pid.map(JSONValue.integer)
        fields["pidStartTime"] = pidStartTime.map(JSONValue.integer)
        fields["shimPid"] = shimPid.map(JSONValue.integer)
        fields["shimStartTime"] = shimStartTime.map(JSONValue.integer)
        fields["startedAt"] = startedAt.map(JSONValue.string)
        fields["finishedAt"] = finishedAt.map(JSONValue.string)
        fields["exitCode"] = exitCode.map(JSONValue.int)
        fields["signal"] = signal.map(JSONValue.int)
        fields["error"] = error.map(JSONValue.string)
        fields["cgroups"] = cgroups?.jsonTree
        return .object(fields)
    }
}

extension ContainerRecord.Phase: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let text = try jsonTree.treeString()
        guard let phase = Self(rawValue: text) else {
            throw JSONTreeError("expected one of created, running, stopped, found \"\(text)\"")
        }
        self = phase
    }

    public var jsonTree: JSONValue { .string(rawValue) }
}

extension CgroupPaths: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(version: try fields.integer("version"), directories: try fields.stringMap("directories"))
    }

    public var jsonTree: JSONValue {
        .object(["version": .int(version), "directories": .stringMap(directories)])
    }
}
