import BerthTestSupport
import AsyncHTTPClient
import BerthAPI
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

@testable import BerthRuntime

/// How the test registry checks access.
enum RegistryAuthMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// No auth at all.
    case plain
    /// docker-registry's own token auth: RS256 JWTs from `TestTokenServer`.
    case token

    var description: String { rawValue }
}

/// A real docker-registry (Debian's /usr/bin/docker-registry, distribution
/// 2.8) on 127.0.0.1 on a free port with its own storage, and in `.token`
/// mode a token service it trusts. `stop()` kills it and removes everything.
final class TestRegistry: Sendable {
    let mode: RegistryAuthMode
    let dir: String
    let port: Int
    let process: Process
    let tokenServer: TestTokenServer?

    var host: String { "127.0.0.1:\(port)" }
    var baseURL: String { "http://\(host)" }
    /// What a client must present in `.token` mode (nil in `.plain`).
    var credential: RegistryCredential? { tokenServer?.credential }

    static let service = "berth-test-registry"

    private init(mode: RegistryAuthMode, dir: String, port: Int, process: Process, tokenServer: TestTokenServer?) {
        self.mode = mode
        self.dir = dir
        self.port = port
        self.process = process
        self.tokenServer = tokenServer
    }

    static func start(_ mode: RegistryAuthMode) async throws -> TestRegistry {
        let dir = try RegistryTestSupport.makeTempDir("registry")
        var tokenServer: TestTokenServer?
        do {
            let port = try E2ECluster.freePort()
            var auth = ""
            if mode == .token {
                let server = try await TestTokenServer.start(dir: dir, service: service)
                tokenServer = server
                auth = """
                auth:
                  token:
                    realm: \(server.realm)
                    service: \(service)
                    issuer: \(TestTokenServer.issuer)
                    rootcertbundle: \(server.certificatePath)
                """
            }
            let config = """
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(dir)/data
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            \(auth)
            """
            try config.write(toFile: "\(dir)/config.yml", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
            process.arguments = ["serve", "\(dir)/config.yml"]
            let log = FileHandle(forWritingAtPath: "/dev/null")
            _ = FileManager.default.createFile(atPath: "\(dir)/registry.log", contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: "\(dir)/registry.log") ?? log
            process.standardError = FileHandle(forWritingAtPath: "\(dir)/registry.log") ?? log
            try process.run()
            let registry = TestRegistry(mode: mode, dir: dir, port: port, process: process, tokenServer: tokenServer)
            try await registry.waitUntilUp()
            return registry
        } catch {
            await tokenServer?.stop()
            RegistryTestSupport.cleanup(dir)
            throw error
        }
    }

    private func waitUntilUp() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var up = false
        for _ in 0..<100 {
            if !process.isRunning { break }
            if let response = try? await client.execute(HTTPClientRequest(url: baseURL + "/v2/"), timeout: .seconds(2)),
               [200, 401].contains(response.status.code) {
                up = true
                break
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        try? await client.shutdown()
        if up { return }
        let log = (try? String(contentsOfFile: "\(dir)/registry.log", encoding: .utf8)) ?? ""
        throw BerthError(.internal, "docker-registry did not come up on \(host): \(log.suffix(2000))")
    }

    func stop() async {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        await tokenServer?.stop()
        RegistryTestSupport.cleanup(dir)
    }

    /// Pushes an OCI layout's image with skopeo as `repo:tag`.
    func push(layout: String, layoutRef: String? = nil, as repoAndTag: String, all: Bool = false) throws {
        try RegistryTestSupport.skopeoPush(layout: layout, layoutRef: layoutRef, to: "\(host)/\(repoAndTag)", credential: credential, all: all)
    }

    /// Client configuration that can talk to this registry (credentials in token mode).
    func configuration(dockerConfig: String = "") -> RegistryConfiguration {
        var configuration = RegistryConfiguration(dockerConfig: dockerConfig, initialBackoffMilliseconds: 20)
        if let credential { configuration.auths[host] = credential }
        return configuration
    }
}

/// A token service for docker-registry's `auth.token`: checks Basic
/// credentials and issues RS256 JWTs signed (with the openssl CLI) by a
/// self-signed certificate generated at start, which the registry trusts
/// through `rootcertbundle`; the JWT header carries it in `x5c`.
final class TestTokenServer: Sendable {
    static let issuer = "berth-test-issuer"
    let server: TestHTTPServer
    let certificatePath: String
    let credential: RegistryCredential
    let requests: Counter

    var realm: String { server.baseURL + "/token" }

    static func start(dir: String, service: String) async throws -> TestTokenServer {
        let key = "\(dir)/token.key", cert = "\(dir)/token.pem"
        try RegistryTestSupport.run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=berth-test-token-issuer",
        ])
        let der = try RegistryTestSupport.run(["openssl", "x509", "-in", cert, "-outform", "DER"])
        let x5c = der.base64EncodedString()
        let credential = RegistryCredential(username: "berth", password: "s3cret-\(UUID().uuidString.prefix(6))")
        let counter = Counter()
        let server = try await TestHTTPServer.start { request in
            guard request.path == "/token" else { return .text(.notFound, "no") }
            counter.increment()
            guard request.headers.first(name: "Authorization") == credential.basicAuthorization else {
                return .text(.unauthorized, #"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#)
            }
            let scope = request.query["scope"] ?? ""
            var access: [[String: Any]] = []
            let parts = scope.split(separator: ":")
            if parts.count >= 3, parts[0] == "repository" {
                access.append(["type": "repository", "name": parts[1...(parts.count - 2)].joined(separator: ":"),
                               "actions": parts[parts.count - 1].split(separator: ",").map(String.init)])
            }
            let now = Int(Date().timeIntervalSince1970)
            let header: [String: Any] = ["alg": "RS256", "typ": "JWT", "x5c": [x5c]]
            let claims: [String: Any] = [
                "iss": issuer, "sub": credential.username, "aud": request.query["service"] ?? service,
                "exp": now + 300, "nbf": now - 30, "iat": now, "jti": UUID().uuidString, "access": access,
            ]
            do {
                let input = try base64URL(JSONSerialization.data(withJSONObject: header)) + "." + base64URL(JSONSerialization.data(withJSONObject: claims))
                let signature = try RegistryTestSupport.run(["openssl", "dgst", "-sha256", "-sign", key], input: Data(input.utf8))
                let token = input + "." + base64URL(signature)
                let body = try JSONSerialization.data(withJSONObject: ["token": token, "access_token": token, "expires_in": 300])
                return TestHTTPServer.Response(status: .ok, headers: ["Content-Type": "application/json"], body: ByteBuffer(bytes: body))
            } catch {
                return .text(.internalServerError, "\(error)")
            }
        }
        let result = TestTokenServer(server: server, certificatePath: cert, credential: credential, requests: counter)
        return result
    }

    private init(server: TestHTTPServer, certificatePath: String, credential: RegistryCredential, requests: Counter) {
        self.server = server
        self.certificatePath = certificatePath
        self.credential = credential
        self.requests = requests
    }

    func stop() async { await server.stop() }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// A thread-safe counter and recorder for what test servers saw.
final class Counter: Sendable {
    private let state = Mutex<[String]>([])
    func increment(_ note: String = "") { state.withLock { $0.append(note) } }
    var count: Int { state.withLock { $0.count } }
    var notes: [String] { state.withLock { $0 } }
}
