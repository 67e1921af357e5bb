import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

extension SocketProbeTransport {
    /// One TLS client for every HTTPS probe of the process (a client per
    /// probe would cost an event-loop hop and a pool each time). It never
    /// verifies certificates and never follows redirects, as Kubernetes'
    /// prober; each probe asks for `Connection: close`, so no connection
    /// outlives its probe. Never shut down: it lives as long as the process.
    static let tlsClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            certificateVerification: .none, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(30), read: .seconds(30)), decompression: .disabled)
        configuration.connectionPool = .init(idleTimeout: .seconds(1))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// GET over TLS with the probe's timeout as the deadline of the whole
    /// exchange (connect, handshake, headers); 200–399 is success. The
    /// deadline is enforced here as well as in the client: AsyncHTTPClient
    /// keeps retrying a refused connection until its own connect timeout.
    public func httpsGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) async -> ProbeOutcome {
        let url = "https://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path.isEmpty ? "/" : path)"
        let deadlineOutcome = ProbeOutcome.failure("Get \"\(url)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
        // Not a task group: leaving one waits for every child, and the
        // client does not stop a refused connection's retries when
        // cancelled, so a 1 s probe could take as long as the client's own
        // connect timeout. The first of the exchange and the deadline answers.
        return await withCheckedContinuation { (continuation: CheckedContinuation<ProbeOutcome, Never>) in
            let once = FirstAnswer(continuation)
            let exchange = Task { once.answer(await Self.tlsExchange(host: host, port: port, path: path, headers: headers, timeout: timeout)) }
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(max(0.001, timeout) * 1000)))
                once.answer(deadlineOutcome)
                exchange.cancel()
            }
        }
    }

    /// Resumes the continuation with the first outcome only.
    private final class FirstAnswer: Sendable {
        let continuation: Mutex<CheckedContinuation<ProbeOutcome, Never>?>

        init(_ continuation: CheckedContinuation<ProbeOutcome, Never>) {
            self.continuation = Mutex(continuation)
        }

        func answer(_ outcome: ProbeOutcome) {
            let waiting = continuation.withLock { value in
                defer { value = nil }
                return value
            }
            waiting?.resume(returning: outcome)
        }
    }

    private static func tlsExchange(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) async -> ProbeOutcome {
        let hostPort = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let url = "https://\(hostPort)\(path.isEmpty ? "/" : path)"
        var request = HTTPClientRequest(url: url)
        var hasUserAgent = false
        for (name, value) in headers {
            if name.lowercased() == "user-agent" { hasUserAgent = true }
            request.headers.replaceOrAdd(name: name, value: value)
        }
        if !hasUserAgent { request.headers.add(name: "User-Agent", value: "kube-probe/1.31") }
        request.headers.replaceOrAdd(name: "Accept", value: "*/*")
        request.headers.replaceOrAdd(name: "Connection", value: "close")
        do {
            let response = try await tlsClient.execute(request, timeout: .milliseconds(Int64(max(0.001, timeout) * 1000)))
            // Kubernetes reads (at most 10 KiB of) the body; drain it so the connection closes cleanly.
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                if read > 10 << 10 { break }
            }
            let code = Int(response.status.code)
            if (200..<400).contains(code) { return .success }
            return .failure("HTTP probe failed with statuscode: \(code)")
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return .failure("Get \"\(url)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
        } catch {
            return .failure("Get \"\(url)\": \(error)")
        }
    }
}
