import AsyncHTTPClient
import BerthAPI
import NIOCore
import NIOHTTP1

/// The one thing the registry client needs from HTTP: send a request, get
/// the status, the headers and a streamed body. Redirects are *not*
/// followed by the transport: the client follows them itself so that it
/// decides which headers go to which host (see `RegistryRedirectPolicy`).
///
/// A protocol so that the pure parts of the client (auth challenges,
/// Accept headers, platform selection, redirects) can be unit-tested with a
/// scripted transport; `RegistryHTTPTransport` is the real one and is tested
/// against a real docker-registry.
public protocol RegistryTransport: Sendable {
    func execute(_ request: RegistryRequest) async throws -> RegistryResponse
    /// Releases connections. Call once, when the client is no longer used.
    func shutdown() async throws
}

public struct RegistryRequest: Sendable {
    public var method: HTTPMethod
    /// Absolute URL.
    public var url: String
    public var headers: HTTPHeaders
    public var body: RegistryRequestBody
    /// Time for the whole exchange, including streaming the body.
    public var timeout: Duration

    public init(method: HTTPMethod = .GET, url: String, headers: HTTPHeaders = [:], body: RegistryRequestBody = .none, timeout: Duration = .seconds(60)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A request body that can be sent again (a retry re-reads the file).
public enum RegistryRequestBody: Sendable {
    case none
    case bytes(ByteBuffer)
    /// `length` bytes of the file at `path` from `offset`.
    case file(path: String, offset: Int64, length: Int64)

    var length: Int64 {
        switch self {
        case .none: 0
        case .bytes(let buffer): Int64(buffer.readableBytes)
        case .file(_, _, let length): length
        }
    }
}

public struct RegistryResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: RegistryResponseBody

    public init(status: Int, headers: HTTPHeaders = [:], body: RegistryResponseBody = RegistryResponseBody(ByteBuffer())) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A header value (first of several), case-insensitively.
    public func header(_ name: String) -> String? { headers.first(name: name) }
}

/// The streamed body of a response: AsyncHTTPClient's stream for the real
/// transport, a buffer for scripted ones.
public struct RegistryResponseBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    enum Storage: Sendable {
        case client(HTTPClientResponse.Body)
        case buffer(ByteBuffer)
    }

    let storage: Storage

    public init(_ buffer: ByteBuffer) { storage = .buffer(buffer) }
    public init(_ string: String) { storage = .buffer(ByteBuffer(string: string)) }
    init(client body: HTTPClientResponse.Body) { storage = .client(body) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var client: HTTPClientResponse.Body.AsyncIterator?
        var buffer: ByteBuffer?

        public mutating func next() async throws -> ByteBuffer? {
            if client != nil { return try await client?.next() }
            defer { buffer = nil }
            return buffer.flatMap { $0.readableBytes > 0 ? $0 : nil }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch storage {
        case .client(let body): AsyncIterator(client: body.makeAsyncIterator(), buffer: nil)
        case .buffer(let buffer): AsyncIterator(client: nil, buffer: buffer)
        }
    }

    /// The whole body, refusing more than `limit` bytes (a manifest, an
    /// error document, a token: never a layer).
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await var chunk in self {
            guard result.readableBytes + chunk.readableBytes <= limit else {
                throw BerthError(.registry, "response body is larger than \(limit) bytes")
            }
            result.writeBuffer(&chunk)
        }
        return result
    }

    /// Reads and drops the rest, so the connection can be reused.
    public func drain() async {
        do {
            for try await _ in self {}
        } catch {}
    }
}
