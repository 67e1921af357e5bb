import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// Values of every `JSONTreeCodable` type of the runtime: `full` ones with
/// every optional set and every collection non-empty (checked with `Mirror`
/// by `gaps(in:)`, so a field added to a type without a fixture value makes
/// the tests fail), and `minimal` ones with every optional nil. Collections
/// in a full fixture hold full values only; minimal ones are tested alone.
enum JSONTreeFixtures {
    static let digestA = OCIDigest(of: Data("a".utf8))
    static let digestB = OCIDigest(of: Data("b".utf8))

    // MARK: - OCI

    static let platform = OCIPlatform(architecture: "arm64", os: "linux", variant: "v8")
    static let platformMinimal = OCIPlatform(architecture: "amd64", os: "linux")

    static let descriptor: OCIDescriptor = {
        var descriptor = OCIDescriptor(
            mediaType: OCIMediaType.imageManifest, digest: digestA, size: 5_000_000_000,
            annotations: [OCIIndex.refNameAnnotation: "docker.io/library/busybox:1", "dev.berth.imported": "2026-11-29T12:00:00Z"],
            platform: platform)
        descriptor.urls = ["https://example.com/blob", "https://mirror.example.com/blob?x=\"y\""]
        return descriptor
    }()

    static let descriptorMinimal = OCIDescriptor(mediaType: OCIMediaType.layerTarGzip, digest: digestB, size: 0)

    static let manifest = OCIManifest(config: descriptor, layers: [descriptor, descriptor], annotations: ["a": "b"])
    static let manifestMinimal: OCIManifest = {
        var manifest = OCIManifest(config: descriptorMinimal, layers: [])
        manifest.mediaType = nil
        return manifest
    }()

    static let index = OCIIndex(manifests: [descriptor, descriptor], annotations: ["org.opencontainers.image.created": "now"])
    static let indexMinimal: OCIIndex = {
        var index = OCIIndex(manifests: [])
        index.mediaType = nil
        index.schemaVersion = 1
        return index
    }()

    static let rootfs = OCIRootFS(diffIDs: [digestA, digestB])
    static let rootfsMinimal = OCIRootFS(diffIDs: [])

    static let history = OCIHistory(created: "2026-01-01T00:00:00Z", createdBy: "/bin/sh -c #(nop) ADD file", comment: "buildkit", emptyLayer: true)
    static let historyMinimal = OCIHistory(created: nil, createdBy: nil)

    /// ExposedPorts and Volumes sorted: decoding sorts them (object keys have no order).
    static let imageConfig = OCIImageConfig(
        user: "1000:1000", exposedPorts: ["53/udp", "80/tcp"], env: ["PATH=/bin", "A=\"quoted\"\n"], entrypoint: ["/init"],
        cmd: ["sh", "-c", "echo ünïcode \\ tab\t"], volumes: ["/data", "/var/log"], workingDir: "/srv", labels: ["maintainer": "x"],
        stopSignal: "SIGQUIT")
    static let imageConfigMinimal = OCIImageConfig()

    static let image: OCIImage = {
        var image = OCIImage(created: "2026-01-01T00:00:00Z", architecture: "amd64", os: "linux", config: imageConfig, rootfs: rootfs,
                             history: [history, history])
        image.author = "someone"
        return image
    }()

    static let imageMinimal: OCIImage = {
        var image = OCIImage(created: nil, architecture: "amd64", os: "linux", config: nil, rootfs: rootfsMinimal)
        image.architecture = nil
        image.os = nil
        return image
    }()

    // MARK: - Containers

    static let mount = Mount(hostPath: "/var/lib/data", containerPath: "/data", readOnly: true)
    static let limits = ResourceLimits(memoryBytes: 128 << 20, cpuMillis: 1500, cpuRequestMillis: 250, pidsLimit: 4096)
    static let limitsMinimal = ResourceLimits()
    static let cgroups = CgroupPaths(version: 1, directories: ["memory": "/sys/fs/cgroup/memory/berth/abc", "pids": "/sys/fs/cgroup/pids/berth/abc"])

    static let spec = ContainerSpec(
        image: "docker.io/library/busybox:latest", imageDigest: digestA.description, layers: ["/var/lib/berth/images/layers/a"],
        argv: ["sh", "-c", "echo hi"], env: ["PATH=/bin", "SECRET=s3cr3t"], workingDir: "/", uid: 1000, gid: 4_000_000_000,
        additionalGids: [10, 4_294_967_295], hostname: "abc", readOnlyRootfs: true, capabilities: .dockerDefault,
        noNewPrivileges: true, mounts: [mount], limits: limits, labels: ["io.kubernetes.pod.name": "web-1"], sandboxID: "sandbox-1",
        logMaxBytes: 10 << 20, autoRemove: true, tty: false)

    static let specMinimal = ContainerSpec(
        image: "rootfs:/tmp/x", imageDigest: nil, layers: [], argv: ["/bin/true"], env: [], workingDir: "/", uid: 0, gid: 0,
        additionalGids: [], hostname: "h", readOnlyRootfs: false, capabilities: .none, noNewPrivileges: false, mounts: [],
        limits: limitsMinimal, labels: [:], sandboxID: nil, logMaxBytes: 0)

    static let record = ContainerRecord(
        id: String(repeating: "ab", count: 32), name: "web", createdAt: "2026-11-29T12:00:00.000000001Z", spec: spec, phase: .stopped,
        pid: 4242, pidStartTime: 123_456_789, shimPid: 4241, shimStartTime: 123_456_700, startedAt: "2026-11-29T12:00:01.000000000Z",
        finishedAt: "2026-11-29T12:00:02.000000000Z", exitCode: 137, signal: 9, oomKilled: true, error: "pivot_root: Invalid argument",
        cgroups: cgroups, isSandbox: true)

    static let recordMinimal = ContainerRecord(
        id: "0123", name: "n", createdAt: "c", spec: specMinimal, phase: .created, pid: nil, pidStartTime: nil, shimPid: nil,
        shimStartTime: nil, startedAt: nil, finishedAt: nil, exitCode: nil, signal: nil, oomKilled: false, error: nil, cgroups: nil,
        isSandbox: false)

    static let shimExit = ShimExit(exitCode: -1, signal: 15, oomKilled: true, finishedAt: "2026-11-29T12:00:02.000000000Z", error: "exec: not found")
    static let shimExitMinimal = ShimExit(exitCode: 0, signal: 0, oomKilled: false, finishedAt: "t", error: nil)

    // MARK: - Completeness

    /// Where `value` has a nil optional or an empty collection, as dotted
    /// paths of stored properties (`spec.sandboxID`). Empty for a fixture
    /// that exercises every field of every nested type.
    static func gaps(in value: Any, at path: String = "") -> [String] {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first else { return [path] }
            return gaps(in: wrapped.value, at: path)
        case .collection, .dictionary, .set:
            if mirror.children.isEmpty { return [path + " (empty)"] }
        default:
            break
        }
        var found: [String] = []
        for (offset, child) in mirror.children.enumerated() {
            found += gaps(in: child.value, at: path + "." + (child.label ?? String(offset)))
        }
        return found
    }
}
