import Foundation
import Testing
@testable import BerthAPI

/// TreeDecoder and TreeEncoder (under `JSONValue.decode` and
/// `JSONValue(encoding:)`) must give what the round trip through JSON bytes
/// with Foundation's JSONEncoder/JSONDecoder gives: they replaced it for
/// speed, not for different results.
@Suite struct TreeCodingTests {
    /// A pod using most of the model: nested objects, arrays, optionals,
    /// enums, IntOrString, quantities, maps, and a field the model does not know.
    static let podJSON = """
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1", "resourceVersion": "42", "generation": 3,
                  "labels": {"app": "web", "pod-template-hash": "abc"}, "annotations": {"a": "b"},
                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-1", "controller": true}],
                  "finalizers": ["berth.dev/kubelet"]},
     "spec": {"nodeName": "node-a", "restartPolicy": "Always", "terminationGracePeriodSeconds": 2,
              "containers": [{"name": "httpd", "image": "busybox:1", "command": ["sh", "-c", "exec httpd"],
                              "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                              "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                              "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": "1.5"}},
                              "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
                              "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5}}],
              "affinity": {"nodeAffinity": {}}},
     "status": {"phase": "Running", "podIP": "10.1.0.5",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-29T12:18:05.123Z"}],
                "containerStatuses": [{"name": "httpd", "image": "busybox:1", "ready": true, "restartCount": 2, "started": true,
                                       "state": {"running": {"startedAt": "2026-11-29T12:18:05.004Z"}},
                                       "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}}
    """

    static func tree(_ json: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
    }

    /// The tree JSONEncoder's bytes parse to (what `JSONValue(encoding:)` used to do).
    static func viaBytes(_ value: some Encodable) throws -> JSONValue {
        try JSONText.decode(String(decoding: JSONEncoder().encode(value), as: UTF8.self))
    }

    /// What JSONDecoder gives for the tree's bytes (what `JSONValue.decode` used to do).
    static func viaBytes<T: Decodable>(_ type: T.Type, _ tree: JSONValue) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(JSONText.encode(tree).utf8))
    }

    @Test func decodesAsTheJSONRoundTripDoes() throws {
        let tree = try Self.tree(Self.podJSON)
        let fast = try tree.decode(Pod.self)
        let slow = try Self.viaBytes(Pod.self, tree)
        #expect(fast == slow)
        #expect(fast.spec.containers[0].readinessProbe?.periodSeconds == 1)
        #expect(fast.status?.containerStatuses?.first?.restartCount == 2)
        let deployment = try Self.tree(#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": []}}, "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}}"#)
        #expect(try TreeDecoder.decode(Deployment.self, from: deployment) == Self.viaBytes(Deployment.self, deployment))
    }

    @Test func encodesAsTheJSONRoundTripDoes() throws {
        let pod = try Self.tree(Self.podJSON).decode(Pod.self)
        #expect(try TreeEncoder.encode(pod) == Self.viaBytes(pod))
        #expect(try JSONValue(encoding: pod) == Self.viaBytes(pod))
        let deployment = try Self.tree(#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}"#).decode(Deployment.self)
        #expect(try TreeEncoder.encode(deployment) == Self.viaBytes(deployment))
        // Whole-number doubles become ints, as the JSON parser reads them.
        #expect(try TreeEncoder.encode([1.0, 2.5]) == Self.viaBytes([1.0, 2.5]))
        #expect(try TreeEncoder.encode(["a": nil, "b": 1] as [String: Int?]) == Self.viaBytes(["a": nil, "b": 1] as [String: Int?]))
    }

    /// The Foundation types JSONEncoder and JSONDecoder special-case by default.
    struct Blob: Codable, Equatable {
        var data: Data
        var url: URL
        var date: Date
        var ratio: Double
    }

    @Test func foundationTypesAsJSONEncoderAndDecoderTreatThem() throws {
        let blob = Blob(data: Data([0, 1, 2, 250]), url: URL(string: "https://example.com/a?b=c")!, date: Date(timeIntervalSinceReferenceDate: 12.5), ratio: 0.25)
        let tree = try JSONValue(encoding: blob)
        #expect(try tree == Self.viaBytes(blob))
        #expect(tree["data"] == .string("AAEC+g=="))
        #expect(tree["url"] == .string("https://example.com/a?b=c"))
        #expect(try tree.decode(Blob.self) == blob)
        #expect(try Self.viaBytes(Blob.self, tree) == blob)
        // JSON has no NaN or infinity: both coders refuse them.
        #expect(throws: EncodingError.self) { try JSONValue(encoding: [Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONEncoder().encode([Double.nan]) }
        #expect(throws: DecodingError.self) { try JSONValue.object(["data": .string("not base64!"), "url": .string("u"), "date": .int(0), "ratio": .int(1)]).decode(Blob.self) }
    }

    @Test func errorsNameTheFieldAndTheType() throws {
        let bad = try Self.tree(#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "generation": "three"}, "spec": {"containers": []}}"#)
        #expect(throws: DecodingError.self) { try TreeDecoder.decode(Pod.self, from: bad) }
        do {
            _ = try TreeDecoder.decode(Pod.self, from: bad)
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["metadata", "generation"])
        }
        let missing = try Self.tree(#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}"#)
        #expect(throws: DecodingError.self) { try TreeDecoder.decode(Pod.self, from: missing) }
        // Integers must fit; a fraction is not an Int.
        #expect(throws: DecodingError.self) { try TreeDecoder.decode(Int8.self, from: .int(300)) }
        #expect(throws: DecodingError.self) { try TreeDecoder.decode(Int.self, from: .double(2.5)) }
        #expect(try TreeDecoder.decode(Int.self, from: .double(2)) == 2)
    }
}
