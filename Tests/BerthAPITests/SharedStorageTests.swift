import Testing

@testable import BerthAPI

@Suite struct SharedStorageTests {
    /// The address of a dictionary's or array's storage: equal addresses, one copy in memory.
    func storage(_ value: JSONValue?) -> Int? {
        switch value {
        case .object(let fields)?: return unsafeBitCast(fields, to: Int.self)
        case .array(let items)?: return unsafeBitCast(items, to: Int.self)
        default: return nil
        }
    }

    let manifest: JSONValue = .object([
        "metadata": .object(["name": "web", "labels": .object(["app": "web"])]),
        "spec": .object([
            "replicas": .int(3),
            "template": .object(["containers": .array([.object(["name": "main", "image": "busybox"])])]),
            "ports": .array([.int(80), .int(443)]),
        ]),
    ])

    @Test func equalSubtreesComeFromTheOtherTree() throws {
        // A rebuilt copy (as the normalizer makes one) holds its own storage everywhere.
        var normalized = try JSONText.decode(JSONText.encode(manifest))
        normalized["metadata"]?["labels"]?["berth.dev/source"] = "demo"
        normalized["spec"]?["ports"] = .array([.int(80), .int(8443)])
        #expect(storage(normalized["spec"]?["template"]) != storage(manifest["spec"]?["template"]))

        let shared = normalized.sharingStorage(with: manifest)
        #expect(shared == normalized)
        #expect(storage(shared["spec"]?["template"]) == storage(manifest["spec"]?["template"]))
        // Where the trees differ, the value stays this tree's.
        #expect(shared["metadata"]?["labels"]?["berth.dev/source"] == "demo")
        #expect(storage(shared["metadata"]?["labels"]) != storage(manifest["metadata"]?["labels"]))
        #expect(shared["spec"]?["ports"] == .array([.int(80), .int(8443)]))
    }

    @Test func unrelatedTreesAreLeftAsTheyAre() throws {
        let other: JSONValue = .object(["metadata": .array([.int(1)]), "spec": "text"])
        #expect(manifest.sharingStorage(with: other) == manifest)
        #expect(JSONValue.int(3).sharingStorage(with: .double(3)) == .int(3))
        let identical = try JSONText.decode(JSONText.encode(manifest))
        #expect(storage(identical.sharingStorage(with: manifest)) == storage(manifest))
    }
}
