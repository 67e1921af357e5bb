import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import BerthAPI
@testable import BerthOrchestrator

/// A tiny real HTTP server on 127.0.0.1 (free port), one thread, for the
/// real `SocketProbeTransport`: /ok → 200, /redirect → 302, /fail → 500,
/// /hang → never answers.
final class TinyHTTPServer: @unchecked Sendable {
    let fd: Int32
    let port: Int
    private var thread: Thread?

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        let thread = Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 2048)
                let count = recv(client, &buffer, buffer.count, 0)
                let request = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
                let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
                let status: String
                switch path {
                case "/ok": status = "200 OK"
                case "/redirect": status = "302 Found"
                case "/hang":
                    // Keep the connection open without answering; closed later.
                    DispatchQueue.global().asyncAfter(deadline: .now() + 3) { close(client) }
                    continue
                default: status = "500 Internal Server Error"
                }
                let response = "HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = response.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

@Suite struct ProbeTransportTests {
    @Test func realHTTPAndTCPProbes() async throws {
        let server = try TinyHTTPServer()
        defer { server.stop() }
        let transport = SocketProbeTransport()
        #expect(await transport.httpGet(host: "127.0.0.1", port: server.port, path: "/ok", headers: [("X-Test", "1")], timeout: 2) == .success)
        #expect(await transport.httpGet(host: "127.0.0.1", port: server.port, path: "/redirect", headers: [], timeout: 2) == .success)
        let failed = await transport.httpGet(host: "127.0.0.1", port: server.port, path: "/fail", headers: [], timeout: 2)
        #expect(failed == .failure("HTTP probe failed with statuscode: 500"))
        let hung = await transport.httpGet(host: "127.0.0.1", port: server.port, path: "/hang", headers: [], timeout: 1)
        #expect(!hung.succeeded)
        // Timing measured on the blocking call itself, so a busy test pool does not skew it.
        let start = Date()
        let again = SocketProbeTransport.blockingHTTPGet(host: "127.0.0.1", port: server.port, path: "/hang", headers: [], timeout: 1)
        let elapsed = Date().timeIntervalSince(start)
        #expect(!again.succeeded)
        #expect(elapsed >= 0.9 && elapsed < 2.5, "timeoutSeconds is honoured: \(elapsed)")
        #expect(await transport.tcpConnect(host: "127.0.0.1", port: server.port, timeout: 1) == .success)
    }

    @Test func closedPortFails() async throws {
        // Bind and close to get a port nobody listens on.
        let server = try TinyHTTPServer()
        let port = server.port
        server.stop()
        let transport = SocketProbeTransport()
        let tcp = await transport.tcpConnect(host: "127.0.0.1", port: port, timeout: 1)
        #expect(!tcp.succeeded)
        let http = await transport.httpGet(host: "127.0.0.1", port: port, path: "/", headers: [], timeout: 1)
        #expect(!http.succeeded)
    }

    @Test func kubeletProbesARealServer() async throws {
        // The kubelet's prober end to end over real sockets: the fake node
        // has no network, so the sandbox IP is nil and probes go to 127.0.0.1.
        let server = try TinyHTTPServer()
        defer { server.stop() }
        let clock = ManualClock()
        let runtime = FakeNodeRuntime(clock: clock)
        let prober = Prober(runtime: runtime, transport: SocketProbeTransport())
        var probe = BerthAPI.Probe()
        probe.httpGet = BerthAPI.HTTPGetAction(path: "ok", port: .string("web"))
        var container = BerthAPI.Container(name: "app", image: "x")
        container.ports = [BerthAPI.ContainerPort(name: "web", containerPort: server.port)]
        #expect(await prober.run(probe, container: container, containerID: "", host: "127.0.0.1") == .success)
        probe.httpGet?.path = "/fail"
        #expect(await prober.run(probe, container: container, containerID: "", host: "127.0.0.1") != .success)
    }
}
