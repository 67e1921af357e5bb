/// Labels Berth puts on sandboxes and containers so that a restarted
/// orchestrator can match live containers back to their pods.
public enum RuntimeLabels {
    public static let podUID = "berth.dev/pod-uid"
    public static let podName = "berth.dev/pod-name"
    public static let podNamespace = "berth.dev/pod-namespace"
    public static let containerName = "berth.dev/container-name"
    public static let containerAttempt = "berth.dev/container-attempt"
    /// "init" or "app".
    public static let containerType = "berth.dev/container-type"
}
