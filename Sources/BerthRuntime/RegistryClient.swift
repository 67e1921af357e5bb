import BerthAPI
import Foundation
import Logging
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// A client for the OCI distribution API (what docker-registry, Docker Hub,
/// GHCR, Harbor, ECR … speak): discovery, Bearer/Basic auth, manifests and
/// blobs by digest with verification, uploads.
///
/// Requests for a repository go to a `RegistryTarget` (an endpoint — mirror
/// or upstream — plus the repository and the access wanted). Every request
/// goes through `send`: cached authorization, one retry after answering a
/// 401 challenge, bounded exponential backoff for transient failures, and
/// redirects followed by hand so credentials never reach another host.
///
/// `ImagePuller` builds image pulls (into the `ImageStore`) on top of it;
/// `push(_:from:)` uploads an image from the store.
public final class RegistryClient: Sendable {
    public let configuration: RegistryConfiguration
    let transport: any RegistryTransport
    let authenticator: RegistryAuthenticator
    let retry: RegistryRetryPolicy
    let logger: Logger

    /// The Accept list for manifests: OCI and Docker v2, single-platform and index.
    public static let manifestAccept = [
        OCIMediaType.imageIndex, OCIMediaType.imageManifest, OCIMediaType.dockerManifestList, OCIMediaType.dockerManifest,
    ]

    /// - Parameters:
    ///   - credentials: nil reads them from the configuration (and its Docker config file).
    ///   - transport: nil uses AsyncHTTPClient (`RegistryHTTPTransport`).
    public init(
        configuration: RegistryConfiguration = RegistryConfiguration(), credentials: RegistryCredentialStore? = nil,
        transport: (any RegistryTransport)? = nil, logger: Logger = Logger(label: "berth.registry")
    ) throws {
        self.configuration = configuration
        self.transport = transport ?? RegistryHTTPTransport(connectTimeout: .seconds(max(1, configuration.connectTimeoutSeconds)))
        self.authenticator = RegistryAuthenticator(credentials: try credentials ?? RegistryCredentialStore(configuration: configuration))
        self.retry = RegistryRetryPolicy(maxAttempts: configuration.maxAttempts, initialBackoff: .milliseconds(configuration.initialBackoffMilliseconds))
        self.logger = logger
    }

    /// Closes connections. Call once when done (AsyncHTTPClient insists).
    public func shutdown() async throws {
        try await transport.shutdown()
    }

    // MARK: - Sending

    /// Sends a request to a target's endpoint: with cached authorization,
    /// answering one 401 challenge, retrying transient failures, and
    /// following redirects if asked (dropping Authorization on the way to
    /// another origin).
    func send(_ request: RegistryRequest, to target: RegistryTarget, followRedirects: Bool = false) async throws -> RegistryResponse {
        var request = request
        if let authorization = await authenticator.cachedAuthorization(host: target.endpoint.host, scope: target.scope) {
            request.headers.replaceOrAdd(name: "Authorization", value: authorization)
        }
        var response = try await executeWithRetry(request, target: target)
        if response.status == 401 {
            let challenges = RegistryAuthChallenge.parse(response.headers["WWW-Authenticate"])
            await response.body.drain()
            let authorization = try await authenticator.authorize(
                challenges: challenges, host: target.endpoint.host, scope: target.scope, repository: target.repository,
                transport: transport, allowPlainHTTP: { [configuration] in configuration.allowsPlainHTTP($0) })
            request.headers.replaceOrAdd(name: "Authorization", value: authorization)
            response = try await executeWithRetry(request, target: target)
        }
        guard followRedirects else { return response }
        var current = request
        for _ in 0..<RegistryRedirectPolicy.maxRedirects {
            guard [301, 302, 303, 307, 308].contains(response.status) else { return response }
            guard let location = response.header("Location"),
                  let next = RegistryRedirectPolicy.resolve(location: location, against: current.url) else {
                await response.body.drain()
                throw BerthError(.registry, "\(target.endpoint.host) redirected \(target.repository) without a usable Location")
            }
            await response.body.drain()
            guard RegistryRedirectPolicy.allows(from: current.url, to: next, allowPlainHTTP: configuration.allowsPlainHTTP) else {
                throw BerthError(.registry, "\(target.endpoint.host) redirected a download from HTTPS to plain HTTP (\(Self.redact(next)))",
                                 hint: "refusing the downgrade; list the host under registries.insecure if it is intended")
            }
            if !RegistryRedirectPolicy.isSameOrigin(request.url, next) {
                current.headers.remove(name: "Authorization")
            }
            current.url = next
            if current.method == .POST || response.status == 303 { current.method = .GET; current.body = .none }
            logger.debug("following redirect", metadata: ["to": "\(Self.redact(next))"])
            response = try await executeWithRetry(current, target: target)
        }
        if [301, 302, 303, 307, 308].contains(response.status) {
            await response.body.drain()
            throw BerthError(.registry, "\(target.endpoint.host): more than \(RegistryRedirectPolicy.maxRedirects) redirects for repository \(target.repository)")
        }
        return response
    }

