import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import BerthAPI
@testable import BerthOrchestrator

/// A real TLS server: `openssl s_server -WWW` on 127.0.0.1 with a fresh
/// self-signed certificate, serving the files of its own directory
/// (s_server answers 200 to every GET, so failures are tested with a
/// closed port and with plain HTTP against the TLS port).
final class OpenSSLServer: @unchecked Sendable {
    let directory: String
    let port: Int
    private let process: Process

    init() throws {
        directory = NSTemporaryDirectory() + "berth-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "ok\n".write(toFile: directory + "/ok", atomically: true, encoding: .utf8)
        let keygen = Process()
        keygen.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        keygen.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "1", "-subj", "/CN=probe-test"]
        keygen.standardOutput = FileHandle.nullDevice
        keygen.standardError = FileHandle.nullDevice
        try keygen.run()
        keygen.waitUntilExit()
        guard keygen.terminationStatus == 0 else { throw TLSServerError("openssl req failed") }
        // A port nobody listens on (bind, read, close), then s_server takes it.
        let probe = try TinyHTTPServer()
        port = probe.port
        probe.stop()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", directory + "/cert.pem",
                             "-key", directory + "/key.pem", "-WWW", "-quiet", "-naccept", "1000"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if case .success(let fd) = SocketProbeTransport.connect(host: "127.0.0.1", port: port, deadline: Date().addingTimeInterval(1)) {
                close(fd)
                return
            }
            usleep(50_000)
        }
        stop()
        throw TLSServerError("openssl s_server did not listen on \(port)")
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct TLSServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite struct HTTPSProbeTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs the openssl CLI"))
    func httpsProbeSkipsCertificateVerification() async throws {
        let server = try OpenSSLServer()
        defer { server.stop() }
        let transport = SocketProbeTransport()
        // Self-signed: a verifying client would refuse it; probes must not.
        let ok = await transport.httpsGet(host: "127.0.0.1", port: server.port, path: "/ok", headers: [("X-Probe", "1")], timeout: 5)
        #expect(ok == .success)

        // Through the prober, as the kubelet runs it (scheme HTTPS, named port).
        let prober = Prober(runtime: FakeNodeRuntime(clock: ManualClock()), transport: transport)
        var probe = BerthAPI.Probe()
        probe.timeoutSeconds = 5
        probe.httpGet = BerthAPI.HTTPGetAction(path: "/ok", port: .string("https"))
        probe.httpGet?.scheme = "HTTPS"
        var container = BerthAPI.Container(name: "app", image: "x")
        container.ports = [BerthAPI.ContainerPort(name: "https", containerPort: server.port)]
        #expect(await prober.run(probe, container: container, containerID: "", host: "127.0.0.1") == .success)
        // Plain HTTP against the TLS port fails: the scheme is honoured.
        probe.httpGet?.scheme = "HTTP"
        #expect(await prober.run(probe, container: container, containerID: "", host: "127.0.0.1") != .success)
    }

    @Test func httpsProbeOfAClosedPortFailsWithinTheTimeout() async throws {
        let closed = try TinyHTTPServer()
        let port = closed.port
        closed.stop()
        let start = Date()
        let outcome = await SocketProbeTransport().httpsGet(host: "127.0.0.1", port: port, path: "/", headers: [], timeout: 1)
        #expect(!outcome.succeeded)
        #expect(Date().timeIntervalSince(start) < 10, "the probe's timeout bounds a refused connection")
    }
}
