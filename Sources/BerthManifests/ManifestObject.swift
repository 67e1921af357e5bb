import BerthAPI

/// One validated object from a manifest, in canonical form.
public struct ManifestObject: Sendable, Hashable {
    public var key: ObjectKey
    public var kind: ResourceKind
    /// The canonical tree: defaults applied, server-set fields removed,
    /// unknown fields kept. Decode a typed view with `tree.decode(Deployment.self)`.
    public var tree: JSONValue
    /// Where the object starts (its first key).
    public var location: SourceLocation
    /// sha256 (hex) of `CanonicalJSON.encode(tree)`: equal content, equal hash.
    public var hash: String

    public init(key: ObjectKey, kind: ResourceKind, tree: JSONValue, location: SourceLocation, hash: String) {
        self.key = key
        self.kind = kind
        self.tree = tree
        self.location = location
        self.hash = hash
    }

    /// The `berth.dev/sync-wave` annotation, 0 when absent.
    public var syncWave: Int {
        tree["metadata"]?["annotations"]?[WellKnown.syncWaveAnnotation]?.stringValue.flatMap { Int($0) } ?? 0
    }
}

/// Options of one load: what the source declares about its manifests.
public struct LoadOptions: Sendable, Hashable {
    /// Namespace for namespaced objects that name none (`kubectl apply -n`).
    public var defaultNamespace: String
    /// Unknown fields are errors rather than warnings (field validation `Strict`).
    public var strict: Bool
    /// When set, every object gets the `berth.dev/source` label with this
    /// value, which is what prune later relies on.
    public var sourceName: String?

    public init(defaultNamespace: String = "default", strict: Bool = false, sourceName: String? = nil) {
        self.defaultNamespace = defaultNamespace
        self.strict = strict
        self.sourceName = sourceName
    }
}

/// Everything a load found. A sync must not apply anything unless `errors`
/// is empty; warnings are for people.
public struct LoadResult: Sendable {
    public var objects: [ManifestObject]
    public var warnings: [BerthError]
    public var errors: [BerthError]

    public init(objects: [ManifestObject] = [], warnings: [BerthError] = [], errors: [BerthError] = []) {
        self.objects = objects
        self.warnings = warnings
        self.errors = errors
    }

    public var isValid: Bool { errors.isEmpty }
}