    /// The URL without its query (signed storage URLs carry secrets there).
    static func redact(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }

    func executeWithRetry(_ request: RegistryRequest, target: RegistryTarget) async throws -> RegistryResponse {
        var attempt = 1
        while true {
            do {
                let response = try await transport.execute(request)
                if RegistryRetryPolicy.isTransient(status: response.status), attempt < retry.maxAttempts {
                    await response.body.drain()
                    logger.debug("retrying", metadata: ["status": "\(response.status)", "url": "\(Self.redact(request.url))", "attempt": "\(attempt)"])
                    try await Task.sleep(for: retry.delay(afterAttempt: attempt))
                    attempt += 1
                    continue
                }
                return response
            } catch let error where Self.isTransient(error) {
                guard attempt < retry.maxAttempts else {
                    throw BerthError(.unavailable, "cannot reach \(target.endpoint.description) for repository \(target.repository) after \(attempt) attempt(s)",
                                     hint: "check that the registry is up and reachable", cause: error)
                }
                logger.debug("retrying", metadata: ["error": "\(error)", "url": "\(Self.redact(request.url))", "attempt": "\(attempt)"])
                try await Task.sleep(for: retry.delay(afterAttempt: attempt))
                attempt += 1
            }
        }
    }

    /// Network errors are worth another try; our own verdicts and cancellation are not.
    static func isTransient(_ error: any Error) -> Bool {
        !(error is BerthError) && !(error is CancellationError)
    }

    // MARK: - Errors

    private struct ErrorDocument: Decodable {
        struct Entry: Decodable {
            var code: String?
            var message: String?
        }
        var errors: [Entry]?
    }

    /// A clear error for a failed response: who answered what, for which
    /// repository, with the registry's own message.
    func failure(_ response: RegistryResponse, target: RegistryTarget, what: String) async -> BerthError {
        let body = try? await response.body.collect(upTo: 64 << 10)
        let entries = body.flatMap { try? JSONDecoder().decode(ErrorDocument.self, from: Data($0.readableBytesView)) }?.errors ?? []
        let codes = Set(entries.compactMap(\.code))
        var detail = entries.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ")
        if detail.isEmpty { detail = "HTTP \(response.status)" } else { detail = "HTTP \(response.status) \(detail)" }
        let registry = target.endpoint.isMirror ? "mirror \(target.endpoint.host) of \(target.domain)" : "registry \(target.domain)"
        switch response.status {
        case 401:
            return BerthError(.unauthorized, "\(registry) refused access to repository \(target.repository) (\(detail))",
                              hint: RegistryAuthenticator.credentialHint(target.endpoint.host))
        case 403:
            return BerthError(.forbidden, "\(registry) forbids \(target.push ? "pushing to" : "pulling from") repository \(target.repository) (\(detail))",
                              hint: "check that the account may access \(target.repository)")
        case 404:
            return BerthError(.imageNotFound, "\(registry) has no \(what) in repository \(target.repository) (\(detail))",
                              hint: "check the image name and tag")
        default:
            if !codes.isDisjoint(with: ["MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"]) {
                return BerthError(.imageNotFound, "\(registry) has no \(what) in repository \(target.repository) (\(detail))",
                                  hint: "check the image name and tag")
            }
            return BerthError(.registry, "\(registry) failed on \(what) in repository \(target.repository) (\(detail))")
        }
    }

