import BerthRuntime
import Foundation

/// BERTH_TIMING=1: the orchestrator's steps (scale-ups, pod creations,
/// bindings, kubelet passes, probe flips, status writes) on stderr, on the
/// same monotonic millisecond clock as the runtime's phase timings, so that
/// one log shows the whole critical path of a rollout (bench/rollout).
enum Trace {
    static let enabled = ProcessInfo.processInfo.environment["BERTH_TIMING"] == "1"

    static func mark(_ message: @autoclosure () -> String) {
        guard enabled else { return }
        LinuxTiming.mark(message())
    }
}
