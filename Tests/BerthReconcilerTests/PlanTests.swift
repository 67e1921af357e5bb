import BerthAPI
import BerthManifests
@testable import BerthReconciler
import Foundation
import Testing

private let source = "shop"

private func desired(_ yaml: String) throws -> [ManifestObject] {
    let result = ManifestLoader.load(files: [ManifestFile(path: "app.yaml", data: Data(yaml.utf8))])
    #expect(result.errors.isEmpty, "\(result.errors)")
    return result.objects
}

private func json(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}

/// The live object as the store would hold it after applying `object`:
/// the desired tree with the ownership label.
private func applied(_ object: ManifestObject) -> JSONValue {
    var tree = object.tree
    ManifestLoader.addSourceLabel(&tree, source: source)
    return tree
}

/// Sets (or with nil removes) a field at a dotted path with `[n]` indexes.
private func setting(_ tree: JSONValue, _ path: String, _ value: JSONValue?) -> JSONValue {
    var parts = path.split(separator: ".").map(String.init)
    let head = parts.removeFirst()
    var name = head
    var index: Int?
    if let open = head.firstIndex(of: "["), head.hasSuffix("]") {
        name = String(head[..<open])
        index = Int(head[head.index(after: open)..<head.index(before: head.endIndex)])
    }
    guard case .object(var fields) = tree else { return tree }
    if let index {
        guard var items = fields[name]?.arrayValue, index < items.count else { return tree }
        items[index] = parts.isEmpty ? (value ?? .null) : setting(items[index], parts.joined(separator: "."), value)
        fields[name] = .array(items)
    } else if parts.isEmpty {
        fields[name] = value
    } else {
        fields[name] = setting(fields[name] ?? .object([:]), parts.joined(separator: "."), value)
    }
    return .object(fields)
}

