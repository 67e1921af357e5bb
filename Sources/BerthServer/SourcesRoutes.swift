import BerthAPI
import BerthReconciler
import Foundation
import Hummingbird

/// The reconciler's JSON API, behind the bearer token:
///
///     GET  /api/v1/sources                    every source's status
///     GET  /api/v1/sources/{name}             one source
///     POST /api/v1/sources/{name}/sync        queue a sync ({"force": true}, {"resume": true})
///     POST /api/v1/sources/{name}/rollback    pin an earlier sync ({"to": "ID|COMMIT"})
///     GET  /api/v1/sources/{name}/drift       desired vs live (?ref=, ?offline=true)
///     GET  /api/v1/syncs?source=&limit=       history, newest first
///     GET  /api/v1/syncs/{id}                 one sync with its changes and events
///
/// Constant path segments win over the `/api/**` catch-all of the object
/// API in Hummingbird's trie, and no Kubernetes kind is called `sources` or
/// `syncs`, so the two never collide.
public struct SourcesRoutes: RouteProvider {
    public let reconciler: Reconciler

    public init(reconciler: Reconciler) {
        self.reconciler = reconciler
    }

    public func addRoutes(to router: Router<BerthRequestContext>, api: APIServer) {
        let group = router.group("/api/v1").add(middleware: api.authMiddleware())
        group.get("sources") { _, _ in
            try await self.run { try Self.json(try await reconciler.status()) }
        }
        group.get("sources/:name") { _, context in
            try await self.run { try Self.json(try await reconciler.status(source: try context.parameters.require("name"))) }
        }
        group.post("sources/:name/sync") { request, context in
            var request = request
            return try await self.run {
                let name = try context.parameters.require("name")
                let body = try await Self.body(&request)
                let id: Int64
                if body["resume"] == .bool(true) {
                    id = try await reconciler.resume(source: name)
                } else {
                    id = try await reconciler.sync(source: name, trigger: .manual, force: body["force"] == .bool(true))
                }
                return StatusResponse.json(["source": .string(name), "sync": .int(Int(id))], status: .accepted)
            }
        }
        group.post("sources/:name/rollback") { request, context in
            var request = request
            return try await self.run {
                let name = try context.parameters.require("name")
                let body = try await Self.body(&request)
                let (target, id) = try await reconciler.rollback(source: name, to: body["to"]?.stringValue)
                return StatusResponse.json([
                    "source": .string(name), "sync": .int(Int(id)), "pinnedSync": .int(Int(target.id)),
                    "pinnedCommit": .string(target.deployedCommit ?? target.commit?.sha ?? ""),
                ], status: .accepted)
            }
        }
        group.get("sources/:name/drift") { request, context in
            try await self.run {
                let name = try context.parameters.require("name")
                let query = request.uri.queryParameters
                let report = try await reconciler.drift(
                    source: name, ref: query["ref"].map(String.init), offline: query["offline"].map { $0 == "true" || $0 == "1" } ?? false)
                return try Self.json(report)
            }
        }
        group.get("syncs") { request, _ in
            try await self.run {
                let query = request.uri.queryParameters
                let limit = query["limit"].flatMap { Int(String($0)) } ?? 50
                let source = query["source"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
                return try Self.json(try await reconciler.history(source: source, limit: limit))
            }
        }
        group.get("syncs/:id") { _, context in
            try await self.run {
                guard let id = Int64(try context.parameters.require("id")) else {
                    throw BerthError(.invalidArgument, "a sync id is a number", hint: "see `berth history`")
                }
                return try Self.json(try await reconciler.record(id: id))
            }
        }
    }

    func run(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as BerthError {
            return StatusResponse.failure(error)
        }
    }

    static func body(_ request: inout Request) async throws -> JSONValue {
        let buffer = try await request.collectBody(upTo: 1 << 16)
        if buffer.readableBytes == 0 { return [:] }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer))
        } catch {
            throw BerthError(.invalidArgument, "request body is not valid JSON", cause: error)
        }
    }

    /// Encodes with ISO 8601 dates.
    static func json<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        // JSONText, not JSONDecoder into JSONValue: for a cold sync's record
        // (1,000 changes, ~100 KB) that decode was ~50 ms of each request.
        return StatusResponse.json(try JSONText.decode(String(decoding: data, as: UTF8.self)))
    }
}
