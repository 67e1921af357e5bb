import BerthAPI
import BerthReconciler
import Foundation
import Hummingbird

/// `POST /hooks/{github,gitlab,gitea,generic}[?source=NAME]`: webhook
/// deliveries. No bearer token: each delivery is authenticated by its own
/// signature or token (see `WebhookHandler`). Bodies over `maxBodySize`
/// get 413 before anything else is looked at.
public struct WebhookRoutes: RouteProvider {
    public let handler: WebhookHandler
    public let maxBodySize: Int

    public init(handler: WebhookHandler, maxBodySize: Int = WebhookHandler.defaultMaxBodySize) {
        self.handler = handler
        self.maxBodySize = maxBodySize
    }

    public func addRoutes(to router: Router<BerthRequestContext>, api: APIServer) {
        for provider in WebhookProvider.allCases {
            router.post("/hooks/\(provider.rawValue)") { request, _ in
                try await self.respond(provider: provider, request: request)
            }
        }
    }

    func respond(provider: WebhookProvider, request: Request) async throws -> Response {
        var request = request
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodySize {
            return reply(handler.tooLarge(provider: provider, limit: maxBodySize))
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodySize)
        } catch {
            return reply(handler.tooLarge(provider: provider, limit: maxBodySize))
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName.lowercased()] = field.value
        }
        let source = request.uri.queryParameters["source"].map(String.init)
        let response = await handler.handle(provider: provider, headers: headers, body: Data(buffer: buffer), sourceName: source)
        return reply(response)
    }

    func reply(_ response: WebhookHandler.Response) -> Response {
        StatusResponse.json(response.body, status: HTTPResponse.Status(code: response.status))
    }
}
