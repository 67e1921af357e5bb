import BerthAPI
import BerthStore
import Foundation
import Hummingbird
import Logging

/// The request context of every Berth route, shared with modules that add
/// their own routes.
public typealias BerthRequestContext = BasicRequestContext

/// A module that serves routes of its own on Berth's HTTP server (the
/// reconciler's webhooks, `/metrics` …). It gets the `APIServer` for its
/// store and token; guard routes with `api.authMiddleware()` unless they
/// authenticate otherwise (webhooks check signatures).
public protocol RouteProvider: Sendable {
    func addRoutes(to router: Router<BerthRequestContext>, api: APIServer)
}

/// Berth's HTTP API in Kubernetes' shape and paths, over the store.
///
/// - `/healthz`, `/readyz`: no authentication.
/// - `/api/v1/...`, `/apis/apps/v1/...`: bearer token; lists, gets,
///   creates (POST), updates (PUT), merge patches (PATCH), deletes, the
///   `status` and `scale` subresources, pod logs, and Events (served from
///   the store's events table). Errors are Kubernetes `Status` objects.
///
/// Secrets are returned as stored (base64 `data`), as Kubernetes does, to
/// authenticated clients only; it is the CLI's job never to print values.
public struct APIServer: Sendable {
    public let store: Store
    public let token: String
    public var logProvider: any LogProvider
    public var routeProviders: [any RouteProvider]
    /// Run on creates, updates and patches before the store sees the object.
    public var admissionChecks: [any AdmissionCheck] = []
    public var logger: Logger

    /// Largest request body accepted (a manifest, a patch).
    public static let maxBodySize = 8 << 20

    public init(
        store: Store, token: String, logProvider: any LogProvider = UnavailableLogProvider(),
        routeProviders: [any RouteProvider] = [], logger: Logger = Logger(label: "berth.api")
    ) {
        self.store = store
        self.token = token
        self.logProvider = logProvider
        self.routeProviders = routeProviders
        self.logger = logger
    }

    /// The middleware that checks this server's bearer token.
    public func authMiddleware() -> BearerTokenMiddleware<BerthRequestContext> {
        BearerTokenMiddleware(token: token)
    }

    /// Adds health, API and every provider's routes to `router`.
    public func addRoutes(to router: Router<BerthRequestContext>) {
        router.get("/healthz") { _, _ in StatusResponse.success("ok") }
        router.get("/readyz") { _, _ in
            do {
                _ = try await store.currentRevision()
                return StatusResponse.success("ready")
            } catch let error as BerthError {
                return StatusResponse.failure(error)
            }
        }
        for prefix in ["/api/**", "/apis/**"] {
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
                router.on(RouterPath(prefix), method: method) { request, context in
                    try await self.respond(to: request, context: context)
                }
            }
        }
        for provider in routeProviders {
            provider.addRoutes(to: router, api: self)
        }
    }

    /// A router with all of `addRoutes`.
    public func makeRouter() -> Router<BerthRequestContext> {
        let router = Router(context: BerthRequestContext.self)
        addRoutes(to: router)
        return router
    }

    /// The Hummingbird application (a swift-service-lifecycle `Service`).
    /// `onListening` gets the bound port (useful with port 0).
    public func makeApplication(
        host: String = "127.0.0.1", port: Int = 7480,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let logger = self.logger
        return Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "berth"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.info("berth API listening on http://\(host):\(bound)")
                await onListening(bound)
            },
            logger: logger)
    }

    // MARK: - Dispatch

    func respond(to request: Request, context: BerthRequestContext) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), APIToken.constantTimeEquals(String(header.dropFirst(7)), token) else {
            return StatusResponse.failure(BerthError(
                .unauthorized, "missing or wrong bearer token",
                hint: "send `Authorization: Bearer <token>`; the token is in <data-dir>/token (the CLI reads it, or set BERTH_TOKEN)"))
        }
        let segments = request.uri.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        guard let path = APIPath.parse(segments) else {
            return StatusResponse.failure(BerthError(.notFound, "the server could not find the requested resource \(request.uri.path)"))
        }
        var request = request
        do {
            return try await dispatch(path, request: &request)
        } catch let error as BerthError {
            if error.code != .notFound { logger.debug("API error", metadata: ["path": "\(request.uri.path)", "error": "\(error)"]) }
            return StatusResponse.failure(error, kind: path.plural, name: path.name)
        } catch let error as DecodingError {
            return StatusResponse.failure(BerthError(.invalidArgument, "request body is not valid JSON", cause: error))
        }
    }

    private func dispatch(_ path: APIPath, request: inout Request) async throws -> Response {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        if path.plural == "events", path.apiVersion == "v1" {
            guard request.method == .get, path.name == nil else {
                throw BerthError(.invalidArgument, "events are read-only through the API", hint: "controllers record events through the store")
            }
            return try await listEvents(namespace: path.namespace, fieldSelector: query["fieldSelector"])
        }
        guard let kind = path.kind else {
            throw BerthError(.notFound, "the server could not find the requested resource (\(path.apiVersion) \(path.plural))")
        }
        if path.namespace != nil && !kind.isNamespaced {
            throw BerthError(.notFound, "\(kind.plural) are not namespaced")
        }
        guard let name = path.name else {
            switch request.method {
            case .get:
                let selector = try query["labelSelector"].map { try LabelSelector(parsing: $0) }
                return try await list(kind, namespace: path.namespace, selector: selector)
            case .post:
                if kind.isNamespaced && path.namespace == nil {
                    throw BerthError(.invalidArgument, "create \(kind.plural) under /namespaces/{namespace}/\(kind.plural)")
                }
                return try await create(kind, namespace: path.namespace, body: try await body(of: &request))
            default:
                throw BerthError(.invalidArgument, "\(request.method) is not supported on a collection")
            }
        }
        if kind.isNamespaced && path.namespace == nil {
            throw BerthError(.notFound, "the server could not find the requested resource (\(kind.plural)/\(name) needs a namespace)")
        }
        let key = kind.key(namespace: path.namespace ?? "", name: name)
        switch (path.subresource, request.method) {
        case (nil, .get):
            return StatusResponse.json(try await object(key).object)
        case (nil, .put):
            return try await update(key, body: try await body(of: &request))
        case (nil, .patch):
            return try await patch(key, patch: try await body(of: &request), status: false)
        case (nil, .delete):
            return try await delete(key, propagation: query["propagationPolicy"])
        case ("status", .get):
            return StatusResponse.json(try await object(key).object)
        case ("status", .put):
            return try await updateStatus(key, body: try await body(of: &request))
        case ("status", .patch):
            return try await patch(key, patch: try await body(of: &request), status: true)
        case ("scale", _) where kind == .deployment || kind == .replicaSet:
            return try await scale(key, method: request.method, body: request.method == .get ? nil : try await body(of: &request))
        case ("log", .get) where kind == .pod:
            return try await logs(key, query: query)
        default:
            throw BerthError(.notFound, "the server could not find the requested resource (\(kind.plural)/\(name)/\(path.subresource ?? ""))")
        }
    }

    private func body(of request: inout Request) async throws -> JSONValue {
        let buffer = try await request.collectBody(upTo: Self.maxBodySize)
        let data = Data(buffer: buffer)
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw BerthError(.invalidArgument, "request body is not valid JSON", cause: error)
        }
    }

    func object(_ key: ObjectKey) async throws -> StoredObject {
        guard let object = try await store.get(key) else {
            let plural = key.resourceKind?.plural ?? key.kind.lowercased()
            throw BerthError(.notFound, "\(plural) \"\(key.name)\" not found", object: key.description)
        }
        return object
    }
}
