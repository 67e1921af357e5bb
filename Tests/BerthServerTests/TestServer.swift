import BerthAPI
import BerthServer
import BerthStore
import Foundation
import Logging
import ServiceLifecycle
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Berth API server on 127.0.0.1, port 0, in this process, with a
/// store in a fresh temp dir; stopped and removed when `body` returns or
/// throws.
struct TestServer: Sendable {
    let port: Int
    let token: String
    let store: Store
    let dataDirectory: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func with<T: Sendable>(
        logProvider: any LogProvider = UnavailableLogProvider(),
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        let dir = NSTemporaryDirectory() + "berth-server-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(dataDirectory: dir)
        let token = try APIToken.loadOrCreate(dataDirectory: dir)
        var logger = Logger(label: "berth.test")
        logger.logLevel = .warning
        let api = APIServer(store: store, token: token, logProvider: logProvider, logger: logger)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = api.makeApplication(host: "127.0.0.1", port: 0, onListening: { portSink.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BerthError(.internal, "server did not start") }
        let server = TestServer(port: port, token: token, store: store, dataDirectory: dir)
        do {
            let result = try await body(server)
            await group.triggerGracefulShutdown()
            try await running.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }

    struct Reply {
        var status: Int
        var json: JSONValue?
        var text: String
        var contentType: String?
    }

    /// One HTTP request; `token: nil` sends none, the default sends the right one.
    func request(
        _ method: String, _ path: String, body: JSONValue? = nil, token: String?? = .none, contentType: String = "application/json"
    ) async throws -> Reply {
        guard let url = URL(string: baseURL + path) else { throw BerthError(.invalidArgument, "bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        let bearer: String? = switch token {
        case .none: self.token
        case .some(let value): value
        }
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body.canonicalJSON()
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        return Reply(
            status: http?.statusCode ?? 0, json: try? JSONDecoder().decode(JSONValue.self, from: data),
            text: String(decoding: data, as: UTF8.self), contentType: http?.value(forHTTPHeaderField: "Content-Type"))
    }
}
