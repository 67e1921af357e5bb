import BerthAPI

/// Everything needed to (re)start a container, fully resolved at create time.
public struct ContainerSpec: Sendable, Hashable, Codable {
    public var image: String
    public var imageDigest: String?
    /// overlayfs lower directories, lowest first.
    public var layers: [String]
    public var argv: [String]
    public var env: [String]
    public var workingDir: String
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]
    public var hostname: String
    public var readOnlyRootfs: Bool
    public var capabilities: CapabilitySet
    public var noNewPrivileges: Bool
    public var mounts: [Mount]
    public var limits: ResourceLimits
    public var labels: [String: String]
    public var sandboxID: String?
    public var logMaxBytes: Int64
    /// `--rm`: the shim removes the container (directory, cgroups, image
    /// lease) when it exits. Optional so that older state files still decode.
    public var autoRemove: Bool? = nil
    /// `-t`: a pty is the process' stdin/stdout/stderr.
    public var tty: Bool? = nil
}

/// The persisted state machine of one container (`<dataDir>/containers/<id>/state.json`):
/// created → running → stopped. Written atomically after every transition so
/// that a restarted Berth finds every container where it left it.
public struct ContainerRecord: Sendable, Hashable, Codable {
    public enum Phase: String, Sendable, Hashable, Codable {
        case created, running, stopped
    }

    public var id: String
    public var name: String
    public var createdAt: String
    public var spec: ContainerSpec
    public var phase: Phase
    /// Host pid of the container's PID 1 and its start time (/proc/<pid>/stat
    /// field 22), which together survive pid reuse.
    public var pid: Int32?
    public var pidStartTime: UInt64?
    /// The monitor (berth-shim) and its start time: while it lives, a dead
    /// `pid` means "exiting", not "lost".
    public var shimPid: Int32?
    public var shimStartTime: UInt64?
    public var startedAt: String?
    public var finishedAt: String?
    public var exitCode: Int?
    public var signal: Int?
    public var oomKilled: Bool
    /// Why the container could not start ("pivot_root: Invalid argument").
    public var error: String?
    public var cgroups: CgroupPaths?
    /// True for a pod sandbox (pause process).
    public var isSandbox: Bool

    /// Kubernetes' reason for a stopped container.
    public var reason: String? {
        guard phase == .stopped else { return nil }
        if oomKilled { return "OOMKilled" }
        if error != nil { return "StartError" }
        return exitCode == 0 ? "Completed" : "Error"
    }

    public var shortID: String { String(id.prefix(12)) }
}
