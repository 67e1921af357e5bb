import AsyncHTTPClient
import BerthAPI
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The CLI's HTTP client for Berth's Kubernetes-shaped API.
///
/// async-http-client (already linked for the registry client) rather than
/// Foundation's URLSession: on Linux URLSession lives in FoundationNetworking,
/// which drags libcurl, gnutls, krb5, LDAP and more into every start of the
/// `berth` binary — tens of milliseconds of dynamic loading even for
/// `berth run`, which never talks to a server (bench/container-start).
struct APIClient: Sendable {
    let server: String
    let token: String?

    struct Reply: Sendable {
        var status: Int
        var body: Data
    }

    /// One client per process, never shut down (the CLI exits instead). A
    /// refused connection fails at once instead of being retried with
    /// backoff until the deadline: the CLI should say "is `berth serve`
    /// running?" immediately.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Sends a request; API errors (Kubernetes `Status`) become `BerthError`.
    func send(_ method: String, _ path: String, query: [String: String] = [:], body: JSONValue? = nil, contentType: String = "application/json") async throws -> JSONValue {
        let reply = try await raw(method, path, query: query, body: body, contentType: contentType)
        try Self.check(reply)
        do {
            return try JSONText.decode(String(decoding: reply.body, as: UTF8.self))
        } catch {
            throw BerthError(.internal, "the server at \(server) sent a response that is not JSON", cause: error)
        }
    }

    func get(_ path: String, query: [String: String] = [:]) async throws -> JSONValue {
        try await send("GET", path, query: query)
    }

    /// GET that returns nil on 404.
    func getIfExists(_ path: String) async throws -> JSONValue? {
        do {
            return try await get(path)
        } catch let error as BerthError where error.code == .notFound {
            return nil
        }
    }

    func raw(_ method: String, _ path: String, query: [String: String] = [:], body: JSONValue? = nil, contentType: String = "application/json") async throws -> Reply {
        let request = try makeRequest(method, path, query: query, body: body, contentType: contentType)
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(request, timeout: .hours(1))
        } catch {
            throw unreachable(error)
        }
        do {
            let buffer = try await response.body.collect(upTo: 1 << 30)
            return Reply(status: Int(response.status.code), body: Data(buffer.readableBytesView))
        } catch {
            throw unreachable(error)
        }
    }

    func makeRequest(_ method: String, _ path: String, query: [String: String], body: JSONValue?, contentType: String) throws -> HTTPClientRequest {
        guard var components = URLComponents(string: server.hasSuffix("/") ? String(server.dropLast()) + path : server + path),
              components.scheme == "http" || components.scheme == "https" else {
            throw BerthError(.invalidArgument, "invalid server URL \(server)", hint: "use e.g. http://127.0.0.1:7480")
        }
        if !query.isEmpty {
            components.queryItems = query.keys.sorted().map { URLQueryItem(name: $0, value: query[$0]) }
        }
        guard let url = components.string else {
            throw BerthError(.invalidArgument, "invalid server URL \(server)", hint: "use e.g. http://127.0.0.1:7480")
        }
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body.canonicalJSON()))
            request.headers.add(name: "Content-Type", value: contentType)
        }
        return request
    }

    /// "cannot reach berth at …: connection refused — is `berth serve` running?"
    func unreachable(_ error: any Error) -> BerthError {
        if let berth = error as? BerthError { return berth }
        return BerthError(.unavailable, "cannot reach berth at \(server): \(Self.reason(error)) — is `berth serve` running?")
    }

    /// A short reason in the words of `curl`/`kubectl` for a connection error.
    static func reason(_ error: any Error) -> String {
        var errnos: [Int32] = []
        if let io = error as? IOError { errnos.append(io.errnoCode) }
        if let connection = error as? NIOConnectionError {
            errnos += connection.connectionErrors.compactMap { ($0.error as? IOError)?.errnoCode }
            if connection.dnsAError != nil && connection.connectionErrors.isEmpty { return "unknown host" }
        }
        if errnos.contains(ECONNREFUSED) { return "connection refused" }
        if let first = errnos.first { return String(cString: strerror(first)) }
        if let client = error as? HTTPClientError {
            if client == .connectTimeout || client == .deadlineExceeded || client == .readTimeout { return "timed out" }
            if client == .remoteConnectionClosed { return "the server closed the connection" }
        }
        let text = String(describing: error)
        if text.contains("Connection refused") { return "connection refused" }
        return text
    }

    /// Turns a Kubernetes `Status` failure into a `BerthError` with its
    /// code, so that commands can react (404 → create, 409 → retry).
    static func check(_ reply: Reply) throws {
        guard !(200..<300).contains(reply.status) else { return }
        let status = try? JSONDecoder().decode(JSONValue.self, from: reply.body)
        let message = status?["message"]?.stringValue ?? String(decoding: reply.body.prefix(500), as: UTF8.self)
        let code: BerthError.Code =
            status?["berthCode"]?.stringValue.flatMap(BerthError.Code.init(rawValue:))
            ?? {
                switch reply.status {
                case 401: return .unauthorized
                case 403: return .forbidden
                case 404: return .notFound
                case 409: return .conflict
                case 400, 422: return .invalidArgument
                case 503: return .unavailable
                default: return .internal
                }
            }()
        throw BerthError(code, message)
    }

    // MARK: - Streaming

    /// Streams a response body (pod logs with follow) chunk by chunk; a
    /// non-2xx response is gathered whole and thrown as the API's error.
    func stream(_ path: String, query: [String: String]) throws -> AsyncThrowingStream<Data, any Error> {
        let request = try makeRequest("GET", path, query: query, body: nil, contentType: "")
        let (output, sink) = AsyncThrowingStream<Data, any Error>.makeStream()
        let pump = Task {
            do {
                let response: HTTPClientResponse
                do {
                    // `logs -f` may follow for as long as the user likes.
                    response = try await Self.http.execute(request, deadline: .distantFuture)
                } catch {
                    throw unreachable(error)
                }
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    for try await chunk in response.body {
                        sink.yield(Data(chunk.readableBytesView))
                    }
                } else {
                    let buffer = try await response.body.collect(upTo: 1 << 20)
                    try Self.check(Reply(status: status, body: Data(buffer.readableBytesView)))
                }
                sink.finish()
            } catch is CancellationError {
                sink.finish()
            } catch {
                sink.finish(throwing: error is BerthError ? error : unreachable(error))
            }
        }
        sink.onTermination = { _ in pump.cancel() }
        return output
    }
}
