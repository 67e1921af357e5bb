import BerthAPI
import BerthServer
import BerthStore
import Foundation
import Testing

func configMapBody(_ name: String, labels: [String: String] = [:], data: [String: String] = ["k": "v"]) -> JSONValue {
    [
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": ["name": .string(name), "labels": .object(labels.mapValues(JSONValue.string))],
        "data": .object(data.mapValues(JSONValue.string)),
    ]
}

func deploymentBody(_ name: String, replicas: Int = 1) -> JSONValue {
    [
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": ["name": .string(name), "labels": ["app": .string(name)]],
        "spec": [
            "replicas": .int(replicas),
            "selector": ["matchLabels": ["app": .string(name)]],
            "template": [
                "metadata": ["labels": ["app": .string(name)]],
                "spec": ["containers": [["name": "main", "image": "busybox"]]],
            ],
        ],
    ]
}

/// A LogProvider for the server's side of the log seam; the runtime's real
/// provider is tested with real containers in its own module.
struct FixedLogProvider: LogProvider {
    func logs(namespace: String, pod: String, container: String, tailLines: Int?, follow: Bool) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let lines = (1...5).map { "\(namespace)/\(pod)/\(container) line \($0)\n" }
        let selected = tailLines.map { Array(lines.suffix($0)) } ?? lines
        return AsyncThrowingStream { continuation in
            for line in selected { continuation.yield(Array(line.utf8)) }
            continuation.finish()
        }
    }
}

@Suite struct ServerAuthTests {
    @Test func healthAndReadinessNeedNoToken() async throws {
        try await TestServer.with { server in
            let health = try await server.request("GET", "/healthz", token: .some(nil))
            #expect(health.status == 200)
            let ready = try await server.request("GET", "/readyz", token: .some(nil))
            #expect(ready.status == 200)
        }
    }

    @Test func apiNeedsTheToken() async throws {
        try await TestServer.with { server in
            let none = try await server.request("GET", "/api/v1/namespaces/default/pods", token: .some(nil))
            #expect(none.status == 401)
            #expect(none.json?["kind"] == "Status")
            #expect(none.json?["reason"] == "Unauthorized")
            let wrong = try await server.request("GET", "/api/v1/namespaces/default/pods", token: .some(String(repeating: "0", count: 64)))
            #expect(wrong.status == 401)
            let right = try await server.request("GET", "/api/v1/namespaces/default/pods")
            #expect(right.status == 200)
            #expect(right.json?["kind"] == "PodList")
        }
    }

    @Test func tokenFileIsPrivateAndStable() throws {
        let dir = NSTemporaryDirectory() + "berth-token-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try APIToken.loadOrCreate(dataDirectory: dir)
        #expect(first.count == 64)
        #expect(first.allSatisfy { $0.isHexDigit })
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/token")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try APIToken.loadOrCreate(dataDirectory: dir) == first)
        #expect(APIToken.constantTimeEquals(first, first))
        #expect(!APIToken.constantTimeEquals(first, String(first.dropLast()) + "x"))
        #expect(!APIToken.constantTimeEquals(first, first + "0"))
    }
}

@Suite struct ServerCRUDTests {
    @Test func createGetUpdateDeleteConfigMap() async throws {
        try await TestServer.with { server in
            let path = "/api/v1/namespaces/default/configmaps"
            let created = try await server.request("POST", path, body: configMapBody("web"))
            #expect(created.status == 201)
            let rv = try #require(created.json?["metadata"]?["resourceVersion"]?.stringValue)
            #expect(created.json?["metadata"]?["uid"]?.stringValue?.isEmpty == false)

            let again = try await server.request("POST", path, body: configMapBody("web"))
            #expect(again.status == 409)
            #expect(again.json?["reason"] == "AlreadyExists")

            let fetched = try await server.request("GET", path + "/web")
            #expect(fetched.status == 200)
            #expect(fetched.json?["data"]?["k"] == "v")

            var changed = try #require(fetched.json)
            changed["data"] = ["k": "v2"]
            let updated = try await server.request("PUT", path + "/web", body: changed)
            #expect(updated.status == 200)
            #expect(updated.json?["data"]?["k"] == "v2")

            // The same body again carries the old resourceVersion now: conflict.
            var stale = changed
            stale["metadata"]?["resourceVersion"] = .string(rv)
            let conflict = try await server.request("PUT", path + "/web", body: stale)
            #expect(conflict.status == 409)
            #expect(conflict.json?["kind"] == "Status")
            #expect(conflict.json?["status"] == "Failure")
            #expect(conflict.json?["reason"] == "Conflict")
            #expect(conflict.json?["code"] == 409)

            let mismatch = try await server.request("PUT", path + "/other", body: changed)
            #expect(mismatch.status == 422)

            let deleted = try await server.request("DELETE", path + "/web")
            #expect(deleted.status == 200)
            let gone = try await server.request("GET", path + "/web")
            #expect(gone.status == 404)
            #expect(gone.json?["reason"] == "NotFound")
            #expect(gone.json?["message"]?.stringValue?.contains("configmaps \"web\" not found") == true)
        }
    }

