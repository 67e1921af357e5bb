import ArgumentParser
import BerthAPI
import BerthRuntime
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `berth image pull REF`: from a registry (or its mirror) into the local store.
struct ImagePullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Pull an image from a registry into the local store.")

    @OptionGroup var store: ImageStoreOptions
    @OptionGroup var registry: RegistryOptions
    @Argument(help: "Image reference, e.g. busybox:1.36, 127.0.0.1:5000/app:v1 or NAME@sha256:….") var reference: String
    @Option(name: .long, help: "Platform to pick from a multi-platform image (os/arch[/variant]); default: this machine's.") var platform: String?
    @Flag(name: .long, help: "Do not unpack the layers now (they are unpacked on first use).") var noUnpack = false
    @Flag(name: .shortAndLong, help: "Print only the digest.") var quiet = false

    func run() async throws {
        let images = try store.open()
        let client = try registry.makeClient()
        let puller = ImagePuller(store: images, client: client)
        let display = PullDisplay(reference: reference, tty: isatty(1) == 1, quiet: quiet)
        let result: PullResult
        do {
            result = try await puller.pull(reference, platform: try platform.map(Self.parsePlatform) ?? .current, unpack: !noUnpack) { event in
                display.handle(event)
            }
        } catch {
            display.finish()
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        display.finish()
        if quiet {
            print(result.digest)
        } else {
            print("Digest: \(result.digest)")
            if let index = result.indexDigest { print("Index: \(index) (\(result.platform.os)/\(result.platform.architecture))") }
            print("Pulled \(result.reference) from \(result.endpoint): \(result.downloadedBlobs) blobs (\(ImageTable.bytes(result.downloadedBytes))) downloaded, \(result.cachedBlobs) already present")
        }
    }

    static func parsePlatform(_ text: String) throws -> OCIPlatform {
        let parts = text.split(separator: "/").map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw BerthError(.invalidArgument, "platform \"\(text)\" must be os/arch or os/arch/variant", hint: "e.g. linux/arm64")
        }
        return OCIPlatform(architecture: parts[1], os: parts[0], variant: parts.count == 3 ? parts[2] : nil)
    }
}

/// Registry settings for `pull` and `push`: the configuration file and
/// command-line additions.
struct RegistryOptions: ParsableArguments {
    @Option(name: .long, help: "JSON file with the registries section (mirrors, insecure, auths, dockerConfig).") var registryConfig: String?
    @Option(name: .long, help: "Docker config.json with credentials (default $DOCKER_CONFIG/config.json or ~/.docker/config.json).") var dockerConfig: String?
    @Option(name: .long, help: "Registry reachable over plain HTTP (repeatable).") var insecureRegistry: [String] = []
    @Option(name: .long, help: "REGISTRY=URL: try URL before REGISTRY (repeatable), e.g. docker.io=http://127.0.0.1:5000.") var mirror: [String] = []

    func configuration() throws -> RegistryConfiguration {
        var configuration = RegistryConfiguration()
        if let registryConfig {
            guard let data = FileManager.default.contents(atPath: registryConfig) else {
                throw BerthError(.invalidArgument, "cannot read \(registryConfig)")
            }
            do {
                configuration = try JSONDecoder().decode(RegistryConfiguration.self, from: data)
            } catch {
                throw BerthError(.invalidArgument, "\(registryConfig) is not a valid registries configuration", hint: "keys: mirrors, insecure, auths, dockerConfig")
            }
        }
        if let dockerConfig { configuration.dockerConfig = dockerConfig }
        configuration.insecure += insecureRegistry
        for entry in mirror {
            guard let equals = entry.firstIndex(of: "=") else {
                throw BerthError(.invalidArgument, "--mirror \(entry) must be REGISTRY=URL")
            }
            configuration.mirrors[String(entry[..<equals]), default: []].append(String(entry[entry.index(after: equals)...]))
        }
        return configuration
    }

    func makeClient() throws -> RegistryClient { try RegistryClient(configuration: configuration()) }
}

/// Draws pull progress: one redrawn bar on a terminal, plain lines otherwise.
final class PullDisplay: Sendable {
    private struct State {
        var totals: [OCIDigest: Int64] = [:]
        var received: [OCIDigest: Int64] = [:]
        var done = Set<OCIDigest>()
        var cached = 0
        var lastDraw = ContinuousClock.now - .seconds(1)
        var drawn = false
    }

    private let reference: String
    private let tty: Bool
    private let quiet: Bool
    private let state = Mutex(State())

    init(reference: String, tty: Bool, quiet: Bool) {
        self.reference = reference
        self.tty = tty
        self.quiet = quiet
    }

    func handle(_ event: PullEvent) {
        guard !quiet else { return }
        state.withLock { state in
            switch event {
            case .resolved(let manifest, let endpoint, let layers, let cached):
                for layer in layers where !cached.contains(layer.digest) { state.totals[layer.digest] = layer.size }
                state.cached = cached.count
                if !tty {
                    print("\(reference): manifest \(manifest) from \(endpoint): \(layers.count) layers, \(cached.count) already present")
                }
            case .layerProgress(let digest, let received, _):
                state.received[digest] = received
            case .layerDone(let digest):
                state.done.insert(digest)
                state.received[digest] = state.totals[digest]
                if !tty { print("layer \(digest.short): downloaded and verified (\(ImageTable.bytes(state.totals[digest] ?? 0)))") }
            case .committing:
                if !tty { print("storing and unpacking") }
            }
            if tty { draw(&state, force: { if case .layerProgress = event { return false } else { return true } }()) }
        }
    }

    private func draw(_ state: inout State, force: Bool) {
        let now = ContinuousClock.now
        guard force || now - state.lastDraw >= .milliseconds(100) else { return }
        state.lastDraw = now
        let total = state.totals.values.reduce(0, +)
        let received = state.received.values.reduce(0, +)
        let width = 30
        let filled = total > 0 ? Int(Double(width) * Double(received) / Double(total)) : width
        let bar = String(repeating: "#", count: min(filled, width)) + String(repeating: "-", count: max(0, width - filled))
        let line = "\(reference) [\(bar)] \(ImageTable.bytes(received))/\(ImageTable.bytes(total)) \(state.done.count)/\(state.totals.count) layers"
            + (state.cached > 0 ? " (\(state.cached) cached)" : "")
        FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
        state.drawn = true
    }

    func finish() {
        state.withLock { state in
            if tty, state.drawn {
                draw(&state, force: true)
                FileHandle.standardOutput.write(Data("\n".utf8))
                state.drawn = false
            }
        }
    }
}