    // MARK: - Discovery

    /// `GET /v2/`: is this a registry, and does it want auth?
    public func ping(_ endpoint: RegistryEndpoint) async throws -> Int {
        let target = RegistryTarget(endpoint: endpoint, domain: endpoint.host, repository: "", push: false)
        let response = try await executeWithRetry(RegistryRequest(url: endpoint.baseURL + "/v2/"), target: target)
        await response.body.drain()
        return response.status
    }

    // MARK: - Manifests

    /// Fetches a manifest or index by tag or digest and verifies it: by
    /// digest, the bytes must hash to it; by tag, to the registry's
    /// Docker-Content-Digest when it sends one.
    public func fetchManifest(_ reference: String, from target: RegistryTarget) async throws -> RegistryManifest {
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: Self.manifestAccept.joined(separator: ", "))
        let url = "\(target.endpoint.baseURL)/v2/\(target.repository)/manifests/\(reference)"
        let response = try await send(RegistryRequest(url: url, headers: headers, timeout: .seconds(60)), to: target, followRedirects: true)
        guard response.status == 200 else {
            throw await failure(response, target: target, what: "manifest \(reference)")
        }
        let buffer = try await response.body.collect(upTo: ImageStoreEngine.maxMetadataSize)
        let data = Data(buffer.readableBytesView)
        let digest = OCIDigest(of: data)
        if reference.hasPrefix("sha256:"), reference != digest.description {
            throw BerthError(.imageCorrupt, "\(target.endpoint.host) returned a manifest with digest \(digest) for \(target.repository)@\(reference)",
                             hint: "the registry or something between is serving wrong content")
        }
        if let header = response.header("Docker-Content-Digest"), header.hasPrefix("sha256:"), header != digest.description {
            throw BerthError(.imageCorrupt, "\(target.endpoint.host): manifest \(target.repository):\(reference) hashes to \(digest), the registry says \(header)",
                             hint: "the manifest was modified in transit")
        }
        let contentType = response.header("Content-Type")?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        return RegistryManifest(data: data, mediaType: try Self.manifestMediaType(contentType: contentType, data: data, what: "\(target.repository):\(reference)"), digest: digest)
    }

    private struct MediaTypeProbe: Decodable {
        var mediaType: String?
        var manifests: [OCIDescriptor]?
        var config: OCIDescriptor?
    }

    /// The Content-Type when it is one we asked for, else the document's
    /// own `mediaType`, else what its shape says.
    static func manifestMediaType(contentType: String?, data: Data, what: String) throws -> String {
        if let contentType, manifestAccept.contains(contentType) { return contentType }
        guard let probe = try? JSONDecoder().decode(MediaTypeProbe.self, from: data) else {
            throw BerthError(.imageCorrupt, "manifest \(what) is not JSON (Content-Type \(contentType ?? "none"))")
        }
        if let type = probe.mediaType, manifestAccept.contains(type) { return type }
        if probe.manifests != nil { return OCIMediaType.imageIndex }
        if probe.config != nil { return OCIMediaType.imageManifest }
        throw BerthError(.imageCorrupt, "manifest \(what) has unsupported media type \(contentType ?? probe.mediaType ?? "none")",
                         hint: "Berth reads OCI and Docker v2 schema 2 manifests and indexes")
    }

    /// Uploads a manifest (or index) under a tag or digest; returns its digest.
    @discardableResult
    public func putManifest(_ data: Data, mediaType: String, reference: String, to target: RegistryTarget) async throws -> OCIDigest {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: mediaType)
        let url = "\(target.endpoint.baseURL)/v2/\(target.repository)/manifests/\(reference)"
        let request = RegistryRequest(method: .PUT, url: url, headers: headers, body: .bytes(ByteBuffer(bytes: data)))
        let response = try await send(request, to: target)
        guard response.status == 201 || response.status == 200 else {
            throw await failure(response, target: target, what: "manifest upload \(reference)")
        }
        await response.body.drain()
        return OCIDigest(of: data)
    }

    // MARK: - Blobs

    /// Downloads a blob into `path`, hashing while it streams: more bytes
    /// than the descriptor says stop the download at once, a wrong digest
    /// fails it, and `path` holds the verified blob only on success.
    /// Network failures restart the download (bounded); wrong content does not.
    public func fetchBlob(
        _ descriptor: OCIDescriptor, from target: RegistryTarget, to path: String,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws {
        let url = "\(target.endpoint.baseURL)/v2/\(target.repository)/blobs/\(descriptor.digest)"
        var attempt = 1
        while true {
            do {
                let timeout = Duration.seconds(300 + Int(descriptor.size >> 20))  // ≥ 1 MiB/s
                let response = try await send(RegistryRequest(url: url, timeout: timeout), to: target, followRedirects: true)
                guard response.status == 200 else {
                    throw await failure(response, target: target, what: "blob \(descriptor.digest)")
                }
                try await Self.stream(response.body, to: path, expected: descriptor, label: "\(target.endpoint.host)/\(target.repository)", progress: progress)
                return
            } catch let error where Self.isTransient(error) && attempt < retry.maxAttempts {
                logger.debug("blob download failed, retrying", metadata: ["digest": "\(descriptor.digest)", "error": "\(error)"])
                try await Task.sleep(for: retry.delay(afterAttempt: attempt))
                attempt += 1
            }
        }
    }

    static func stream(
        _ body: RegistryResponseBody, to path: String, expected: OCIDescriptor, label: String, progress: (@Sendable (Int64) -> Void)?
    ) async throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LayerUnpacker.systemError("cannot create \(path)", errno) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(path) }
        }
        var hasher = DigestHasher()
        for try await chunk in body {
            try chunk.withUnsafeReadableBytes { bytes in
                hasher.update(bytes)
                guard hasher.count <= expected.size else {
                    throw BerthError(.imageCorrupt, "\(label): blob \(expected.digest) is larger than the \(expected.size) bytes its descriptor says",
                                     hint: "the registry or something between is serving wrong content")
                }
                try ImageStoreEngine.writeAll(fd, bytes, what: path)
            }
            progress?(hasher.count)
        }
        let digest = hasher.finalize()
        guard hasher.count == expected.size else {
            throw BerthError(.imageCorrupt, "\(label): blob \(expected.digest) ended after \(hasher.count) of \(expected.size) bytes",
                             hint: "the download was cut short; pull again")
        }
        guard digest == expected.digest else {
            throw BerthError(.imageCorrupt, "\(label): blob content has digest \(digest), expected \(expected.digest)",
                             hint: "the registry or something between is serving wrong content; nothing was stored")
        }
        guard fsync(fd) == 0 else { throw LayerUnpacker.systemError("cannot sync \(path)", errno) }
        ok = true
    }

    /// `HEAD` a blob: true if the repository has it.
    public func blobExists(_ digest: OCIDigest, in target: RegistryTarget) async throws -> Bool {
        let url = "\(target.endpoint.baseURL)/v2/\(target.repository)/blobs/\(digest)"
        let response = try await send(RegistryRequest(method: .HEAD, url: url), to: target)
        await response.body.drain()
        switch response.status {
        case 200, 307, 302: return true
        case 404: return false
        default: throw await failure(response, target: target, what: "blob \(digest)")
        }
    }

    /// Uploads a blob from a file: `POST` to open an upload session, then
    /// one `PUT` (monolithic) or `PATCH` chunks of `uploadChunkSize` and a
    /// closing `PUT ?digest=` (chunked), as the distribution spec describes.
    public func uploadBlob(_ descriptor: OCIDescriptor, fromFile path: String, to target: RegistryTarget) async throws {
        let start = "\(target.endpoint.baseURL)/v2/\(target.repository)/blobs/uploads/"
        let opened = try await send(RegistryRequest(method: .POST, url: start), to: target)
        guard opened.status == 202 else { throw await failure(opened, target: target, what: "blob upload \(descriptor.digest.short)") }
        await opened.body.drain()
        var location = try uploadLocation(opened, base: start, target: target)
        let chunk = max(configuration.uploadChunkSize, 1)
        if descriptor.size > chunk {
            var offset: Int64 = 0
            while offset < descriptor.size {
                let length = min(chunk, descriptor.size - offset)
                var patchHeaders = HTTPHeaders()
                patchHeaders.add(name: "Content-Type", value: "application/octet-stream")
                patchHeaders.add(name: "Content-Range", value: "\(offset)-\(offset + length - 1)")
                let patch = RegistryRequest(method: .PATCH, url: location, headers: patchHeaders,
                                            body: .file(path: path, offset: offset, length: length), timeout: .seconds(600))
                let response = try await send(patch, to: target)
                guard response.status == 202 else { throw await failure(response, target: target, what: "blob chunk \(descriptor.digest.short)") }
                await response.body.drain()
                location = try uploadLocation(response, base: location, target: target)
                offset += length
            }
            try await finishUpload(location: location, digest: descriptor.digest, body: .none, target: target)
        } else {
            try await finishUpload(location: location, digest: descriptor.digest,
                                   body: .file(path: path, offset: 0, length: descriptor.size), target: target)
        }
    }

    private func finishUpload(location: String, digest: OCIDigest, body: RegistryRequestBody, target: RegistryTarget) async throws {
        let separator = location.contains("?") ? "&" : "?"
        let url = "\(location)\(separator)digest=\(digest.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? digest.description)"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/octet-stream")
        let response = try await send(RegistryRequest(method: .PUT, url: url, headers: headers, body: body, timeout: .seconds(600)), to: target)
        guard response.status == 201 else { throw await failure(response, target: target, what: "blob upload \(digest.short)") }
        await response.body.drain()
    }

    private func uploadLocation(_ response: RegistryResponse, base: String, target: RegistryTarget) throws -> String {
        guard let location = response.header("Location"), let url = RegistryRedirectPolicy.resolve(location: location, against: base) else {
            throw BerthError(.registry, "\(target.endpoint.host) opened an upload for \(target.repository) without a Location")
        }
        return url
    }
}

/// Where a request goes: an endpoint (mirror or the registry), the
/// repository on it, and whether the token must allow pushing.
public struct RegistryTarget: Sendable, Hashable {
    public var endpoint: RegistryEndpoint
    /// The registry the image belongs to (`docker.io`), for messages.
    public var domain: String
    /// `library/busybox`.
    public var repository: String
    public var push: Bool

    public init(endpoint: RegistryEndpoint, domain: String, repository: String, push: Bool = false) {
        self.endpoint = endpoint
        self.domain = domain
        self.repository = repository
        self.push = push
    }

    /// The token scope (distribution's resource scope grammar).
    public var scope: String { "repository:\(repository):\(push ? "pull,push" : "pull")" }
}

/// A fetched, verified manifest or index.
public struct RegistryManifest: Sendable, Hashable {
    public var data: Data
    public var mediaType: String
    public var digest: OCIDigest

    public var descriptor: OCIDescriptor {
        OCIDescriptor(mediaType: mediaType, digest: digest, size: Int64(data.count))
    }
}