    @Test func unknownResourceAndBadBodyAreStatusErrors() async throws {
        try await TestServer.with { server in
            let unknown = try await server.request("GET", "/api/v1/namespaces/default/widgets")
            #expect(unknown.status == 404)
            #expect(unknown.json?["kind"] == "Status")
            let wrongGroup = try await server.request("GET", "/api/v1/namespaces/default/deployments")
            #expect(wrongGroup.status == 404)
            let garbage = try await server.request("POST", "/api/v1/namespaces/default/configmaps", body: "not an object")
            #expect(garbage.status == 422)
            #expect(garbage.json?["reason"] == "Invalid")
        }
    }

    @Test func listsAllNamespacesAndLabelSelectors() async throws {
        try await TestServer.with { server in
            _ = try await server.request("POST", "/api/v1/namespaces", body: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "shop"]])
            _ = try await server.request("POST", "/api/v1/namespaces/default/configmaps", body: configMapBody("a", labels: ["app": "web"]))
            _ = try await server.request("POST", "/api/v1/namespaces/default/configmaps", body: configMapBody("b", labels: ["app": "db"]))
            _ = try await server.request("POST", "/api/v1/namespaces/shop/configmaps", body: configMapBody("c", labels: ["app": "web"]))

            let inDefault = try await server.request("GET", "/api/v1/namespaces/default/configmaps")
            #expect(inDefault.json?["items"]?.arrayValue?.count == 2)
            #expect(inDefault.json?["kind"] == "ConfigMapList")
            #expect(inDefault.json?["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int($0) } ?? 0 > 0)

            let all = try await server.request("GET", "/api/v1/configmaps")
            #expect(all.json?["items"]?.arrayValue?.count == 3)

            let web = try await server.request("GET", "/api/v1/configmaps?labelSelector=app%3Dweb")
            let names = web.json?["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue }
            #expect(names == ["a", "c"])

            let notWeb = try await server.request("GET", "/api/v1/namespaces/default/configmaps?labelSelector=app%21%3Dweb")
            #expect(notWeb.json?["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue } == ["b"])

            let namespaces = try await server.request("GET", "/api/v1/namespaces")
            #expect(namespaces.json?["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue } == ["default", "shop"])
            let shop = try await server.request("GET", "/api/v1/namespaces/shop")
            #expect(shop.status == 200)
            #expect(shop.json?["kind"] == "Namespace")
        }
    }

    @Test func deploymentsScaleAndStatus() async throws {
        try await TestServer.with { server in
            let path = "/apis/apps/v1/namespaces/default/deployments"
            let created = try await server.request("POST", path, body: deploymentBody("web", replicas: 1))
            #expect(created.status == 201)
            #expect(created.json?["metadata"]?["generation"] == 1)

            let scaled = try await server.request(
                "PATCH", path + "/web/scale", body: ["spec": ["replicas": 4]], contentType: "application/merge-patch+json")
            #expect(scaled.status == 200)
            #expect(scaled.json?["kind"] == "Scale")
            #expect(scaled.json?["spec"]?["replicas"] == 4)
            #expect(scaled.json?["status"]?["selector"] == "app=web")

            let after = try await server.request("GET", path + "/web")
            #expect(after.json?["spec"]?["replicas"] == 4)
            #expect(after.json?["metadata"]?["generation"] == 2)

            let status = try await server.request(
                "PATCH", path + "/web/status", body: ["status": ["replicas": 4, "readyReplicas": 2]],
                contentType: "application/merge-patch+json")
            #expect(status.status == 200)
            #expect(status.json?["status"]?["readyReplicas"] == 2)
            #expect(status.json?["metadata"]?["generation"] == 2)

            let patched = try await server.request(
                "PATCH", path + "/web", body: ["metadata": ["labels": ["tier": "front"]]], contentType: "application/merge-patch+json")
            #expect(patched.json?["metadata"]?["labels"]?["tier"] == "front")
            #expect(patched.json?["metadata"]?["labels"]?["app"] == "web")

            let list = try await server.request("GET", "/apis/apps/v1/deployments")
            #expect(list.json?["kind"] == "DeploymentList")
            #expect(list.json?["apiVersion"] == "apps/v1")
        }
    }

    @Test func secretStringDataIsFoldedIntoData() async throws {
        try await TestServer.with { server in
            let created = try await server.request(
                "POST", "/api/v1/namespaces/default/secrets",
                body: ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "db"], "stringData": ["password": "hunter2"]])
            #expect(created.status == 201)
            #expect(created.json?["data"]?["password"] == .string(Data("hunter2".utf8).base64EncodedString()))
            #expect(created.json?["stringData"] == nil)
        }
    }
}

