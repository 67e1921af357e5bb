import BerthTestSupport
import BerthAPI
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import BerthRuntime

/// Runs `body` against a fresh real registry; stops it whatever happens.
func withRegistry<T>(_ mode: RegistryAuthMode, _ body: (TestRegistry) async throws -> T) async throws -> T {
    let registry = try await TestRegistry.start(mode)
    do {
        let result = try await body(registry)
        await registry.stop()
        return result
    } catch {
        await registry.stop()
        throw error
    }
}

/// A fresh store and a puller with `configuration`; cleaned up whatever happens.
func withPuller<T>(_ configuration: RegistryConfiguration, _ body: (ImagePuller, ImageStore) async throws -> T) async throws -> T {
    let dataDir = try RegistryTestSupport.makeTempDir("pull-store")
    let client = try RegistryClient(configuration: configuration)
    do {
        let store = try ImageStore(dataDir: dataDir)
        let result = try await body(ImagePuller(store: store, client: client), store)
        try await client.shutdown()
        RegistryTestSupport.cleanup(dataDir)
        return result
    } catch {
        try? await client.shutdown()
        RegistryTestSupport.cleanup(dataDir)
        throw error
    }
}

/// Pulls from a real docker-registry started by the test, once without auth
/// and once behind docker-registry's token auth (RS256 JWTs from an
/// in-process token service). Needs /usr/bin/docker-registry, skopeo and
/// openssl; serialized because each test runs a registry process.
@Suite("Real docker-registry: pull and push", .serialized)
struct RealRegistryPullTests {
    static let modes = RegistryAuthMode.allCases

