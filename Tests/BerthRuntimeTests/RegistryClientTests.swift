import BerthAPI
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import BerthRuntime

/// A transport that answers from a script and records what it was asked:
/// for the pure logic of the client (auth, Accept, redirects, retries). The
/// real transport is tested against docker-registry in BerthRegistryTests.
final class ScriptedTransport: RegistryTransport {
    let handler: @Sendable (RegistryRequest) -> RegistryResponse
    private let log = Mutex<[RegistryRequest]>([])

    init(_ handler: @escaping @Sendable (RegistryRequest) -> RegistryResponse) { self.handler = handler }

    var requests: [RegistryRequest] { log.withLock { $0 } }

    func execute(_ request: RegistryRequest) async throws -> RegistryResponse {
        log.withLock { $0.append(request) }
        return handler(request)
    }

    func shutdown() async throws {}
}

@Suite struct RegistryClientTests {
    static let manifestJSON = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}"#

    static func target(_ host: String = "registry.test") -> RegistryTarget {
        RegistryTarget(endpoint: RegistryEndpoint(scheme: "https", host: host, isMirror: false), domain: host, repository: "team/app")
    }

    static func client(_ transport: ScriptedTransport, credentials: [String: RegistryCredential] = [:]) throws -> RegistryClient {
        try RegistryClient(configuration: RegistryConfiguration(dockerConfig: "", maxAttempts: 3, initialBackoffMilliseconds: 1),
                           credentials: RegistryCredentialStore(entries: credentials), transport: transport)
    }

    @Test func bearerChallengeTokenIsFetchedWithBasicCredentialsAndCached() async throws {
        let transport = ScriptedTransport { request in
            if request.url.hasPrefix("https://auth.test/token") {
                return RegistryResponse(status: 200, body: RegistryResponseBody(#"{"token":"T1","expires_in":300}"#))
            }
            guard request.headers.first(name: "Authorization") == "Bearer T1" else {
                return RegistryResponse(status: 401, headers: ["WWW-Authenticate": #"Bearer realm="https://auth.test/token",service="registry.test",scope="repository:team/app:pull""#])
            }
            return RegistryResponse(status: 200, headers: ["Content-Type": OCIMediaType.imageManifest], body: RegistryResponseBody(Self.manifestJSON))
        }
        let client = try Self.client(transport, credentials: ["registry.test": RegistryCredential(username: "u", password: "p")])
        let first = try await client.fetchManifest("v1", from: Self.target())
        #expect(first.mediaType == OCIMediaType.imageManifest)
        _ = try await client.fetchManifest("v2", from: Self.target())
        let requests = transport.requests
        // 401, token, retry; then the second manifest straight with the cached token.
        #expect(requests.count == 4)
        let tokenRequest = try #require(requests.first { $0.url.hasPrefix("https://auth.test/") })
        #expect(tokenRequest.url.contains("service=registry.test"))
        #expect(tokenRequest.url.contains("scope=repository:team/app:pull"))
        #expect(tokenRequest.headers.first(name: "Authorization") == "Basic " + Data("u:p".utf8).base64EncodedString())
        #expect(requests.last?.headers.first(name: "Authorization") == "Bearer T1")
        let accept = requests[0].headers.first(name: "Accept") ?? ""
        for type in [OCIMediaType.imageIndex, OCIMediaType.imageManifest, OCIMediaType.dockerManifestList, OCIMediaType.dockerManifest] {
            #expect(accept.contains(type))
        }
    }

    @Test func expiredTokensAreFetchedAgain() async throws {
        let tokens = Mutex(0)
        let transport = ScriptedTransport { request in
            if request.url.hasPrefix("https://auth.test/") {
                let n = tokens.withLock { $0 += 1; return $0 }
                return RegistryResponse(status: 200, body: RegistryResponseBody(#"{"access_token":"T\#(n)","expires_in":1}"#))
            }
            guard request.headers.first(name: "Authorization")?.hasPrefix("Bearer") == true else {
                return RegistryResponse(status: 401, headers: ["WWW-Authenticate": #"Bearer realm="https://auth.test/token",service="s""#])
            }
            return RegistryResponse(status: 200, body: RegistryResponseBody(Self.manifestJSON))
        }
        let client = try Self.client(transport)
        _ = try await client.fetchManifest("v1", from: Self.target())
        _ = try await client.fetchManifest("v1", from: Self.target())
        #expect(tokens.withLock { $0 } == 1)
        try await Task.sleep(for: .milliseconds(1100))
        _ = try await client.fetchManifest("v1", from: Self.target())
        #expect(tokens.withLock { $0 } == 2)
    }

    @Test func authorizationIsDroppedOnCrossHostRedirectsOnly() async throws {
        let blob = Data("hello blob".utf8)
        let digest = OCIDigest(of: blob)
        let transport = ScriptedTransport { request in
            switch request.url {
            case let url where url.hasPrefix("https://registry.test/v2/team/app/blobs/"):
                return RegistryResponse(status: 307, headers: ["Location": "/same-host/\(digest.hex)"])
            case let url where url.hasPrefix("https://registry.test/same-host/"):
                return RegistryResponse(status: 302, headers: ["Location": "https://storage.test/obj?sig=secret"])
            default:
                return RegistryResponse(status: 200, body: RegistryResponseBody(ByteBuffer(bytes: blob)))
            }
        }
        let client = try Self.client(transport, credentials: ["registry.test": RegistryCredential(username: "u", password: "p")])
        // Prime Basic auth for the host, as after a Basic challenge.
        _ = try await client.authenticator.authorize(
            challenges: [RegistryAuthChallenge(scheme: "Basic", parameters: [:])], host: "registry.test", scope: "x", repository: "team/app",
            transport: transport, allowPlainHTTP: { _ in false })
        let dir = FileManager.default.temporaryDirectory.path + "/berth-redirect-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await client.fetchBlob(OCIDescriptor(mediaType: OCIMediaType.layerTar, digest: digest, size: Int64(blob.count)), from: Self.target(), to: dir + "/blob")
        let requests = transport.requests
        #expect(requests.count == 3)
        #expect(requests[0].headers.first(name: "Authorization")?.hasPrefix("Basic ") == true)
        #expect(requests[1].headers.first(name: "Authorization")?.hasPrefix("Basic ") == true, "same host keeps it")
        #expect(requests[2].url == "https://storage.test/obj?sig=secret")
        #expect(requests[2].headers.first(name: "Authorization") == nil, "another host never gets it")
        #expect(FileManager.default.contents(atPath: dir + "/blob") == blob)
    }

    @Test func wrongBlobContentIsRejectedAndNotKept() async throws {
        let transport = ScriptedTransport { _ in RegistryResponse(status: 200, body: RegistryResponseBody("tampered!")) }
        let client = try Self.client(transport)
        let expected = OCIDescriptor(mediaType: OCIMediaType.layerTar, digest: OCIDigest(of: Data("original!".utf8)), size: 9)
        let path = FileManager.default.temporaryDirectory.path + "/berth-tamper-\(UUID().uuidString.prefix(6))"
        await #expect(throws: BerthError.self) {
            try await client.fetchBlob(expected, from: Self.target(), to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(transport.requests.count == 1, "wrong content is not retried")
    }

    @Test func serverErrorsAreRetriedThenReported() async throws {
        let transport = ScriptedTransport { _ in RegistryResponse(status: 503, body: RegistryResponseBody("busy")) }
        let client = try Self.client(transport)
        await #expect(throws: BerthError.self) {
            _ = try await client.fetchManifest("v1", from: Self.target())
        }
        #expect(transport.requests.count == 3)
    }

    @Test func notFoundNamesRegistryAndRepository() async throws {
        let transport = ScriptedTransport { _ in
            RegistryResponse(status: 404, body: RegistryResponseBody(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#))
        }
        let client = try Self.client(transport)
        do {
            _ = try await client.fetchManifest("nope", from: Self.target())
            Issue.record("expected an error")
        } catch let error as BerthError {
            #expect(error.code == .imageNotFound)
            #expect(error.message.contains("registry.test"))
            #expect(error.message.contains("team/app"))
            #expect(error.message.contains("MANIFEST_UNKNOWN: manifest unknown"))
        }
    }

    @Test func manifestDigestIsVerified() async throws {
        let transport = ScriptedTransport { _ in RegistryResponse(status: 200, body: RegistryResponseBody(Self.manifestJSON)) }
        let client = try Self.client(transport)
        let wrong = "sha256:" + String(repeating: "a", count: 64)
        do {
            _ = try await client.fetchManifest(wrong, from: Self.target())
            Issue.record("expected an error")
        } catch let error as BerthError {
            #expect(error.code == .imageCorrupt)
        }
        // Without a Content-Type, the document's own mediaType counts.
        let manifest = try await client.fetchManifest("v1", from: Self.target())
        #expect(manifest.mediaType == OCIMediaType.imageManifest)
        #expect(manifest.digest == OCIDigest(of: Data(Self.manifestJSON.utf8)))
    }
}

@Suite struct RegistryPureLogicTests {
    @Test func parsesBearerAndBasicChallenges() {
        let bearer = RegistryAuthChallenge.parse(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(bearer.count == 1)
        #expect(bearer.first?.scheme == "bearer")
        #expect(bearer.first?.realm == "https://auth.docker.io/token")
        #expect(bearer.first?.service == "registry.docker.io")
        #expect(bearer.first?.scope == "repository:library/busybox:pull")

        let two = RegistryAuthChallenge.parse(#"Basic realm="a \"quoted\" realm", Bearer realm=https://x/token,service=s"#)
        #expect(two.map(\.scheme) == ["basic", "bearer"])
        #expect(two.first?.realm == #"a "quoted" realm"#)
        #expect(two.last?.realm == "https://x/token")
        #expect(two.last?.service == "s")
        #expect(RegistryAuthChallenge.parse("").isEmpty)
    }

    @Test func selectsThePlatformLikeContainerd() throws {
        func descriptor(_ arch: String, _ variant: String? = nil, os: String = "linux", hex: Character) throws -> OCIDescriptor {
            OCIDescriptor(mediaType: OCIMediaType.imageManifest, digest: try OCIDigest(hex: String(repeating: hex, count: 64)), size: 1,
                          platform: OCIPlatform(architecture: arch, os: os, variant: variant))
        }
        let unknown = try descriptor("unknown", os: "unknown", hex: "0")
        let amd64 = try descriptor("amd64", hex: "1")
        let arm64 = try descriptor("arm64", "v8", hex: "2")
        let armv6 = try descriptor("arm", "v6", hex: "3")
        let armv7 = try descriptor("arm", "v7", hex: "4")
        let arm64NoVariant = try descriptor("arm64", hex: "5")
        let windows = try descriptor("amd64", os: "windows", hex: "6")
        let all = [unknown, windows, amd64, arm64, armv6, armv7]
        #expect(RegistryPlatformMatcher.select(from: all, for: OCIPlatform(architecture: "amd64", os: "linux")) == amd64)
        #expect(RegistryPlatformMatcher.select(from: all, for: OCIPlatform(architecture: "x86_64", os: "linux")) == amd64)
        #expect(RegistryPlatformMatcher.select(from: all, for: OCIPlatform(architecture: "arm64", os: "linux")) == arm64)
        #expect(RegistryPlatformMatcher.select(from: [arm64NoVariant], for: OCIPlatform(architecture: "aarch64", os: "linux", variant: "v8")) == arm64NoVariant)
        #expect(RegistryPlatformMatcher.select(from: all, for: OCIPlatform(architecture: "arm", os: "linux", variant: "v7")) == armv7)
        #expect(RegistryPlatformMatcher.select(from: [armv6], for: OCIPlatform(architecture: "arm", os: "linux", variant: "v7")) == armv6)
        #expect(RegistryPlatformMatcher.select(from: [armv7], for: OCIPlatform(architecture: "arm", os: "linux", variant: "v6")) == nil)
        #expect(RegistryPlatformMatcher.select(from: [unknown, windows], for: OCIPlatform(architecture: "amd64", os: "linux")) == nil)
    }

    @Test func redirectPolicyComparesOrigins() {
        #expect(RegistryRedirectPolicy.isSameOrigin("https://r.test/v2/a", "https://r.test:443/b"))
        #expect(!RegistryRedirectPolicy.isSameOrigin("http://127.0.0.1:5000/a", "http://localhost:5000/a"))
        #expect(!RegistryRedirectPolicy.isSameOrigin("http://127.0.0.1:5000/a", "http://127.0.0.1:5001/a"))
        #expect(!RegistryRedirectPolicy.isSameOrigin("https://r.test/a", "http://r.test/a"))
        #expect(RegistryRedirectPolicy.resolve(location: "/x?y=1", against: "http://h:1/v2/a") == "http://h:1/x?y=1")
        #expect(RegistryRedirectPolicy.resolve(location: "file:///etc/passwd", against: "http://h/") == nil)
        #expect(!RegistryRedirectPolicy.allows(from: "https://r.test/a", to: "http://cdn.test/b", allowPlainHTTP: { _ in false }))
        #expect(RegistryRedirectPolicy.allows(from: "https://r.test/a", to: "https://cdn.test/b", allowPlainHTTP: { _ in false }))
    }

    @Test func endpointsMirrorsAndPlainHTTP() throws {
        var configuration = RegistryConfiguration(mirrors: ["docker.io": ["http://127.0.0.1:5000", "mirror.test"]], insecure: ["lan.test:5000"])
        let hub = try configuration.endpoints(for: "docker.io")
        #expect(hub.map(\.baseURL) == ["http://127.0.0.1:5000", "https://mirror.test", "https://registry-1.docker.io"])
        #expect(hub.map(\.isMirror) == [true, true, false])
        #expect(try configuration.endpoints(for: "localhost:5000").map(\.baseURL) == ["http://localhost:5000"])
        #expect(try configuration.endpoints(for: "127.0.0.2:80").map(\.baseURL) == ["http://127.0.0.2:80"])
        #expect(try configuration.endpoints(for: "lan.test:5000").map(\.baseURL) == ["http://lan.test:5000"])
        #expect(try configuration.endpoints(for: "ghcr.io").map(\.baseURL) == ["https://ghcr.io"])
        configuration.mirrors["ghcr.io"] = ["http://cache.test"]
        #expect(throws: BerthError.self) { try configuration.endpoints(for: "ghcr.io") }
        #expect(RegistryConfiguration.isLoopback("127.8.9.10"))
        #expect(RegistryConfiguration.isLoopback("::1"))
        #expect(!RegistryConfiguration.isLoopback("128.0.0.1"))
        #expect(!RegistryConfiguration.isLoopback("127.0.0.1.evil.test"))
    }

    @Test func dockerConfigCredentials() throws {
        let json = #"""
        {"auths": {
          "https://index.docker.io/v1/": {"auth": "\#(Data("hub:hubpass".utf8).base64EncodedString())"},
          "http://127.0.0.1:5000": {"username": "local", "password": "p:with:colons"},
          "ghcr.io": {}
        }}
        """#
        let entries = try RegistryCredentialStore.parseDockerConfig(data: Data(json.utf8), label: "config.json")
        let store = RegistryCredentialStore(entries: entries)
        #expect(store.credential(for: "registry-1.docker.io")?.username == "hub")
        #expect(store.credential(for: "docker.io")?.password == "hubpass")
        #expect(store.credential(for: "127.0.0.1:5000")?.password == "p:with:colons")
        #expect(store.credential(for: "ghcr.io") == nil)
        #expect(store.credential(for: "127.0.0.1:5001") == nil)
        let credential = RegistryCredential(username: "u", password: "hunter2")
        #expect(!"\(credential)".contains("hunter2"))
        #expect(!String(reflecting: credential).contains("hunter2"))
        #expect(throws: BerthError.self) {
            try RegistryCredentialStore.parseDockerConfig(data: Data(#"{"auths":{"x":{"auth":"!!"}}}"#.utf8), label: "c")
        }
    }

    @Test func configurationDecodesFromTheRegistriesSection() throws {
        let json = #"{"mirrors":{"docker.io":["http://127.0.0.1:5000"]},"insecure":["lan:5000"],"auths":{"lan:5000":{"username":"a","password":"b"}}}"#
        let configuration = try JSONDecoder().decode(RegistryConfiguration.self, from: Data(json.utf8))
        #expect(configuration.mirrors["docker.io"] == ["http://127.0.0.1:5000"])
        #expect(configuration.auths["lan:5000"]?.username == "a")
        #expect(configuration.maxConcurrentDownloads == 3)
    }

    @Test func berthYAMLEntriesWinOverTheFileForTheirHost() throws {
        var configuration = RegistryConfiguration(
            mirrors: ["https://docker.io": ["http://127.0.0.1:5000"]],
            auths: ["https://lan.test:5000": RegistryCredential(username: "old", password: "old")], dockerConfig: "")
        try configuration.add(host: "docker.io", mirrors: ["http://cache.lan:5000"], insecure: true, credential: nil)
        try configuration.add(host: "lan.test:5000", mirrors: [], insecure: false, credential: RegistryCredential(username: "new", password: "pw"))
        #expect(try configuration.endpoints(for: "docker.io").map(\.baseURL) == ["http://cache.lan:5000", "https://registry-1.docker.io"])
        #expect(configuration.auths.count == 1)
        #expect(try RegistryCredentialStore(configuration: configuration, environment: [:]).credential(for: "lan.test:5000")?.username == "new")
        #expect(!configuration.allowsPlainHTTP("lan.test:5000"))
        // A plain-HTTP mirror of a registry that is not insecure fails when the entry is added, not at the first pull.
        #expect(throws: BerthError.self) {
            try configuration.add(host: "ghcr.io", mirrors: ["http://cache.test"], insecure: false, credential: nil)
        }
    }

    @Test func retryPolicy() {
        let policy = RegistryRetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(200))
        #expect(policy.delay(afterAttempt: 1) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 3) == .milliseconds(800))
        #expect(policy.delay(afterAttempt: 30) == .seconds(10))
        #expect(RegistryRetryPolicy.isTransient(status: 503))
        #expect(RegistryRetryPolicy.isTransient(status: 429))
        #expect(!RegistryRetryPolicy.isTransient(status: 404))
        #expect(!RegistryRetryPolicy.isTransient(status: 501))
    }
}
