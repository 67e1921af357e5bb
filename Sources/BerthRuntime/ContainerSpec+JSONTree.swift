import BerthAPI

/// Hand-written tree forms of a container's spec and its parts, as state.json
/// holds them (see `JSONTreeCodable` for why not Codable there). Keys and
/// optional handling follow the synthesized Codable conformances exactly;
/// `autoRemove` and `tty` may be missing, as in files written before they
/// existed.
extension ContainerSpec: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        image = try fields.string("image")
        imageDigest = try fields.optionalString("imageDigest")
        layers = try fields.strings("layers")
        argv = try fields.strings("argv")
        env = try fields.strings("env")
        workingDir = try fields.string("workingDir")
        uid = try fields.integer("uid")
        gid = try fields.integer("gid")
        additionalGids = try fields.required("additionalGids") { try $0.treeArray(of: "integers") { try $0.treeInteger(UInt32.self) } }
        hostname = try fields.string("hostname")
        readOnlyRootfs = try fields.bool("readOnlyRootfs")
        capabilities = try fields.tree("capabilities")
        noNewPrivileges = try fields.bool("noNewPrivileges")
        mounts = try fields.trees("mounts")
        limits = try fields.tree("limits")
        labels = try fields.stringMap("labels")
        sandboxID = try fields.optionalString("sandboxID")
        logMaxBytes = try fields.integer("logMaxBytes")
        autoRemove = try fields.optionalBool("autoRemove")
        tty = try fields.optionalBool("tty")
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [
            "image": .string(image), "layers": .strings(layers), "argv": .strings(argv), "env": .strings(env),
            "workingDir": .string(workingDir), "uid": .integer(uid), "gid": .integer(gid),
            "additionalGids": .array(additionalGids.map(JSONValue.integer)), "hostname": .string(hostname),
            "readOnlyRootfs": .bool(readOnlyRootfs), "capabilities": capabilities.jsonTree,
            "noNewPrivileges": .bool(noNewPrivileges), "mounts": .trees(mounts), "limits": limits.jsonTree,
            "labels": .stringMap(labels), "logMaxBytes": .integer(logMaxBytes),
        ]
        fields["imageDigest"] = imageDigest.map(JSONValue.string)
        fields["sandboxID"] = sandboxID.map(JSONValue.string)
        fields["autoRemove"] = autoRemove.map(JSONValue.bool)
        fields["tty"] = tty.map(JSONValue.bool)
        return .object(fields)
    }
}

extension Mount: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(hostPath: try fields.string("hostPath"), containerPath: try fields.string("containerPath"), readOnly: try fields.bool("readOnly"))
    }

    public var jsonTree: JSONValue {
        .object(["hostPath": .string(hostPath), "containerPath": .string(containerPath), "readOnly": .bool(readOnly)])
    }
}

extension ResourceLimits: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        let fields = try JSONTreeFields(jsonTree)
        self.init(
            memoryBytes: try fields.optionalInteger("memoryBytes"), cpuMillis: try fields.optionalInteger("cpuMillis"),
            cpuRequestMillis: try fields.optionalInteger("cpuRequestMillis"), pidsLimit: try fields.optionalInteger("pidsLimit"))
    }

    public var jsonTree: JSONValue {
        var fields: [String: JSONValue] = [:]
        fields["memoryBytes"] = memoryBytes.map(JSONValue.integer)
        fields["cpuMillis"] = cpuMillis.map(JSONValue.integer)
        fields["cpuRequestMillis"] = cpuRequestMillis.map(JSONValue.integer)
        fields["pidsLimit"] = pidsLimit.map(JSONValue.integer)
        return .object(fields)
    }
}

extension CapabilitySet: JSONTreeCodable {
    public init(jsonTree: JSONValue) throws {
        self.init(mask: try JSONTreeFields(jsonTree).integer("mask"))
    }

    public var jsonTree: JSONValue { .object(["mask": .integer(mask)]) }
}
