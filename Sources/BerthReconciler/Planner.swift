import BerthAPI
import BerthManifests

/// Plans a sync: compares the desired objects of `source` with the live
/// objects and lists what to create, update, delete and leave alone.
///
/// Pure, so it can be tested exhaustively and run for `berth drift` without
/// touching anything. Both sides are normalized first (server-set fields,
/// defaults, equivalent spellings), so only real differences show.
/// Only live objects labelled `berth.dev/source=<source>` are ever deleted:
/// objects made by hand or by another source are never pruned.
public func plan(desired: [ManifestObject], live: [JSONValue], source: String) -> Plan {
    Planner(source: source).plan(desired: desired, live: live)
}

/// What the planner decided for one desired object, and from which inputs:
/// the loaded object's content hash and the live object's fingerprint.
/// When both are unchanged at the next sync the decision stands, so a push
/// that changes one object of 1,000 normalizes and diffs one object.
struct PlanMemo: Sendable {
    var sourceHash: String
    /// The live object the decision was made against; nil while it is not
    /// known (a create or update, until the apply settles it).
    var live: LiveFingerprint?
    /// That live object's resourceVersion. The store never hands out a
    /// committed version twice, so a live object with this version IS the
    /// one the decision was made against: the planner checks it before
    /// building and comparing a fingerprint (which costs more than the rest
    /// of a remembered decision).
    var liveVersion: String?
    var order: OrderKey
    /// The decision, without its live tree: a reuse takes the live object of
    /// that plan, and a kept tree would pin a stale copy of every object a
    /// controller rewrote since (after a cold sync's rollouts, 500
    /// Deployments: ~2 MB of serve's heap in bench/sync).
    var item: PlanItem

    init(sourceHash: String, live: JSONValue?, order: OrderKey, item: PlanItem) {
        self.sourceHash = sourceHash
        let fingerprint = live.map(LiveFingerprint.init)
        self.live = fingerprint?.isUsable == true ? fingerprint : nil
        self.liveVersion = self.live == nil ? nil : live.flatMap(LiveFingerprint.resourceVersion)
        self.order = order
        self.item = item
        self.item.live = nil
    }

    /// Whether the decision still holds for `liveObject`, the live object now.
    func holds(for liveObject: JSONValue) -> Bool {
        guard let live, live.isUsable else { return false }
        if let liveVersion, LiveFingerprint.resourceVersion(liveObject) == liveVersion { return true }
        return LiveFingerprint(liveObject) == live
    }

    /// After the apply wrote `applied` (the desired object as the store
    /// holds it), live matches desired: the next plan leaves the object alone
    /// as long as the live object keeps this fingerprint. Saves normalizing
    /// and diffing every object again in the sync after a cold sync.
    mutating func settle(applied: JSONValue) {
        live = LiveFingerprint(applied)
        liveVersion = LiveFingerprint.resourceVersion(applied)
        item.action = .unchanged
        item.changes = []
    }
}

/// What of a live object the plan can depend on, cheaply: its metadata
/// (uid, generation, labels, annotations …) without `resourceVersion` and
/// without the annotations controllers manage (which the normalizer drops).
///
/// Why not the resourceVersion: controllers write `status` and the revision
/// annotation, which bump it (a rollout bumps every Deployment's several
/// times) while the planner ignores both, so a memo keyed on it missed for
/// every Deployment after every rollout. The store bumps `generation`
/// whenever anything outside `metadata` and `status` changes, and a
/// re-created object has another uid, so equal fingerprints mean equal
/// normalized live trees.
///
/// Kept as the SHA-256 of that metadata's canonical JSON, not as the tree:
/// a memo entry per desired object held a near-copy of its live metadata
/// (and pinned the subtrees of live versions long replaced), ~1 MB of
/// serve's heap for 1,000 objects.
struct LiveFingerprint: Sendable, Equatable {
    var digest: String?
    /// Only store-written objects (with a generation) can be fingerprinted.
    var isUsable: Bool