    @Test("pull by tag, then by digest; a second pull downloads no layer", arguments: modes)
    func pullByTagAndDigest(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "team/busybox:1.0")
            let reference = "\(registry.host)/team/busybox:1.0"
            let tokensBefore = registry.tokenServer?.requests.count ?? 0
            try await withPuller(registry.configuration()) { puller, store in
                let first = try await puller.pull(reference)
                #expect(first.digest == digest)
                #expect(first.reference == reference)
                #expect(first.downloadedBlobs == 2)  // config + one layer
                let resolved = try await store.resolve(reference)
                #expect(FileManager.default.fileExists(atPath: resolved.layerPaths[0] + "/bin/busybox"))
                #expect(resolved.config.cmd == ["sh"])

                let again = try await puller.pull(reference)
                #expect(again.digest == digest)
                #expect(again.downloadedBlobs == 0)
                #expect(again.cachedBlobs == 2)
            }
            if mode == .token {
                // One token for the repository's pull scope, reused for every request of the client.
                #expect((registry.tokenServer?.requests.count ?? 0) - tokensBefore == 1)
            }
            // By digest, into another store.
            try await withPuller(registry.configuration()) { puller, store in
                let byDigest = "\(registry.host)/team/busybox@\(digest)"
                let result = try await puller.pull(byDigest)
                #expect(result.digest == digest)
                let summary = try await store.summary(byDigest)
                #expect(summary?.digest == digest)
            }
        }
    }

    @Test("zstd layers", arguments: modes)
    func zstdLayers(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-zstd")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout, compression: "zstd")
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "zstd/busybox:z")
            try await withPuller(registry.configuration()) { puller, store in
                let result = try await puller.pull("\(registry.host)/zstd/busybox:z")
                #expect(result.digest == digest)
                let details = try await store.inspect(result.digest)
                #expect(details.layers.first?.mediaType == OCIMediaType.layerTarZstd)
                #expect(details.layers.first?.unpacked == true)
                #expect(FileManager.default.fileExists(atPath: (details.layers.first?.path ?? "") + "/bin/sh"))
            }
        }
    }

    @Test("a multi-platform index gives each platform its own manifest", arguments: modes)
    func multiPlatformIndex(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-multi")
        defer { RegistryTestSupport.cleanup(layout) }
        let digests = try RegistryTestSupport.buildMultiPlatform(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, layoutRef: "multi", as: "multi/app:v1", all: true)
            let reference = "\(registry.host)/multi/app:v1"
            try await withPuller(registry.configuration()) { puller, store in
                let amd64 = try await puller.pull(reference, platform: OCIPlatform(architecture: "amd64", os: "linux"))
                #expect(amd64.digest == digests.amd64)
                #expect(amd64.indexDigest == digests.index)
                let arm64 = try await puller.pull("\(registry.host)/multi/app@\(digests.index)", platform: OCIPlatform(architecture: "arm64", os: "linux"))
                #expect(arm64.digest == digests.arm64)
                let resolved = try await store.resolve(arm64.digest)
                #expect(FileManager.default.fileExists(atPath: resolved.layerPaths[0] + "/arm64.txt"))
                let error = await RegistryTestSupport.expectBerthError(.imageNotFound) {
                    try await puller.pull(reference, platform: OCIPlatform(architecture: "s390x", os: "linux"))
                }
                #expect(error?.hint?.contains("linux/arm64/v8") == true)
            }
        }
    }

    @Test("404 and 401 errors name the registry and the repository", arguments: modes)
    func errors(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-err")
        defer { RegistryTestSupport.cleanup(layout) }
        _ = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "err/busybox:1")
            try await withPuller(registry.configuration()) { puller, store in
                let missingTag = await RegistryTestSupport.expectBerthError(.imageNotFound) {
                    try await puller.pull("\(registry.host)/err/busybox:nope")
                }
                #expect(missingTag?.message.contains(registry.host) == true)
                #expect(missingTag?.message.contains("err/busybox") == true)
                #expect(missingTag?.message.contains("MANIFEST_UNKNOWN") == true)
                let missingRepo = await RegistryTestSupport.expectBerthError(.imageNotFound) {
                    try await puller.pull("\(registry.host)/no/such:1")
                }
                #expect(missingRepo?.message.contains("no/such") == true)
                // ensureImage turns pull failures into ErrImagePull's code.
                let pullError = await RegistryTestSupport.expectBerthError(.registry) {
                    try await puller.ensureImage("\(registry.host)/err/busybox:nope", pullPolicy: "IfNotPresent")
                }
                #expect(pullError?.message.contains("MANIFEST_UNKNOWN") == true)
                _ = await RegistryTestSupport.expectBerthError(.imageNotFound) {
                    try await puller.ensureImage("\(registry.host)/err/busybox:1", pullPolicy: "Never")
                }
                let images = try await store.list()
                #expect(images.isEmpty)
            }
            guard mode == .token else { return }
            // Wrong password, then none at all.
            var wrong = registry.configuration()
            wrong.auths[registry.host] = RegistryCredential(username: "berth", password: "wrong-password")
            try await withPuller(wrong) { puller, _ in
                let error = await RegistryTestSupport.expectBerthError(.unauthorized) {
                    try await puller.pull("\(registry.host)/err/busybox:1")
                }
                #expect(error?.message.contains(registry.host) == true)
                #expect(error?.message.contains("err/busybox") == true)
                #expect(error?.description.contains("wrong-password") == false)
            }
            try await withPuller(RegistryConfiguration(dockerConfig: "")) { puller, _ in
                let error = await RegistryTestSupport.expectBerthError(.unauthorized) {
                    try await puller.pull("\(registry.host)/err/busybox:1")
                }
                #expect(error?.message.contains("err/busybox") == true)
            }
        }
    }

    @Test("credentials from a Docker config.json", arguments: [RegistryAuthMode.token])
    func dockerConfigCredentials(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-dc")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "dc/busybox:1")
            guard let credential = registry.credential else { Issue.record("no credential"); return }
            let configPath = "\(registry.dir)/docker-config.json"
            let auth = Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()
            try #"{"auths":{"http://\#(registry.host)":{"auth":"\#(auth)"}}}"#.write(toFile: configPath, atomically: true, encoding: .utf8)
            try await withPuller(RegistryConfiguration(dockerConfig: configPath)) { puller, _ in
                let result = try await puller.pull("\(registry.host)/dc/busybox:1")
                #expect(result.digest == digest)
            }
        }
    }

    @Test("a tampered blob is rejected and nothing is stored", arguments: modes)
    func tamperedBlob(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-tamper")
        defer { RegistryTestSupport.cleanup(layout) }
        _ = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "tamper/busybox:1")
            let upstream = TestHTTPClient()
            let registryURL = registry.baseURL
            let proxy = try await TestHTTPServer.start { request in
                var response = await upstream.forward(request, to: registryURL)
                if request.method == .GET, request.path.contains("/blobs/"), response.status == .ok, response.body.readableBytes > 10_000 {
                    // Flip one byte in the middle of every layer.
                    let index = response.body.readerIndex + response.body.readableBytes / 2
                    if let byte = response.body.getInteger(at: index, as: UInt8.self) {
                        response.body.setInteger(byte ^ 0xff, at: index)
                    }
                }
                return response
            }
            defer { Task { await proxy.stop(); await upstream.shutdown() } }
            var configuration = registry.configuration()
            if let credential = registry.credential { configuration.auths[proxy.authority] = credential }
            try await withPuller(configuration) { puller, store in
                let error = await RegistryTestSupport.expectBerthError(.imageCorrupt) {
                    try await puller.pull("\(proxy.authority)/tamper/busybox:1")
                }
                #expect(error?.message.contains("digest") == true)
                let images = try await store.list()
                #expect(images.isEmpty)
                #expect(RegistryTestSupport.files(in: store.root + "/blobs/sha256").isEmpty)
                #expect(RegistryTestSupport.files(in: store.root + "/layers").isEmpty)
                #expect(RegistryTestSupport.files(in: store.pullStagingRoot).isEmpty)
            }
        }
    }

    @Test("a mirror is tried first, a dead mirror is skipped", arguments: modes)
    func mirror(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-mirror")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "library/busybox:latest")
            let deadPort = try E2ECluster.freePort()
            var configuration = registry.configuration()
            configuration.maxAttempts = 2
            configuration.connectTimeoutSeconds = 1  // AsyncHTTPClient retries a refused connection until then
            configuration.mirrors["docker.io"] = ["http://127.0.0.1:\(deadPort)", registry.baseURL]
            try await withPuller(configuration) { puller, store in
                // docker.io is unreachable here: only the mirror can answer.
                let result = try await puller.pull("busybox")
                #expect(result.digest == digest)
                #expect(result.reference == "docker.io/library/busybox:latest")
                #expect(result.endpoint == registry.baseURL)
                let summary = try await store.summary("busybox")
                #expect(summary?.digest == digest)
            }
            // Plain HTTP to a non-loopback mirror is refused unless listed as insecure.
            #expect(throws: BerthError.self) {
                try RegistryConfiguration(mirrors: ["docker.io": ["http://10.1.2.3:5000"]]).endpoints(for: "docker.io")
            }
        }
    }

    @Test("concurrent pulls of one image download it once", arguments: modes)
    func concurrentPullsDedupe(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-dedupe")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "dedupe/busybox:1")
            let upstream = TestHTTPClient()
            let registryURL = registry.baseURL
            let blobGets = Counter()
            let proxy = try await TestHTTPServer.start { request in
                if request.method == .GET, request.path.contains("/blobs/") { blobGets.increment(request.path) }
                return await upstream.forward(request, to: registryURL)
            }
            defer { Task { await proxy.stop(); await upstream.shutdown() } }
            var configuration = registry.configuration()
            if let credential = registry.credential { configuration.auths[proxy.authority] = credential }
            try await withPuller(configuration) { puller, _ in
                let reference = "\(proxy.authority)/dedupe/busybox:1"
                let results = try await withThrowingTaskGroup(of: PullResult.self) { group in
                    for _ in 0..<4 { group.addTask { try await puller.pull(reference) } }
                    return try await group.reduce(into: [PullResult]()) { $0.append($1) }
                }
                #expect(results.count == 4)
                #expect(results.allSatisfy { $0.digest == digest })
                #expect(results.filter { !$0.shared }.count == 1)
                #expect(blobGets.count == 2, "blob GETs: \(blobGets.notes)")
            }
        }
    }

    @Test("push from the store: monolithic, then chunked; a second push uploads nothing", arguments: modes)
    func push(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-push")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            var configuration = registry.configuration()
            try await withPuller(configuration) { puller, store in
                try await store.importImage(from: layout)
                try await store.tag("busybox", as: "\(registry.host)/pushed/busybox:v1")
                let first = try await puller.push("\(registry.host)/pushed/busybox:v1")
                #expect(first.digest == digest)
                #expect(first.uploadedBlobs == 2)
                let second = try await puller.push("\(registry.host)/pushed/busybox:v1")
                #expect(second.uploadedBlobs == 0)
                #expect(second.existingBlobs == 2)
            }
            configuration.uploadChunkSize = 100_000  // the busybox layer is ~1 MB: about ten PATCHes
            try await withPuller(configuration) { puller, store in
                try await store.importImage(from: layout)
                try await store.tag("busybox", as: "\(registry.host)/chunked/busybox:v2")
                let result = try await puller.push("\(registry.host)/chunked/busybox:v2")
                #expect(result.uploadedBlobs == 2)
            }
            // What was pushed pulls back with the same digest.
            try await withPuller(registry.configuration()) { puller, _ in
                let pushed = try await puller.pull("\(registry.host)/pushed/busybox:v1")
                let chunked = try await puller.pull("\(registry.host)/chunked/busybox:v2")
                #expect(pushed.digest == digest)
                #expect(chunked.digest == digest)
            }
        }
    }

    @Test("5xx answers are retried", arguments: [RegistryAuthMode.plain])
    func retriesServerErrors(mode: RegistryAuthMode) async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-retry")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(mode) { registry in
            try registry.push(layout: layout, as: "retry/busybox:1")
            let upstream = TestHTTPClient()
            let registryURL = registry.baseURL
            let failures = Counter()
            let proxy = try await TestHTTPServer.start { request in
                if request.path.contains("/blobs/"), failures.count < 2 {
                    failures.increment()
                    return .text(.serviceUnavailable, "try later")
                }
                return await upstream.forward(request, to: registryURL)
            }
            defer { Task { await proxy.stop(); await upstream.shutdown() } }
            try await withPuller(registry.configuration()) { puller, _ in
                let result = try await puller.pull("\(proxy.authority)/retry/busybox:1")
                #expect(result.digest == digest)
                #expect(failures.count == 2)
            }
        }
    }

    /// A front that demands Basic auth and redirects blob downloads to
    /// another host (`localhost` instead of `127.0.0.1`): the credentials
    /// reach the front, never the storage host (CVE-2020-15157).
    @Test("no credentials are sent on a cross-host redirect")
    func noCredentialsOnCrossHostRedirect() async throws {
        let layout = try RegistryTestSupport.makeTempDir("layout-redirect")
        defer { RegistryTestSupport.cleanup(layout) }
        let digest = try RegistryTestSupport.buildBusybox(into: layout)
        try await withRegistry(.plain) { registry in
            try registry.push(layout: layout, as: "redirect/busybox:1")
            let upstream = TestHTTPClient()
            let registryURL = registry.baseURL
            let storageHeaders = Counter()
            let frontBlobAuth = Counter()
            let credential = RegistryCredential(username: "front", password: "front-secret")
            let storage = try await TestHTTPServer.start(host: "localhost") { request in
                storageHeaders.increment(request.headers.first(name: "Authorization") ?? "none")
                var forwarded = request
                forwarded.uri = request.uri.replacingOccurrences(of: "/storage", with: "")
                return await upstream.forward(forwarded, to: registryURL)
            }
            let storageURL = storage.baseURL
            let front = try await TestHTTPServer.start { request in
                guard request.headers.first(name: "Authorization") == credential.basicAuthorization else {
                    return .text(.unauthorized, "auth required", headers: ["WWW-Authenticate": #"Basic realm="front""#])
                }
                if request.method == .GET, request.path.contains("/blobs/") {
                    frontBlobAuth.increment()
                    return .text(.temporaryRedirect, "", headers: ["Location": storageURL + "/storage" + request.uri])
                }
                return await upstream.forward(request, to: registryURL, dropAuthorization: true)
            }
            defer { Task { await front.stop(); await storage.stop(); await upstream.shutdown() } }
            let configuration = RegistryConfiguration(auths: [front.authority: credential], dockerConfig: "")
            try await withPuller(configuration) { puller, _ in
                let result = try await puller.pull("\(front.authority)/redirect/busybox:1")
                #expect(result.digest == digest)
            }
            #expect(frontBlobAuth.count == 2)
            #expect(storageHeaders.count == 2)
            #expect(storageHeaders.notes.allSatisfy { $0 == "none" }, "storage saw: \(storageHeaders.notes)")
        }
    }
}

/// `berth image push` and `berth image pull` (the built executable, stdout
/// not a TTY: plain lines) against a real registry.
@Suite("Real docker-registry: berth image pull/push CLI", .serialized)
struct RealRegistryCommandTests {
    static let executable = RegistryTestSupport.repoRoot + "/.build/debug/berth"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable)))
    func pushThenPullWithTheCLI() async throws {
        let dir = try RegistryTestSupport.makeTempDir("cli-pull")
        defer { RegistryTestSupport.cleanup(dir) }
        let digest = try RegistryTestSupport.buildBusybox(into: dir + "/layout")
        try await withRegistry(.plain) { registry in
            let reference = "\(registry.host)/cli/busybox:1"
            try RegistryTestSupport.run([Self.executable, "image", "import", dir + "/layout", "--tag", reference, "--data-dir", dir + "/a"])
            let pushed = try RegistryTestSupport.runText([Self.executable, "image", "push", reference, "--data-dir", dir + "/a", "--docker-config", ""])
            #expect(pushed.contains("Pushed \(reference): \(digest)"))
            let pulled = try RegistryTestSupport.runText([Self.executable, "image", "pull", reference, "--data-dir", dir + "/b", "--docker-config", ""])
            let lines = pulled.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.contains("manifest \(digest)") })
            #expect(lines.contains { $0.hasPrefix("layer ") && $0.contains("downloaded and verified") })
            #expect(lines.contains("Digest: \(digest)"))
            #expect(!pulled.contains("\r"), "no progress bar when stdout is not a terminal")
            let listed = try RegistryTestSupport.runText([Self.executable, "image", "ls", "--data-dir", dir + "/b"])
            #expect(listed.contains("\(registry.host)/cli/busybox"))
        }
    }

    /// On a terminal (a pty from util-linux `script`), one bar redrawn in
    /// place with `\r` and an erase-line, ending full; no per-layer lines.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: executable) && FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func progressBarOnATerminal() async throws {
        let dir = try RegistryTestSupport.makeTempDir("cli-pull")
        defer { RegistryTestSupport.cleanup(dir) }
        let digest = try RegistryTestSupport.buildBusybox(into: dir + "/layout")
        try await withRegistry(.plain) { registry in
            let reference = "\(registry.host)/cli/busybox:tty"
            try registry.push(layout: dir + "/layout", as: "cli/busybox:tty")
            let command = [Self.executable, "image", "pull", reference, "--data-dir", dir + "/b", "--docker-config", "''"].joined(separator: " ")
            let output = String(decoding: try RegistryTestSupport.run(["script", "-qefc", command, "/dev/null"]), as: UTF8.self)
            #expect(output.contains("\r\u{1B}[2K\(reference) ["), "the bar is redrawn in place: \(output.debugDescription)")
            #expect(output.contains("[" + String(repeating: "#", count: 30) + "]"), "the last bar is full: \(output.debugDescription)")
            #expect(output.contains("1/1 layers"))
            #expect(!output.contains("downloaded and verified"), "no plain per-layer lines on a terminal")
            #expect(output.contains("Digest: \(digest)"))
        }
    }
}
