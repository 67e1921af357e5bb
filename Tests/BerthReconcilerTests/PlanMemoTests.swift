import BerthAPI
import BerthManifests
@testable import BerthReconciler
import Foundation
import Testing

/// The plan memo: a decision is reused only while the manifest and the live
/// object it was made against are unchanged. The tests plant a marker in a
/// remembered decision to see whether it was reused or planned again.
@Suite struct PlanMemoTests {
    static let source = "shop"
    static let manifests = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-config, namespace: shop}
        data: {greeting: hello}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: "nginx:1.27"}]}
        """

    static func desired(_ yaml: String = manifests) -> [ManifestObject] {
        let result = ManifestLoader.load(files: [ManifestFile(path: "app.yaml", data: Data(yaml.utf8))])
        #expect(result.errors.isEmpty, "\(result.errors)")
        return result.objects
    }

    /// `object` as the store holds it: the ownership label, uid, generation and resourceVersion.
    static func stored(_ object: ManifestObject, version: Int, generation: Int = 1) -> JSONValue {
        var tree = object.tree
        ManifestLoader.addSourceLabel(&tree, source: source)
        tree["metadata"]?["uid"] = .string("uid-\(object.key.name)")
        tree["metadata"]?["generation"] = .int(generation)
        tree["metadata"]?["resourceVersion"] = .string(String(version))
        return tree
    }

    static let marker = FieldChange(path: "planted", old: nil, new: "by the test")

    /// Marks every remembered decision, so a plan that reuses one shows it.
    static func plant(_ memo: inout [ObjectKey: PlanMemo]) {
        for key in memo.keys {
            memo[key]?.item.action = .update
            memo[key]?.item.changes = [marker]
        }
    }

    static func reused(_ plan: Plan, _ name: String) -> Bool {
        plan.items.first { $0.key.name == name }?.changes == [marker]
    }

    @Test func theSameLiveObjectReusesTheDecision() {
        let objects = Self.desired()
        let live = objects.map { Self.stored($0, version: 10) }
        var memo: [ObjectKey: PlanMemo] = [:]
        let first = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        #expect(first.isEmpty)
        #expect(memo.count == 2)
        #expect(memo.values.allSatisfy { $0.liveVersion == "10" })

        Self.plant(&memo)
        let second = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        #expect(Self.reused(second, "web") && Self.reused(second, "web-config"))
    }

    @Test func aControllerWriteThePlanIgnoresStillReusesAndMovesTheVersion() {
        let objects = Self.desired()
        var live = objects.map { Self.stored($0, version: 10) }
        var memo: [ObjectKey: PlanMemo] = [:]
        _ = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        Self.plant(&memo)
        // The Deployment controller writes status and its revision annotation: a new version, same generation.
        live[1]["status"] = ["observedGeneration": 1, "replicas": 2]
        live[1]["metadata"]?["annotations"] = ["deployment.kubernetes.io/revision": "1"]
        live[1]["metadata"]?["resourceVersion"] = "11"
        let plan = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        #expect(Self.reused(plan, "web"))
        #expect(plan.items.first { $0.key.name == "web" }?.live?["status"] != nil, "the item carries the live object of now")
        #expect(memo[objects[1].key]?.liveVersion == "11")
    }

    /// The memo keeps decisions, not live trees: a reused decision carries
    /// the live object of the plan at hand, and the memo pins no old copy.
    @Test func theMemoHoldsNoLiveTrees() {
        let objects = Self.desired()
        var live = objects.map { Self.stored($0, version: 10) }
        var memo: [ObjectKey: PlanMemo] = [:]
        _ = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        for key in memo.keys { memo[key]?.settle(applied: live[key.name == "web" ? 1 : 0]) }
        #expect(memo.values.allSatisfy { $0.item.live == nil })
        live[1]["status"] = ["replicas": 2]
        live[1]["metadata"]?["resourceVersion"] = "12"
        let plan = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        #expect(plan.items.first { $0.key.name == "web" }?.live?["status"] != nil)
        #expect(plan.items.allSatisfy { $0.live != nil })
        #expect(memo.values.allSatisfy { $0.item.live == nil })
    }

    @Test func aChangedLiveObjectIsPlannedAgain() {
        let objects = Self.desired()
        var live = objects.map { Self.stored($0, version: 10) }
        var memo: [ObjectKey: PlanMemo] = [:]
        _ = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        Self.plant(&memo)
        // `berth scale`: the spec changes, the store bumps generation and version.
        live[1]["spec"]?["replicas"] = 5
        live[1]["metadata"]?["generation"] = 2
        live[1]["metadata"]?["resourceVersion"] = "12"
        // Someone removes the ownership label: metadata only, a new version.
        live[0]["metadata"]?["labels"] = .object([:])
        live[0]["metadata"]?["resourceVersion"] = "13"
        let plan = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        let web = plan.items.first { $0.key.name == "web" }
        let config = plan.items.first { $0.key.name == "web-config" }
        #expect(web?.action == .update)
        #expect(web?.changes.map(\.path) == ["spec.replicas"])
        #expect(config?.action == .update)
        #expect(config?.changes.map(\.path) == ["metadata.labels"], "\(config?.changes ?? [])")
        #expect(memo[objects[1].key]?.liveVersion == "12")
    }

    @Test func aChangedManifestIsPlannedAgain() {
        var memo: [ObjectKey: PlanMemo] = [:]
        let objects = Self.desired()
        let live = objects.map { Self.stored($0, version: 10) }
        _ = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        Self.plant(&memo)
        let changed = Self.desired(Self.manifests.replacingOccurrences(of: "greeting: hello", with: "greeting: hi"))
        let plan = Planner(source: Self.source).plan(desired: changed, live: live, memo: &memo)
        #expect(Self.reused(plan, "web"))
        let config = plan.items.first { $0.key.name == "web-config" }
        #expect(config?.action == .update)
        #expect(config?.changes.map(\.path) == ["data.greeting"])
    }

    @Test func objectsNoLongerDesiredLeaveTheMemo() {
        var memo: [ObjectKey: PlanMemo] = [:]
        let objects = Self.desired()
        let live = objects.map { Self.stored($0, version: 10) }
        _ = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        #expect(memo.count == 2)
        let plan = Planner(source: Self.source).plan(desired: [objects[0]], live: live, memo: &memo)
        #expect(Array(memo.keys) == [objects[0].key])
        #expect(plan.deletes.map(\.key.name) == ["web"])
    }

    @Test func aSettledApplyIsRememberedAtTheWrittenVersion() {
        let objects = Self.desired()
        var memo: [ObjectKey: PlanMemo] = [:]
        let plan = Planner(source: Self.source).plan(desired: objects, live: [], memo: &memo)
        #expect(plan.creates.count == 2)
        #expect(memo.values.allSatisfy { $0.live == nil && $0.liveVersion == nil })
        let live = objects.map { Self.stored($0, version: 20) }
        for (object, tree) in zip(objects, live) { memo[object.key]?.settle(applied: tree) }
        #expect(memo.values.allSatisfy { $0.liveVersion == "20" && $0.item.action == .unchanged })
        Self.plant(&memo)
        let next = Planner(source: Self.source).plan(desired: objects, live: live, memo: &memo)
        #expect(Self.reused(next, "web") && Self.reused(next, "web-config"))
    }
}