    init(_ live: JSONValue) {
        var metadata = live["metadata"]
        metadata?["resourceVersion"] = nil
        if var annotations = metadata?["annotations"]?.objectValue {
            for annotation in ObjectNormalizer.serverSetAnnotations { annotations[annotation] = nil }
            metadata?["annotations"] = annotations.isEmpty ? nil : .object(annotations)
        }
        isUsable = metadata?["generation"] != nil
        digest = isUsable ? metadata.map(ContentHash.of) : nil
    }

    static func resourceVersion(_ object: JSONValue) -> String? {
        object["metadata"]?["resourceVersion"]?.stringValue
    }
}

struct Planner {
    let source: String

    func plan(desired: [ManifestObject], live: [JSONValue]) -> Plan {
        var memo: [ObjectKey: PlanMemo] = [:]
        return plan(desired: desired, live: live, memo: &memo)
    }

    /// `plan`, reusing (and refreshing) `memo` from the previous plan of this source.
    ///
    /// The memo is updated in place: a remembered decision that still holds
    /// stays as it is (a push that changes one object of 1,000 rewrites one
    /// entry), entries of objects no longer desired go at the end.
    func plan(desired: [ManifestObject], live: [JSONValue], memo: inout [ObjectKey: PlanMemo]) -> Plan {
        var liveByKey: [ObjectKey: JSONValue] = [:]
        liveByKey.reserveCapacity(live.count)
        for object in live {
            guard let key = Self.key(of: object) else { continue }
            liveByKey[key] = object
        }

        var steps: [(order: OrderKey, item: PlanItem)] = []
        steps.reserveCapacity(desired.count)
        var desiredKeys = Set<ObjectKey>(minimumCapacity: desired.count)
        for object in desired {
            desiredKeys.insert(object.key)
            let liveObject = liveByKey[object.key]
            let remembered = memo[object.key].flatMap { $0.sourceHash == object.hash ? $0 : nil }
            if let remembered, let liveObject, remembered.holds(for: liveObject) {
                var item = remembered.item
                item.live = liveObject
                item.location = object.location
                steps.append((remembered.order, item))
                // A write the plan ignores (status, a controller's annotation): the next check is the cheap one again.
                let version = LiveFingerprint.resourceVersion(liveObject)
                if version != remembered.liveVersion { memo[object.key]?.liveVersion = version }
                continue
            }
            // The desired side depends on the manifest only: reuse it when that is unchanged.
            let tree: JSONValue, hash: String, order: OrderKey
            if let remembered, let desired = remembered.item.desired, let known = remembered.item.hash {
                (tree, hash, order) = (desired, known, remembered.order)
            } else {
                var normalized = ObjectNormalizer.normalize(object.tree, defaultNamespace: object.key.namespace.isEmpty ? "default" : object.key.namespace)
                ManifestLoader.addSourceLabel(&normalized, source: source)
                // The memo keeps this tree next to the loader's (the file
                // cache): most of the two are equal, so store that part once.
                normalized = normalized.sharingStorage(with: object.tree)
                (tree, hash) = (normalized, ContentHash.of(normalized))
                order = OrderKey(kind: object.kind, wave: Self.wave(of: normalized), key: object.key)
            }
            guard let liveObject else {
                let item = PlanItem(action: .create, key: object.key, desired: tree, live: nil,
                                    location: object.location, hash: hash)
                steps.append((order, item))
                memo[object.key] = PlanMemo(sourceHash: object.hash, live: nil, order: order, item: item)
                continue
            }
            var liveTree = ObjectNormalizer.normalize(liveObject, defaultNamespace: object.key.namespace.isEmpty ? "default" : object.key.namespace)
            Self.dropServerAssigned(&liveTree, desired: tree, kind: object.kind)
            let changes = TreeDiff.changes(from: liveTree, to: tree, redactSecretData: object.kind == .secret)
            let item = PlanItem(action: changes.isEmpty ? .unchanged : .update, key: object.key,
                                desired: tree, live: liveObject, changes: changes,
                                location: object.location, hash: hash)
            steps.append((order, item))
            memo[object.key] = PlanMemo(sourceHash: object.hash, live: liveObject, order: order, item: item)
        }
        // Every entry written above is of a desired object; more entries means some are not any more.
        if memo.count > desiredKeys.count { memo = memo.filter { desiredKeys.contains($0.key) } }

        var deletes: [(order: OrderKey, item: PlanItem)] = []
        for (key, object) in liveByKey where !desiredKeys.contains(key) && isOwned(object) {
            guard let kind = ResourceKind(apiVersion: key.apiVersion, kind: key.kind) else { continue }
            let order = OrderKey(kind: kind, wave: Self.wave(of: object), key: key)
            deletes.append((order, PlanItem(action: .delete, key: key, desired: nil, live: object)))
        }

        steps.sort { $0.order < $1.order }
        deletes.sort { $0.order > $1.order }
        return Plan(source: source, items: steps.map(\.item) + deletes.map(\.item))
    }

