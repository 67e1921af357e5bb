import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server on 127.0.0.1 (or another loopback name) for the
/// registry tests: token service, tampering proxy, redirecting front, header
/// recorder. Each request is answered by an async handler; the whole body is
/// buffered (test blobs are small).
final class TestHTTPServer: Sendable {
    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: ByteBuffer

        var path: String { String(uri.split(separator: "?", maxSplits: 1).first ?? "") }
        var query: [String: String] {
            guard let q = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
            var result: [String: String] = [:]
            for pair in q.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                result[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return result
        }
    }

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders = [:]
        var body: ByteBuffer = ByteBuffer()

        static func text(_ status: HTTPResponseStatus, _ text: String, headers: HTTPHeaders = [:]) -> Response {
            Response(status: status, headers: headers, body: ByteBuffer(string: text))
        }
    }

    typealias Handler = @Sendable (Request) async -> Response

    let channel: any Channel
    let port: Int
    let host: String

    var baseURL: String { "http://\(host):\(port)" }
    var authority: String { "\(host):\(port)" }

    private init(channel: any Channel, port: Int, host: String) {
        self.channel = channel
        self.port = port
        self.host = host
    }

    /// `host` is what URLs should say (`127.0.0.1` or `localhost`); the server listens on 127.0.0.1.
    static func start(host: String = "127.0.0.1", handler: @escaping Handler) async throws -> TestHTTPServer {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Adapter(handler: handler))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        return TestHTTPServer(channel: channel, port: channel.localAddress?.port ?? 0, host: host)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Adapter: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let handler: Handler
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(handler: @escaping Handler) { self.handler = handler }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch Self.unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                guard let head else { return }
                let request = Request(method: head.method, uri: head.uri, headers: head.headers, body: body)
                let keepAlive = head.isKeepAlive
                let handler = self.handler
                let promise = context.eventLoop.makePromise(of: Response.self)
                promise.completeWithTask { await handler(request) }
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                promise.futureResult.whenSuccess { response in
                    let context = bound.value
                    var headers = response.headers
                    headers.remove(name: "Transfer-Encoding")
                    if request.method != .HEAD || !headers.contains(name: "Content-Length") {
                        headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.readableBytes)")
                    }
                    headers.remove(name: "Connection")
                    if !keepAlive { headers.add(name: "Connection", value: "close") }
                    context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
                    if request.method != .HEAD, response.body.readableBytes > 0 {
                        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(response.body))), promise: nil)
                    }
                    let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
                    if !keepAlive {
                        let closing = NIOLoopBound(context, eventLoop: context.eventLoop)
                        done.whenComplete { _ in closing.value.close(promise: nil) }
                    }
                }
            }
        }
    }
}