@Suite struct ServerEventsAndLogsTests {
    @Test func eventsAreListedAndFilteredByInvolvedObject() async throws {
        try await TestServer.with { server in
            let pod = ObjectReference(apiVersion: "v1", kind: "Pod", namespace: "default", name: "web-1")
            try await server.store.recordEvent(about: pod, type: .warning, reason: "BackOff", message: "restarting")
            try await server.store.recordEvent(about: pod, type: .warning, reason: "BackOff", message: "restarting")
            try await server.store.recordEvent(
                about: ObjectReference(kind: "Pod", namespace: "default", name: "web-2"), reason: "Started", message: "ok")
            let all = try await server.request("GET", "/api/v1/namespaces/default/events")
            #expect(all.json?["kind"] == "EventList")
            #expect(all.json?["items"]?.arrayValue?.count == 2)
            let one = try await server.request(
                "GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb-1,involvedObject.kind%3DPod")
            let items = try #require(one.json?["items"]?.arrayValue)
            #expect(items.count == 1)
            #expect(items.first?["count"] == 2)
            #expect(items.first?["reason"] == "BackOff")
        }
    }

    @Test func podLogsGoThroughTheProvider() async throws {
        try await TestServer.with(logProvider: FixedLogProvider()) { server in
            var pod: JSONValue = [
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "web-1"],
                "spec": ["containers": [["name": "main", "image": "busybox"]]],
            ]
            _ = try await server.request("POST", "/api/v1/namespaces/default/pods", body: pod)
            let logs = try await server.request("GET", "/api/v1/namespaces/default/pods/web-1/log?tailLines=2")
            #expect(logs.status == 200)
            #expect(logs.text == "default/web-1/main line 4\ndefault/web-1/main line 5\n")
            let wrong = try await server.request("GET", "/api/v1/namespaces/default/pods/web-1/log?container=nope")
            #expect(wrong.status == 422)
            #expect(wrong.json?["message"]?.stringValue?.contains("choose one of: main") == true)

            pod["metadata"] = ["name": "two"]
            pod["spec"] = ["containers": [["name": "a", "image": "x"], ["name": "b", "image": "y"]]]
            _ = try await server.request("POST", "/api/v1/namespaces/default/pods", body: pod)
            let ambiguous = try await server.request("GET", "/api/v1/namespaces/default/pods/two/log")
            #expect(ambiguous.status == 422)
            let chosen = try await server.request("GET", "/api/v1/namespaces/default/pods/two/log?container=b")
            #expect(chosen.text.hasPrefix("default/two/b line 1"))
            let missing = try await server.request("GET", "/api/v1/namespaces/default/pods/nope/log")
            #expect(missing.status == 404)
        }
    }

    @Test func logsWithoutRuntimeAreUnavailable() async throws {
        try await TestServer.with { server in
            _ = try await server.request(
                "POST", "/api/v1/namespaces/default/pods",
                body: ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"], "spec": ["containers": [["name": "c", "image": "i"]]]])
            let reply = try await server.request("GET", "/api/v1/namespaces/default/pods/p/log")
            #expect(reply.status == 503)
            #expect(reply.json?["reason"] == "ServiceUnavailable")
        }
    }
}
