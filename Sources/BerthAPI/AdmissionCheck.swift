import BerthAPI

/// A check the API runs on every create, update and patch (not on status
/// writes) before the object reaches the store — Kubernetes' validating
/// admission. Modules that own a kind's invariants which depend on other
/// objects or node state (a NodePort held by another Service) plug one in,
/// so that `berth apply` fails with the reason instead of storing an object
/// that a controller can only complain about later.
public protocol AdmissionCheck: Sendable {
    /// Throws a `BerthError` to refuse `object`, the full tree about to be
    /// written (apiVersion, kind, metadata.namespace already filled in).
    func admit(_ object: JSONValue, kind: ResourceKind) async throws
}
