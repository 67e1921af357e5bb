import Foundation

/// Hands "reconcile this pod again" from the kubelet's own tasks (probe
/// workers, terminations, pulls) to whoever runs its work queue. An actor
/// of its own so that the probe manager can hold it before the kubelet
/// exists.
actor KubeletNotifier {
    private var handler: (@Sendable (ObjectName, TimeInterval) async -> Void)?

    func set(_ handler: @escaping @Sendable (ObjectName, TimeInterval) async -> Void) {
        self.handler = handler
    }

    func notify(_ key: ObjectName, after delay: TimeInterval = 0) async {
        await handler?(key, delay)
    }
}
