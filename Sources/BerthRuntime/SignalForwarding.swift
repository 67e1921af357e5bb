import CBerthLinux
import Glibc

/// `berth run` in the foreground passes signals on, as `docker run` does:
/// Ctrl-C and SIGTERM to the container's init (which forwards them to the
/// process), a terminal resize to the container's monitor. A C handler on a
/// pidfd (forward_signals.c), not a Dispatch signal source: that one needs
/// libdispatch's manager thread, and `berth run` otherwise runs on one
/// thread (CurrentThreadExecutor).
public enum SignalForwarding {
    /// From now on `signal` goes to `pid`. False if the process is gone.
    @discardableResult
    public static func forward(_ signal: Int32, to pid: pid_t) -> Bool {
        pid > 0 && berth_forward_signal(signal, pid) == 0
    }

    /// `signal` has its default effect on this process again.
    public static func reset(_ signal: Int32) {
        _ = berth_forward_signal(signal, 0)
    }
}
