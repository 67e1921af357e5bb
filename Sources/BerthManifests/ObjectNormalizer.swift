import BerthAPI

/// Brings an object to canonical form: server-set fields removed, types
/// unified, defaults applied, Secret `stringData` folded into `data`.
///
/// Manifests and live objects go through the same steps, so that a plan
/// compares like with like: what the server adds (uid, status, defaults …)
/// and what is only a different spelling (`1000m` and `1`, `"8080"` and
/// `8080` where the schema says integer, key order) never look like a change.
public enum ObjectNormalizer {
    /// Metadata fields the server sets; never part of desired state.
    public static let serverSetMetadata: Set<String> = [
        "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
        "deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences",
    ]

    /// Annotations that controllers and clients manage; never desired state.
    public static let serverSetAnnotations: Set<String> = [
        WellKnown.revisionAnnotation,
        "kubectl.kubernetes.io/last-applied-configuration",
    ]

    /// Normalizes a tree that the server (or the store) holds: lenient about
    /// types (it was accepted once), reports nothing. Idempotent:
    /// `normalize(normalize(x)) == normalize(x)`, and a loaded manifest's
    /// `tree` is already normal.
    public static func normalize(_ tree: JSONValue, defaultNamespace: String = "default") -> JSONValue {
        guard let kind = kind(of: tree) else { return stripped(tree) }
        var walker = SchemaWalker(mode: .lenient)
        var result = walker.walk(stripped(tree), Schemas.schema(for: kind)) ?? .object([:])
        finish(&result, kind: kind, defaultNamespace: defaultNamespace)
        return result
    }

    /// The Berth kind of a tree, from its apiVersion and kind.
    public static func kind(of tree: JSONValue) -> ResourceKind? {
        guard let apiVersion = tree["apiVersion"]?.stringValue, let kind = tree["kind"]?.stringValue else { return nil }
        return ResourceKind(apiVersion: apiVersion, kind: kind)
    }

    /// The sha256 of the canonical JSON of a (normalized) tree, in hex.
    public static func contentHash(_ tree: JSONValue) -> String {
        SHA256Digest.hex(CanonicalJSON.encode(tree))
    }

    // MARK: - Steps shared with the loader

    static func stripped(_ tree: JSONValue) -> JSONValue {
        guard case .object(var object) = tree else { return tree }
        object["status"] = nil
        if var metadata = object["metadata"]?.objectValue {
            for field in serverSetMetadata { metadata[field] = nil }
            if var annotations = metadata["annotations"]?.objectValue {
                for annotation in serverSetAnnotations { annotations[annotation] = nil }
                metadata["annotations"] = .object(annotations)
            }
            object["metadata"] = .object(metadata)
        }
        return .object(object)
    }

    /// Steps after the schema walk: fold Secret stringData, apply defaults.
    static func finish(_ tree: inout JSONValue, kind: ResourceKind, defaultNamespace: String) {
        if kind == .secret { foldSecret(&tree) }
        Defaults.apply(to: &tree, kind: kind, defaultNamespace: defaultNamespace)
    }

    /// `stringData` is write-only in Kubernetes: the server encodes it into
    /// `data` (stringData wins on the same key). `data` values are
    /// re-encoded so that line-wrapped base64 and unwrapped compare equal.
    static func foldSecret(_ tree: inout JSONValue) {
        guard case .object(var object) = tree else { return }
        var data = object["data"]?.objectValue ?? [:]
        for (key, value) in data {
            if let text = value.stringValue, case .success(let bytes) = Base64.decode(text) {
                data[key] = .string(Base64.encode(bytes))
            }
        }
        for (key, value) in object["stringData"]?.objectValue ?? [:] {
            if let text = value.stringValue { data[key] = .string(Base64.encode(Array(text.utf8))) }
        }
        object["stringData"] = nil
        object["data"] = data.isEmpty ? nil : .object(data)
        tree = .object(object)
    }
}
