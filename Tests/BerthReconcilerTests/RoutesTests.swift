import BerthAPI
@testable import BerthReconciler
import BerthServer
import BerthStore
import Foundation
import Logging
import ServiceLifecycle
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The reconciler's HTTP surface on a real Hummingbird server on 127.0.0.1.
@Suite(.serialized) struct RoutesTests {
    struct Reply {
        var status: Int
        var json: JSONValue?
        var text: String
    }

    static func request(_ port: Int, _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0,
                     json: try? JSONDecoder().decode(JSONValue.self, from: data), text: String(decoding: data, as: UTF8.self))
    }

    @Test func webhooksApiAndMetricsOverHTTP() async throws {
        try await SyncHarness.with { h in
            try await h.sync(.startup)
            let token = try APIToken.loadOrCreate(dataDirectory: h.directory + "/data")
            var logger = Logger(label: "berth.test")
            logger.logLevel = .warning
            let api = APIServer(store: h.store, token: token, routeProviders: [
                WebhookRoutes(handler: WebhookHandler(reconciler: h.reconciler), maxBodySize: 4096),
                SourcesRoutes(reconciler: h.reconciler),
                MetricsRoutes(metrics: h.reconciler.metrics),
            ], logger: logger)
            let (ports, sink) = AsyncStream<Int>.makeStream()
            let group = ServiceGroup(configuration: .init(
                services: [api.makeApplication(host: "127.0.0.1", port: 0, onListening: { sink.yield($0) })], logger: logger))
            let running = Task { try await group.run() }
            defer { Task { await group.triggerGracefulShutdown() }; running.cancel() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let auth = ["Authorization": "Bearer \(token)"]

            // Webhooks: no bearer token needed, own auth.
            let payload = h.pushPayload().canonicalJSON()
            let signature = "sha256=" + WebhookSignature.hmacSHA256Hex(secret: "hook-secret", body: payload)
            let ok = try await Self.request(port, "POST", "/hooks/github", body: payload,
                                            headers: ["X-Hub-Signature-256": signature, "X-GitHub-Event": "push", "Content-Type": "application/json"])
            #expect(ok.status == 202, "\(ok.text)")
            #expect(ok.json?["sync"]?.intValue != nil)
            let wrong = try await Self.request(port, "POST", "/hooks/github", body: payload,
                                               headers: ["X-Hub-Signature-256": "sha256=" + String(repeating: "0", count: 64), "X-GitHub-Event": "push"])
            #expect(wrong.status == 401)
            #expect(!wrong.text.contains("signature"))
            let sha1 = try await Self.request(port, "POST", "/hooks/github", body: payload,
                                              headers: ["X-Hub-Signature": "sha1=" + String(repeating: "0", count: 40), "X-GitHub-Event": "push"])
            #expect(sha1.status == 401)
            let big = try await Self.request(port, "POST", "/hooks/github?source=shop", body: Data(repeating: 0x20, count: 10_000),
                                             headers: ["X-Hub-Signature-256": signature, "X-GitHub-Event": "push"])
            #expect(big.status == 413)
            let unknown = try await Self.request(port, "POST", "/hooks/gitlab?source=nope", body: payload, headers: ["X-Gitlab-Token": "x"])
            #expect(unknown.status == 404)
            let gitlab = try await Self.request(port, "POST", "/hooks/gitlab?source=shop", body: payload,
                                                headers: ["X-Gitlab-Token": "hook-secret", "X-Gitlab-Event": "Push Hook"])
            #expect(gitlab.status == 202, "\(gitlab.text)")
            let generic = try await Self.request(port, "POST", "/hooks/generic?source=shop", body: Data(), headers: ["Authorization": "Bearer hook-secret"])
            #expect(generic.status == 202, "\(generic.text)")

            // API: token required, no collision with the object routes.
            #expect(try await Self.request(port, "GET", "/api/v1/sources").status == 401)
            let sources = try await Self.request(port, "GET", "/api/v1/sources", headers: auth)
            #expect(sources.status == 200)
            #expect(sources.json?.arrayValue?.first?["name"] == "shop")
            let configMaps = try await Self.request(port, "GET", "/api/v1/namespaces/default/configmaps", headers: auth)
            #expect(configMaps.status == 200)
            #expect(configMaps.json?["items"]?.arrayValue?.isEmpty == false)
            let queued = try await Self.request(port, "POST", "/api/v1/sources/shop/sync", body: Data(#"{"force":true}"#.utf8), headers: auth)
            #expect(queued.status == 202)
            let id = try #require(queued.json?["sync"]?.intValue)
            _ = try await h.waitFor(Int64(id))
            let one = try await Self.request(port, "GET", "/api/v1/syncs/\(id)", headers: auth)
            #expect(one.json?["source"] == "shop")
            let list = try await Self.request(port, "GET", "/api/v1/syncs?source=shop&limit=2", headers: auth)
            #expect(list.json?.arrayValue?.count == 2)
            let drift = try await Self.request(port, "GET", "/api/v1/sources/shop/drift", headers: auth)
            #expect(drift.status == 200)
            #expect(drift.json?["missing"] == [])
            #expect(try await Self.request(port, "GET", "/api/v1/sources/nope", headers: auth).status == 404)

            let metrics = try await Self.request(port, "GET", "/metrics")
            #expect(metrics.status == 200)
            for name in ["berth_sync_total", "berth_sync_duration_seconds", "berth_webhook_requests_total", "berth_objects", "berth_containers"] {
                #expect(metrics.text.contains(name), "\(name) missing")
            }
            #expect(metrics.text.contains("berth_objects{kind=\"Deployment\"} 1"))
            #expect(metrics.text.contains("berth_webhook_requests_total{provider=\"github\",result=\"too_large\"} 1"))
        }
    }
}