private let app = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop, labels: {app: web}}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: web
            image: nginx:1.25
            ports: [{containerPort: 8080}]
            resources: {limits: {cpu: "1", memory: 1Gi}}
            env: [{name: A, value: "1"}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: db, namespace: shop}
    stringData: {password: hunter2}
    """

@Suite struct PlanNormalizationTests {
    /// Server-side differences that are not drift: each mutates the live
    /// copy of one object, and the plan must still say "unchanged".
    static let notDrift: [(String, Int, @Sendable (JSONValue) -> JSONValue)] = [
        ("status", 0, { setting($0, "status", .object(["replicas": .int(3), "readyReplicas": .int(3)])) }),
        ("server metadata", 0, {
            var tree = setting($0, "metadata.uid", .string("6f1c"))
            tree = setting(tree, "metadata.resourceVersion", .string("42"))
            tree = setting(tree, "metadata.generation", .int(7))
            tree = setting(tree, "metadata.creationTimestamp", .string("2026-01-01T00:00:00Z"))
            return setting(tree, "metadata.managedFields", .array([.object(["manager": .string("berth")])]))
        }),
        ("managed annotations", 0, {
            setting($0, "metadata.annotations", .object([
                WellKnown.revisionAnnotation: .string("4"),
                "kubectl.kubernetes.io/last-applied-configuration": .string("{}"),
            ]))
        }),
        ("defaults absent in live", 0, {
            var tree = setting($0, "spec.strategy", nil)
            tree = setting(tree, "spec.revisionHistoryLimit", nil)
            tree = setting(tree, "spec.progressDeadlineSeconds", nil)
            tree = setting(tree, "spec.template.spec.dnsPolicy", nil)
            tree = setting(tree, "spec.template.spec.containers[0].imagePullPolicy", nil)
            return setting(tree, "spec.template.spec.containers[0].ports[0].protocol", nil)
        }),
        ("1000m vs 1, 1024Mi vs 1Gi", 0, {
            setting($0, "spec.template.spec.containers[0].resources.limits",
                    .object(["cpu": .string("1000m"), "memory": .string("1024Mi")]))
        }),
        ("\"8080\" where the schema says integer", 0, {
            setting($0, "spec.template.spec.containers[0].ports[0].containerPort", .string("8080"))
        }),
        ("3.0 for an integer", 0, { setting($0, "spec.replicas", .double(3)) }),
        ("empty list and empty map", 0, {
            var tree = setting($0, "spec.template.spec.initContainers", .array([]))
            tree = setting(tree, "metadata.annotations", .object([:]))
            return setting(tree, "spec.template.metadata.creationTimestamp", .null)
        }),
        ("assigned cluster IP", 1, {
            var tree = setting($0, "spec.clusterIP", .string("10.96.0.12"))
            tree = setting(tree, "spec.clusterIPs", .array([.string("10.96.0.12")]))
            return setting(tree, "spec.ipFamilies", .array([.string("IPv4")]))
        }),
        ("service defaults absent in live", 1, {
            var tree = setting($0, "spec.ports[0].protocol", nil)
            tree = setting(tree, "spec.type", nil)
            return setting(tree, "spec.sessionAffinity", nil)
        }),
        ("secret data instead of stringData", 2, {
            setting($0, "data", .object(["password": .string("aHVudGVyMg==")]))
        }),
        ("line-wrapped base64", 2, {
            setting($0, "data", .object(["password": .string("aHVu\ndGVyMg==")]))
        }),
    ]

    @Test(arguments: notDrift.indices)
    func serverSideDifferencesAreNotChanges(case index: Int) throws {
        let (name, objectIndex, mutate) = Self.notDrift[index]
        let objects = try desired(app)
        var live = objects.map(applied)
        live[objectIndex] = mutate(live[objectIndex])
        let result = plan(desired: objects, live: live, source: source)
        #expect(result.isEmpty, "\(name): \(result.items.flatMap(\.changes))")
        #expect(result.unchanged.count == 3)
    }

    @Test func targetPortDefaultsToPortOnBothSides() throws {
        let objects = try desired("""
            apiVersion: v1
            kind: Service
            metadata: {name: s, namespace: shop}
            spec: {ports: [{port: 80}]}
            """)
        let live = try json("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"shop","labels":{"berth.dev/source":"shop"}},
             "spec":{"ports":[{"port":80,"targetPort":80,"protocol":"TCP","nodePort":31000}],"clusterIP":"10.0.0.9"}}
            """)
        #expect(plan(desired: objects, live: [live], source: source).isEmpty)
    }

    @Test func reorderedKeysInLiveJSONAreNotChanges() throws {
        let objects = try desired("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: c, namespace: shop, labels: {a: "1", b: "2"}}
            data: {x: "1", y: "2"}
            """)
        let live = try json("""
            {"metadata":{"labels":{"berth.dev/source":"shop","b":"2","a":"1"},"namespace":"shop","name":"c"},
             "data":{"y":"2","x":"1"},"kind":"ConfigMap","apiVersion":"v1"}
            """)
        #expect(plan(desired: objects, live: [live], source: source).isEmpty)
    }

    /// Real differences, with their exact field-level changes.
    static let drift: [(String, Int, @Sendable (JSONValue) -> JSONValue, [String])] = [
        ("image", 0, { setting($0, "spec.template.spec.containers[0].image", .string("nginx:1.24")) },
         ["spec.template.spec.containers[0].image: \"nginx:1.24\" → \"nginx:1.25\""]),
        ("scaled by hand", 0, { setting($0, "spec.replicas", .int(5)) }, ["spec.replicas: 5 → 3"]),
        ("extra label", 0, { setting($0, "metadata.labels.extra", .string("x")) }, ["metadata.labels.extra: - \"x\""]),
        ("env removed", 0, { setting($0, "spec.template.spec.containers[0].env", nil) },
         ["spec.template.spec.containers[0].env: + [{\"name\":\"A\",\"value\":\"1\"}]"]),
        ("not owned yet", 1, { setting($0, "metadata.labels", nil) },
         ["metadata.labels: + {\"berth.dev/source\":\"shop\"}"]),
        ("cpu", 0, { setting($0, "spec.template.spec.containers[0].resources.limits.cpu", .string("500m")) },
         ["spec.template.spec.containers[0].resources.limits.cpu: \"500m\" → \"1\""]),
        ("secret value", 2, { setting($0, "data.password", .string("b2xkcGFzcw==")) },
         ["data.password: (redacted, 7 bytes) → (redacted, 7 bytes)"]),
        ("secret key added", 2, { setting($0, "data", .object([:])) },
         ["data: + {\"password\":\"(redacted, 7 bytes)\"}"]),
    ]

    @Test(arguments: drift.indices)
    func realDifferencesAreListedField(case index: Int) throws {
        let (name, objectIndex, mutate, expected) = Self.drift[index]
        let objects = try desired(app)
        var live = objects.map(applied)
        live[objectIndex] = mutate(live[objectIndex])
        let result = plan(desired: objects, live: live, source: source)
        #expect(result.updates.map(\.key) == [objects[objectIndex].key], "\(name)")
        #expect(result.updates.first?.changes.map(\.description) == expected, "\(name)")
        #expect(result.unchanged.count == 2)
    }

    @Test func secretValuesNeverAppearInThePlanText() throws {
        let objects = try desired(app)
        var live = objects.map(applied)
        live[2] = setting(live[2], "data.password", .string(Data("oldsecret".utf8).base64EncodedString()))
        let result = plan(desired: objects, live: live, source: source)
        let text = result.items.flatMap(\.changes).map(\.description).joined()
        for secret in ["hunter2", "aHVudGVyMg==", "oldsecret", Data("oldsecret".utf8).base64EncodedString()] {
            #expect(!text.contains(secret))
        }
    }
}

@Suite struct PlanOwnershipTests {
    private func live(_ kind: String, _ name: String, labels: [String: String], apiVersion: String = "v1",
                      ownerController: Bool = false) -> JSONValue {
        var metadata: [String: JSONValue] = ["name": .string(name), "namespace": .string("shop"),
                                             "labels": .object(labels.mapValues(JSONValue.string))]
        if ownerController {
            metadata["ownerReferences"] = .array([.object(["kind": .string("ReplicaSet"), "name": .string("web-1"),
                                                           "controller": .bool(true)])])
        }
        return .object(["apiVersion": .string(apiVersion), "kind": .string(kind), "metadata": .object(metadata)])
    }

    @Test func onlyObjectsOwnedByTheSourceArePruned() throws {
        let objects = try desired(app)
        let live = objects.map(applied) + [
            live("ConfigMap", "old-config", labels: [WellKnown.sourceLabel: source]),
            live("ConfigMap", "hand-made", labels: [:]),
            live("ConfigMap", "other-source", labels: [WellKnown.sourceLabel: "billing"]),
            live("Pod", "web-1-abcde", labels: [WellKnown.sourceLabel: source], ownerController: true),
            live("ReplicaSet", "web-1", labels: [WellKnown.sourceLabel: source], apiVersion: "apps/v1"),
            live("Deployment", "old-app", labels: [WellKnown.sourceLabel: source], apiVersion: "apps/v1"),
        ]
        let result = plan(desired: objects, live: live, source: source)
        #expect(result.deletes.map(\.key.description) == ["Deployment/shop/old-app", "ConfigMap/shop/old-config"])
        #expect(result.items.count == 5)
        #expect(result.summary == "0 to create, 0 to update, 2 to delete, 3 unchanged")
    }

    @Test func desiredObjectsGetTheOwnershipLabel() throws {
        let result = plan(desired: try desired(app), live: [], source: source)
        #expect(result.creates.count == 3)
        for item in result.creates {
            #expect(item.desired?["metadata"]?["labels"]?[WellKnown.sourceLabel] == .string(source))
            #expect(item.hash == item.desired.map(ObjectNormalizer.contentHash))
            #expect(item.location?.file == "app.yaml")
        }
    }

    @Test func emptyDesiredPrunesEverythingOwned() {
        let live = [live("Service", "web", labels: [WellKnown.sourceLabel: source])]
        let result = plan(desired: [], live: live, source: source)
        #expect(result.deletes.map(\.key.description) == ["Service/shop/web"])
        #expect(!result.isEmpty)
    }
}

@Suite struct PlanOrderTests {
    @Test func applyOrderIsKindThenWaveThenName() throws {
        let objects = try desired("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: b-app, namespace: shop}
            spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: z-first, namespace: shop, annotations: {berth.dev/sync-wave: "-1"}}
            spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: a-pod, namespace: shop}
            spec: {containers: [{name: c, image: i}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            spec: {ports: [{port: 80}]}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: s, namespace: shop}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: late, namespace: shop, annotations: {berth.dev/sync-wave: "5"}}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: early, namespace: shop}
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop}
            """)
        let stale: [JSONValue] = [
            try json(#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"old","labels":{"berth.dev/source":"shop"}}}"#),
            try json(#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"old","namespace":"shop","labels":{"berth.dev/source":"shop"}}}"#),
            try json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"old","namespace":"shop","labels":{"berth.dev/source":"shop"}}}"#),
        ]
        let result = plan(desired: objects.reversed(), live: stale, source: source)
        #expect(result.items.map { "\($0.action.rawValue) \($0.key)" } == [
            "create Namespace/shop",
            "create ConfigMap/shop/early",
            "create ConfigMap/shop/late",
            "create Secret/shop/s",
            "create Service/shop/web",
            "create Deployment/shop/z-first",
            "create Deployment/shop/b-app",
            "create Pod/shop/a-pod",
            "delete Deployment/shop/old",
            "delete ConfigMap/shop/old",
            "delete Namespace/old",
        ])
    }
}

@Suite struct PlanReportTests {
    @Test func reportListsActionsAndRedactedChanges() throws {
        let objects = try desired(app)
        var live = objects.map(applied)
        live[0] = setting(live[0], "spec.replicas", .int(2))
        live[2] = setting(live[2], "data.password", .string("c2VjcmV0LXZhbHVl"))
        live.remove(at: 1)
        live.append(try json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"old","namespace":"shop","labels":{"berth.dev/source":"shop"}}}"#))
        let report = plan(desired: objects, live: live, source: source).report
        #expect(report == """
            ~ update Secret/shop/db (app.yaml:24:1)
                data.password: (redacted, 12 bytes) → (redacted, 7 bytes)
            + create Service/shop/web (app.yaml:17:1)
            ~ update Deployment/shop/web (app.yaml:1:1)
                spec.replicas: 2 → 3
            - delete ConfigMap/shop/old
            1 to create, 2 to update, 1 to delete, 0 unchanged
            """)
        #expect(!report.contains("c2VjcmV0") && !report.contains("hunter2"))
    }
}
