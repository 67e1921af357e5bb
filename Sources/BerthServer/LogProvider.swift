import BerthAPI

/// Where `GET /api/v1/namespaces/{ns}/pods/{name}/log` gets its bytes. The
/// server knows nothing of containers; the orchestrator (through the node
/// runtime) implements this and hands it to `APIServer`.
public protocol LogProvider: Sendable {
    /// A container's log as a stream of byte chunks. With `follow`, the
    /// stream stays open and yields new output until the container exits or
    /// the client goes away (the server cancels the consuming task).
    ///
    /// - Parameters:
    ///   - container: already resolved by the server (the pod's only
    ///     container when the client named none).
    ///   - tailLines: only the last N lines, nil for all.
    func logs(
        namespace: String, pod: String, container: String, tailLines: Int?, follow: Bool
    ) async throws -> AsyncThrowingStream<[UInt8], any Error>
}

/// The provider used until a runtime is attached: every request fails with
/// a clear 503.
public struct UnavailableLogProvider: LogProvider {
    public init() {}

    public func logs(
        namespace: String, pod: String, container: String, tailLines: Int?, follow: Bool
    ) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        throw BerthError(
            .unavailable, "logs of \(namespace)/\(pod) are not available: no container runtime is attached to this berth")
    }
}
