import AsyncHTTPClient
import BerthAPI
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// The real transport: AsyncHTTPClient with automatic redirects disabled
/// (the client follows them itself, dropping credentials on a host change).
public final class RegistryHTTPTransport: RegistryTransport {
    let client: HTTPClient

    public init(connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(60)) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .init(connectTimeout), read: .init(readTimeout)),
            decompression: .disabled)
        configuration.connectionPool = .init(idleTimeout: .seconds(30))
        // A connection that cannot be made fails the request at once; the
        // client's own retry policy (a few attempts, short backoff) decides
        // what happens next. AsyncHTTPClient's default keeps retrying until
        // the connect timeout, which made every pull on an offline node (an
        // `Always` pull of `:latest` that then runs the local copy) and every
        // dead mirror cost connect timeout × attempts (~40 s).
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func execute(_ request: RegistryRequest) async throws -> RegistryResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        outgoing.headers = request.headers
        switch request.body {
        case .none:
            break
        case .bytes(let buffer):
            outgoing.body = .bytes(buffer)
        case .file(let path, let offset, let length):
            outgoing.body = .stream(FileChunks(path: path, offset: offset, length: length), length: .known(length))
        }
        let response = try await client.execute(outgoing, timeout: .init(request.timeout))
        return RegistryResponse(status: Int(response.status.code), headers: response.headers, body: RegistryResponseBody(client: response.body))
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }
}

/// A slice of a file as 1 MiB buffers, for uploads.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int64
    let length: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        var position: Int64
        var remaining: Int64

        /// Opens the file per chunk, so an upload that stops early leaks nothing.
        mutating func next() async throws -> ByteBuffer? {
            guard remaining > 0 else { return nil }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw LayerUnpacker.systemError("cannot open \(path)", errno) }
            defer { close(fd) }
            let want = Int(Swift.min(remaining, 1 << 20))
            var buffer = ByteBuffer()
            let position = self.position
            let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                let n = pread(fd, pointer.baseAddress, want, off_t(position))
                guard n >= 0 else { throw LayerUnpacker.systemError("cannot read \(path)", errno) }
                return n
            }
            guard count > 0 else { throw BerthError(.imageCorrupt, "\(path) is shorter than expected") }
            self.position += Int64(count)
            remaining -= Int64(count)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path, position: offset, remaining: length) }
}
