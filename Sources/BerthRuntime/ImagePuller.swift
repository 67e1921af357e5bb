import BerthAPI
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Pulls images from registries into the local `ImageStore`, the way
/// containerd does: resolve the reference on the mirrors then the registry,
/// pick this node's platform from an index, download the blobs the store
/// lacks (a few layers at a time, each verified while it streams), then
/// register the image in one step.
///
/// An actor so that concurrent pulls of the same image (two pods of one
/// Deployment starting together) share one download: the second caller
/// awaits the first caller's task.
public actor ImagePuller {
    public let store: ImageStore
    public let client: RegistryClient
    private let logger: Logger
    private var inFlight: [String: Task<PullResult, any Error>] = [:]

    public init(store: ImageStore, client: RegistryClient, logger: Logger = Logger(label: "berth.pull")) {
        self.store = store
        self.client = client
        self.logger = logger
    }

    // MARK: - NodeRuntime.ensureImage

    /// `NodeRuntime.ensureImage` with a registry behind it.
    ///
    /// - `Never`: the local image, or `.imageNotFound` (ErrImageNeverPull).
    /// - `IfNotPresent`: the local image, else a pull.
    /// - `Always`: a pull; layers the store has are not downloaded again,
    ///   so an unchanged tag costs a manifest request.
    /// - empty: Kubernetes' default, `Always` for `:latest`, else `IfNotPresent`.
    ///
    /// Every pull failure is rethrown with code `.registry` (ErrImagePull)
    /// and the registry's message, so that it is never mistaken for
    /// `Never`'s `.imageNotFound`.
    ///
    /// With `fallBackToLocal` (the node runtime's choice), a failed pull of
    /// an image the store already has returns the local copy, with the
    /// failure in `pullWarning` and a warning in the log: `Always` on a node
    /// that cannot reach the registry (an air-gapped box, or imported images
    /// tagged :latest) then runs what it has rather than failing a pod that
    /// can run. Kubernetes would report ErrImagePull there; Berth runs
    /// offline by design, and says so instead of failing.
    ///
    /// An unreachable registry costs tens of seconds per attempt (connect
    /// timeouts, retries), so after a fallback the same reference uses its
    /// local copy at once for `fallbackWindow` seconds (still with the
    /// warning) instead of stalling every container start.
    public func ensureImage(_ reference: String, pullPolicy: String, fallBackToLocal: Bool) async throws -> ImageSummary {
        guard fallBackToLocal, pullPolicy != "Never" else { return try await ensureImage(reference, pullPolicy: pullPolicy) }
        if let failure = recentFailures[reference], Date().timeIntervalSince(failure.at) < fallbackWindow,
           var local = try? await store.summary(reference) {
            let ago = Int(Date().timeIntervalSince(failure.at))
            local.pullWarning = "\(failure.message) (\(ago)s ago); running the local copy \(local.digest.prefix(19)) instead"
            return local
        }
        do {
            let summary = try await ensureImage(reference, pullPolicy: pullPolicy)
            recentFailures[reference] = nil
            return summary
        } catch let error as BerthError where error.code == .registry {
            guard var local = try? await store.summary(reference) else { throw error }
            recentFailures[reference] = (Date(), error.message)
            let warning = "\(error.message); running the local copy \(local.digest.prefix(19)) instead"
            logger.warning("\(warning)")
            local.pullWarning = warning
            return local
        }
    }

    /// How long a failed pull that fell back to the local copy is trusted.
    public var fallbackWindow: TimeInterval = 300
    private var recentFailures: [String: (at: Date, message: String)] = [:]

    public func ensureImage(_ reference: String, pullPolicy: String) async throws -> ImageSummary {
        var policy = pullPolicy
        if policy.isEmpty {
            let tag = (try? ImageReference(parsing: reference))?.tag
            policy = tag == "latest" ? "Always" : "IfNotPresent"
        }
        switch policy {
        case "Never":
            return try await store.ensureLocal(reference, pullPolicy: policy)
        case "IfNotPresent":
            if let summary = try await store.summary(reference) { return summary }
        case "Always":
            break
        default:
            throw BerthError(.invalidArgument, "imagePullPolicy \"\(pullPolicy)\" is not Always, IfNotPresent or Never")
        }
        do {
            return try await pull(reference).summary
        } catch let error as BerthError {
            var wrapped = error
            if wrapped.code != .invalidArgument { wrapped.code = .registry }
            wrapped.message = "pulling \(reference): \(error.message)"
            throw wrapped
        }
    }

    // MARK: - Pull

    /// Pulls `reference` for `platform` and registers it under its
    /// normalized name. With `unpack`, the layers are unpacked (and their
    /// diff_ids verified) before the name appears; without, on first use.
    @discardableResult
    public func pull(
        _ reference: String, platform: OCIPlatform = .current, unpack: Bool = true,
        progress: (@Sendable (PullEvent) -> Void)? = nil
    ) async throws -> PullResult {
        let parsed = try ImageReference(parsing: reference)
        let key = "\(parsed)|\(platform.os)/\(platform.architecture)/\(platform.variant ?? "")|\(unpack)"
        if let running = inFlight[key] {
            var result = try await running.value
            result.shared = true
            return result
        }
        let operation = PullOperation(store: store, client: client, reference: parsed, platform: platform, unpack: unpack,
                                      progress: progress, logger: logger)
        let task = Task { try await operation.run() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        return try await task.value
    }

    // MARK: - Push

    /// Pushes an image of the local store to the registry its name points
    /// to (never to a mirror): config and layers the registry lacks (HEAD),
    /// uploaded a few at a time, then the manifest, byte for byte, so the
    /// digest stays the same.
    @discardableResult
    public func push(_ reference: String, progress: (@Sendable (String) -> Void)? = nil) async throws -> PushResult {
        let parsed = try ImageReference(parsing: reference)
        let details = try await store.inspect(reference)
        let engine = store.engine
        guard let manifestDigest = try? OCIDigest(parsing: details.record.digest) else {
            throw BerthError(.internal, "image \(reference) has an invalid digest")
        }
        let manifestData = try await BlockingWork.run { try engine.readBlob(manifestDigest, label: "image \(manifestDigest.short)") }
        guard let upstream = try client.configuration.endpoints(for: parsed.domain).last else {
            throw BerthError(.internal, "no endpoint for \(parsed.domain)")
        }
        let target = RegistryTarget(endpoint: upstream, domain: parsed.domain, repository: parsed.path, push: true)
        let blobs = [details.manifest.config] + details.manifest.layers
        for blob in blobs where !engine.hasBlob(blob.digest) {
            throw BerthError(.imageCorrupt, "image \(reference): blob \(blob.digest.short) is missing from the local store", hint: "pull or import the image again")
        }
        let client = self.client
        let limit = max(1, client.configuration.maxConcurrentDownloads)
        var uploaded = 0, existing = 0
        var uploadedBytes: Int64 = 0
        try await withThrowingTaskGroup(of: (Bool, Int64).self) { group in
            var pending = blobs[...]
            func startNext() {
                guard let blob = pending.popFirst() else { return }
                group.addTask {
                    if try await client.blobExists(blob.digest, in: target) {
                        progress?("blob \(blob.digest.short): already in \(target.endpoint.host)")
                        return (false, 0)
                    }
                    try await client.uploadBlob(blob, fromFile: engine.blobPath(blob.digest), to: target)
                    progress?("blob \(blob.digest.short): pushed \(blob.size) bytes")
                    return (true, blob.size)
                }
            }
            for _ in 0..<limit { startNext() }
            while let (didUpload, bytes) = try await group.next() {
                if didUpload { uploaded += 1; uploadedBytes += bytes } else { existing += 1 }
                startNext()
            }
        }
        let mediaType = details.manifest.mediaType ?? OCIMediaType.imageManifest
        let tagOrDigest = parsed.tag ?? parsed.digest ?? manifestDigest.description
        try await client.putManifest(manifestData, mediaType: mediaType, reference: tagOrDigest, to: target)
        progress?("manifest \(manifestDigest): pushed as \(parsed)")
        return PushResult(reference: parsed.description, digest: manifestDigest.description, uploadedBlobs: uploaded,
                          uploadedBytes: uploadedBytes, existingBlobs: existing)
    }
}

// MARK: - One pull

/// The steps of one pull, run once per in-flight key.
struct PullOperation: Sendable {
    let store: ImageStore
    let client: RegistryClient
    let reference: ImageReference
    let platform: OCIPlatform
    let unpack: Bool
    let progress: (@Sendable (PullEvent) -> Void)?
    let logger: Logger

    /// What a child task of the layer group finished.
    enum LayerStep: Sendable {
        case downloaded(OCIDescriptor, path: String)
        case unpacked(diffID: OCIDigest, dir: String)
    }

    struct Resolved {
        var target: RegistryTarget
        var manifest: RegistryManifest
        var indexDigest: OCIDigest?
        var parsed: OCIManifest
    }

    func run() async throws -> PullResult {
        store.cleanStalePullStaging()
        let resolved = try await resolve()
        let target = resolved.target
        let engine = store.engine
        let staging = "\(store.pullStagingRoot)/\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? LayerUnpacker.removeTree(path: staging) }

        // Manifest and config: small, verified, read here.
        var staged: [OCIDigest: String] = [:]
        let manifestPath = "\(staging)/\(resolved.manifest.digest.hex)"
        try resolved.manifest.data.write(to: URL(fileURLWithPath: manifestPath))
        staged[resolved.manifest.digest] = manifestPath
        let configDescriptor = resolved.parsed.config
        guard configDescriptor.size <= Int64(ImageStoreEngine.maxMetadataSize) else {
            throw BerthError(.imageCorrupt, "\(reference): config is \(configDescriptor.size) bytes, too large")
        }
        let configPath = "\(staging)/\(configDescriptor.digest.hex)"
        let configData: Data
        if engine.hasBlob(configDescriptor.digest) {
            configData = try engine.readBlob(configDescriptor.digest, label: "\(reference)")
        } else {
            try await client.fetchBlob(configDescriptor, from: target, to: configPath)
            staged[configDescriptor.digest] = configPath
            configData = try Data(contentsOf: URL(fileURLWithPath: configPath))
        }
        let image = try engine.decode(OCIImage.self, configData, what: "\(reference): config")
        let layers = resolved.parsed.layers
        guard image.rootfs.diffIDs.count == layers.count else {
            throw BerthError(.imageCorrupt, "\(reference): \(layers.count) layers but the config lists \(image.rootfs.diffIDs.count) diff_ids")
        }
        for layer in layers where !OCIMediaType.isLayer(layer.mediaType) {
            throw BerthError(.imageCorrupt, "\(reference): layer \(layer.digest.short) has unsupported media type \(layer.mediaType)",
                             hint: "Berth runs tar, tar+gzip and tar+zstd layers")
        }

        // Layers: only those the store lacks, a few at a time.
        let cached = Set(layers.map(\.digest).filter { engine.hasBlob($0) })
        progress?(.resolved(manifest: resolved.manifest.digest, endpoint: target.endpoint.baseURL, layers: layers, cached: cached))
        var missing: [OCIDescriptor] = []
        for layer in layers where !cached.contains(layer.digest) && !missing.contains(where: { $0.digest == layer.digest }) {
            missing.append(layer)
        }
        let client = self.client, progress = self.progress
        let limit = max(1, client.configuration.maxConcurrentDownloads)
        // Unpacking is CPU work (decompress, hash, write files): one per core,
        // in its own lane, so that a finished download frees its slot for the
        // next layer at once instead of holding it while it unpacks.
        let unpackLimit = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var downloadedBytes: Int64 = staged[configDescriptor.digest] != nil ? configDescriptor.size : 0
        var diffIDByBlob: [OCIDigest: OCIDigest] = [:]
        for (layer, diffID) in zip(layers, image.rootfs.diffIDs) where diffIDByBlob[layer.digest] == nil {
            diffIDByBlob[layer.digest] = diffID
        }
        var unpacked: [OCIDigest: String] = [:]
        try await withThrowingTaskGroup(of: LayerStep.self) { group in
            var pending = missing[...]
            var downloading = 0, unpacking = 0
            var waitingToUnpack: [(path: String, diffID: OCIDigest, digest: OCIDigest)] = []
            func startDownloads() {
                while downloading < limit, let layer = pending.popFirst() {
                    downloading += 1
                    let path = "\(staging)/\(layer.digest.hex)"
                    group.addTask {
                        try await client.fetchBlob(layer, from: target, to: path) { received in
                            progress?(.layerProgress(layer.digest, received: received, total: layer.size))
                        }
                        progress?(.layerDone(layer.digest))
                        return .downloaded(layer, path: path)
                    }
                }
            }
            // Unpack now, while the other layers download; the commit only
            // renames the result into the store.
            func startUnpacks() {
                while unpacking < unpackLimit, !waitingToUnpack.isEmpty {
                    let next = waitingToUnpack.removeFirst()
                    unpacking += 1
                    let dir = "\(staging)/layer-\(next.digest.hex)"
                    group.addTask {
                        try await BlockingWork.run {
                            guard mkdir(dir, 0o700) == 0 else { throw LayerUnpacker.systemError("cannot create \(dir)", errno) }
                            _ = try LayerUnpacker.unpack(blob: next.path, into: dir + "/fs", expectedDiffID: next.diffID, label: "layer \(next.digest.short)")
                        }
                        return .unpacked(diffID: next.diffID, dir: dir)
                    }
                }
            }
            startDownloads()
            while let step = try await group.next() {
                switch step {
                case .downloaded(let layer, let path):
                    downloading -= 1
                    staged[layer.digest] = path
                    downloadedBytes += layer.size
                    if unpack, let diffID = diffIDByBlob[layer.digest] {
                        waitingToUnpack.append((path, diffID, layer.digest))
                    }
                case .unpacked(let diffID, let dir):
                    unpacking -= 1
                    unpacked[diffID] = dir
                }
                startDownloads()
                startUnpacks()
            }
        }

        progress?(.committing)
        let manifestDescriptor = OCIDescriptor(mediaType: resolved.manifest.mediaType, digest: resolved.manifest.digest, size: Int64(resolved.manifest.data.count))
        let commit = PullCommit(
            manifest: manifestDescriptor, config: configDescriptor.digest, layers: layers, diffIDs: image.rootfs.diffIDs,
            staged: staged, references: [reference.description], unpack: unpack, unpacked: unpacked)
        let record = try await store.commitPull(commit)
        logger.debug("pulled image", metadata: [
            "reference": "\(reference)", "digest": "\(record.digest)", "endpoint": "\(target.endpoint.baseURL)",
            "downloaded": "\(staged.count - 1) blobs, \(downloadedBytes) bytes",
        ])
        return PullResult(
            reference: reference.description, digest: record.digest, indexDigest: resolved.indexDigest?.description,
            platform: OCIPlatform(architecture: image.architecture ?? "", os: image.os ?? "", variant: nil),
            endpoint: target.endpoint.baseURL, downloadedBlobs: staged.count - 1, downloadedBytes: downloadedBytes,
            cachedBlobs: 1 + Set(layers.map(\.digest)).count - (staged.count - 1), shared: false)
    }

    /// Mirrors first, then the registry (containerd's hosts.toml order). A
    /// mirror's failure of any kind moves on to the next endpoint; the
    /// registry's failure is the pull's failure (mentioning the mirrors').
    func resolve() async throws -> Resolved {
        let endpoints = try client.configuration.endpoints(for: reference.domain)
        var mirrorErrors: [String] = []
        for endpoint in endpoints {
            let target = RegistryTarget(endpoint: endpoint, domain: reference.domain, repository: reference.path)
            do {
                return try await resolve(on: target)
            } catch let error where endpoint.isMirror && !(error is CancellationError) {
                logger.info("mirror failed, trying the next endpoint", metadata: ["mirror": "\(endpoint.baseURL)", "error": "\(error)"])
                mirrorErrors.append("\(endpoint.baseURL): \(error)")
            } catch var error as BerthError {
                if !mirrorErrors.isEmpty { error.message += " (mirrors failed too: \(mirrorErrors.joined(separator: "; ")))" }
                throw error
            }
        }
        throw BerthError(.registry, "no endpoint for \(reference.domain)")
    }

    private func resolve(on target: RegistryTarget) async throws -> Resolved {
        let top = try await client.fetchManifest(reference.digest ?? reference.tag ?? "latest", from: target)
        if OCIMediaType.isIndex(top.mediaType) {
            let index = try store.engine.decode(OCIIndex.self, top.data, what: "\(reference): image index")
            guard let chosen = RegistryPlatformMatcher.select(from: index.manifests, for: platform) else {
                let available = index.manifests.compactMap { $0.platform }.map { [$0.os, $0.architecture, $0.variant].compactMap { $0 }.joined(separator: "/") }
                throw BerthError(.imageNotFound, "\(reference) has no image for \(platform.os)/\(platform.architecture)\(platform.variant.map { "/\($0)" } ?? "") (registry \(target.endpoint.host), repository \(target.repository))",
                                 hint: "available platforms: \(available.joined(separator: ", "))")
            }
            let manifest = try await client.fetchManifest(chosen.digest.description, from: target)
            guard OCIMediaType.isManifest(manifest.mediaType) else {
                throw BerthError(.imageCorrupt, "\(reference): index entry \(chosen.digest.short) is a \(manifest.mediaType), not an image manifest")
            }
            return Resolved(target: target, manifest: manifest, indexDigest: top.digest, parsed: try decodeManifest(manifest))
        }
        return Resolved(target: target, manifest: top, indexDigest: nil, parsed: try decodeManifest(top))
    }

    private func decodeManifest(_ manifest: RegistryManifest) throws -> OCIManifest {
        let parsed = try store.engine.decode(OCIManifest.self, manifest.data, what: "\(reference): manifest \(manifest.digest.short)")
        guard parsed.schemaVersion == 2 else {
            throw BerthError(.imageCorrupt, "\(reference): manifest schemaVersion \(parsed.schemaVersion) is not supported")
        }
        return parsed
    }
}
