import BerthAPI
import Hummingbird

/// Requires `Authorization: Bearer <token>` on every request it guards.
/// Other modules may put it in front of their own route groups.
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    public init(token: String) {
        self.token = token
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix),
            APIToken.constantTimeEquals(String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces), token)
        else {
            return StatusResponse.failure(BerthError(
                .unauthorized, "missing or wrong bearer token",
                hint: "send `Authorization: Bearer <token>`; the token is in <data-dir>/token (the CLI reads it, or set BERTH_TOKEN)"))
        }
        return try await next(request, context)
    }
}