    /// Owned: labelled with this source, a kind manifests can hold, and not
    /// controlled by another object (a ReplicaSet's Pods are never pruned).
    func isOwned(_ object: JSONValue) -> Bool {
        guard object["metadata"]?["labels"]?[WellKnown.sourceLabel]?.stringValue == source,
              let kind = ObjectNormalizer.kind(of: object), ResourceKind.manifestKinds.contains(kind) else { return false }
        let controlled = object["metadata"]?["ownerReferences"]?.arrayValue?.contains { $0["controller"] == .bool(true) } ?? false
        return !controlled
    }

    static func key(of object: JSONValue) -> ObjectKey? {
        guard let apiVersion = object["apiVersion"]?.stringValue, let kindName = object["kind"]?.stringValue,
              let name = object["metadata"]?["name"]?.stringValue else { return nil }
        let namespaced = ResourceKind(apiVersion: apiVersion, kind: kindName)?.isNamespaced ?? true
        let namespace = namespaced ? (object["metadata"]?["namespace"]?.stringValue ?? "default") : ""
        return ObjectKey(apiVersion: apiVersion, kind: kindName, namespace: namespace, name: name)
    }

    static func wave(of object: JSONValue) -> Int {
        object["metadata"]?["annotations"]?[WellKnown.syncWaveAnnotation]?.stringValue.flatMap { Int($0) } ?? 0
    }

    /// Fields the server assigns when the manifest leaves them out (a
    /// Service's cluster IP, a node port, a Pod's node): not drift, unless
    /// the manifest asks for a specific value.
    static func dropServerAssigned(_ live: inout JSONValue, desired: JSONValue, kind: ResourceKind) {
        guard case .object(var object) = live, var spec = object["spec"]?.objectValue else { return }
        let desiredSpec = desired["spec"]?.objectValue ?? [:]
        switch kind {
        case .service:
            for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy",
                          "healthCheckNodePort"] where desiredSpec[field] == nil {
                spec[field] = nil
            }
            if let ports = spec["ports"]?.arrayValue {
                let desiredPorts = desiredSpec["ports"]?.arrayValue ?? []
                spec["ports"] = .array(ports.enumerated().map { index, port in
                    guard var port = port.objectValue else { return port }
                    if index >= desiredPorts.count || desiredPorts[index]["nodePort"] == nil { port["nodePort"] = nil }
                    return .object(port)
                })
            }
        case .pod:
            if desiredSpec["nodeName"] == nil { spec["nodeName"] = nil }
        default:
            return
        }
        object["spec"] = .object(spec)
        live = .object(object)
    }
}

/// Apply order: kind (what others refer to first), then sync wave, then
/// kind name (Pods and Deployments share a rank), namespace and name.
struct OrderKey: Comparable, Sendable {
    var rank: Int
    var wave: Int
    var kind: String
    var namespace: String
    var name: String

    init(kind: ResourceKind, wave: Int, key: ObjectKey) {
        self.rank = kind.applyOrder
        self.wave = wave
        self.kind = key.kind
        self.namespace = key.namespace
        self.name = key.name
    }

    static func < (lhs: OrderKey, rhs: OrderKey) -> Bool {
        (lhs.rank, lhs.wave, lhs.kind, lhs.namespace, lhs.name) < (rhs.rank, rhs.wave, rhs.kind, rhs.namespace, rhs.name)
    }
}
