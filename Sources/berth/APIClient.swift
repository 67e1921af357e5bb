import BerthAPI
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The CLI's HTTP client for Berth's Kubernetes-shaped API.
///
/// Foundation's URLSession rather than async-http-client: Foundation is
/// linked anyway, so this adds no package to build (AHC would pull in
/// swift-nio-ssl with BoringSSL, minutes of compile on a small machine) and
/// the CLI only ever talks plain HTTP to loopback. The one thing URLSession
/// lacks on Linux, a streaming `bytes(for:)`, is covered by a small delegate
/// for `logs -f`.
struct APIClient: Sendable {
    let server: String
    let token: String?

    struct Reply: Sendable {
        var status: Int
        var body: Data
    }

    /// Sends a request; API errors (Kubernetes `Status`) become `BerthError`.
    func send(_ method: String, _ path: String, query: [String: String] = [:], body: JSONValue? = nil, contentType: String = "application/json") async throws -> JSONValue {
        let reply = try await raw(method, path, query: query, body: body, contentType: contentType)
        try Self.check(reply)
        do {
            return try JSONDecoder().decode(JSONValue.self, from: reply.body)
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
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        do {
            let (data, response) = try await session.data(for: request)
            return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
        } catch {
            throw unreachable(error)
        }
    }

    func makeRequest(_ method: String, _ path: String, query: [String: String], body: JSONValue?, contentType: String) throws -> URLRequest {
        guard var components = URLComponents(string: server.hasSuffix("/") ? String(server.dropLast()) + path : server + path) else {
            throw BerthError(.invalidArgument, "invalid server URL \(server)", hint: "use e.g. http://127.0.0.1:7480")
        }
        if !query.isEmpty {
            components.queryItems = query.keys.sorted().map { URLQueryItem(name: $0, value: query[$0]) }
        }
        guard let url = components.url else {
            throw BerthError(.invalidArgument, "invalid server URL \(server)", hint: "use e.g. http://127.0.0.1:7480")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 3600
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body.canonicalJSON()
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        return request
    }

    /// "cannot reach berth at …: connection refused — is `berth serve` running?"
    func unreachable(_ error: any Error) -> BerthError {
        let reason: String
        if let urlError = error as? URLError {
            switch urlError.code {
            case .cannotConnectToHost: reason = "connection refused"
            case .timedOut: reason = "timed out"
            case .cannotFindHost: reason = "unknown host"
            default: reason = urlError.localizedDescription
            }
        } else {
            reason = String(describing: error)
        }
        return BerthError(.unavailable, "cannot reach berth at \(server): \(reason) — is `berth serve` running?")
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
        let (events, eventSink) = AsyncThrowingStream<StreamingDelegate.Event, any Error>.makeStream()
        let delegate = StreamingDelegate(continuation: eventSink, client: self)
        let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        let task = session.dataTask(with: request)
        eventSink.onTermination = { _ in
            task.cancel()
            session.invalidateAndCancel()
        }
        task.resume()

        let (output, sink) = AsyncThrowingStream<Data, any Error>.makeStream()
        let pump = Task {
            var status = 0
            var errorBody = Data()
            do {
                for try await event in events {
                    switch event {
                    case .response(let code): status = code
                    case .data(let chunk):
                        if (200..<300).contains(status) { sink.yield(chunk) } else { errorBody.append(chunk) }
                    }
                }
                try Self.check(Reply(status: status, body: errorBody))
                sink.finish()
            } catch {
                sink.finish(throwing: error)
            }
        }
        sink.onTermination = { _ in pump.cancel() }
        return output
    }
}

/// Forwards URLSession's delegate callbacks, which arrive in order on the
/// session's serial queue, into an AsyncThrowingStream. Holds only Sendable
/// lets, so it is Sendable without locks.
final class StreamingDelegate: NSObject, URLSessionDataDelegate, Sendable {
    enum Event: Sendable {
        case response(Int)
        case data(Data)
    }

    let continuation: AsyncThrowingStream<Event, any Error>.Continuation
    let client: APIClient

    init(continuation: AsyncThrowingStream<Event, any Error>.Continuation, client: APIClient) {
        self.continuation = continuation
        self.client = client
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        continuation.yield(.response((response as? HTTPURLResponse)?.statusCode ?? 0))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        continuation.yield(.data(data))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let error, (error as? URLError)?.code != .cancelled {
            continuation.finish(throwing: client.unreachable(error))
        } else {
            continuation.finish()
        }
        session.finishTasksAndInvalidate()
    }
}
