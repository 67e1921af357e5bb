import BerthAPI
import Foundation
import Testing
@testable import BerthOrchestrator

/// TreeDecoder and TreeEncoder must give what the JSON-bytes round trip
/// (`JSONValue.decode`, `JSONValue(encoding:)`) gives: the store backend
/// switched to them for speed, not for different results.
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

    @Test func decodesAsTheJSONRoundTripDoes() throws {
        let tree = try Self.tree(Self.podJSON)
        let fast = try TreeDecoder.decode(Pod.self, from: tree)
        let slow = try tree.decode(Pod.self)
        #expect(fast == slow)
        #expect(fast.spec.containers[0].readinessProbe?.periodSeconds == 1)
        #expect(fast.status?.containerStatuses?.first?.restartCount == 2)
        #expect(try TreeDecoder.decode(Deployment.self, from: Self.tree(#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": []}}, "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}}"#))
            == Self.tree(#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": []}}, "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}}"#).decode(Deployment.self))
    }

    @Test func encodesAsTheJSONRoundTripDoes() throws {
        let pod = try Self.tree(Self.podJSON).decode(Pod.self)
        #expect(try TreeEncoder.encode(pod) == JSONValue(encoding: pod))
        let deployment = try Self.tree(#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}"#).decode(Deployment.self)
        #expect(try TreeEncoder.encode(deployment) == JSONValue(encoding: deployment))
        // Whole-number doubles become ints, as the JSON parser reads them.
        #expect(try TreeEncoder.encode([1.0, 2.5]) == JSONValue(encoding: [1.0, 2.5]))
        #expect(try TreeEncoder.encode(["a": nil, "b": 1] as [String: Int?]) == JSONValue(encoding: ["a": nil, "b": 1] as [String: Int?]))
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
