import Glibc

/// Phase timings of container start/stop, printed to stderr when
/// BERTH_TIMING=1: the "where does the time go" of bench/container-start.
public enum LinuxTiming {
    nonisolated(unsafe) static var started = false

    /// The process' own start. With BERTH_TIMING_T0 (the caller's clock just
    /// before exec, seconds since the epoch as bash's $EPOCHREALTIME gives
    /// it) the mark is exact; otherwise it is the kernel's start time from
    /// /proc/self/stat field 22, in 10 ms ticks. So that library loading and
    /// the Swift runtime's start before main show up too.
    static func markProcessStart() {
        if let t0 = getenv("BERTH_TIMING_T0").flatMap({ Double(String(cString: $0)) }) {
            write(ms: t0 * 1000, "process exec (BERTH_TIMING_T0)")
            return
        }
        guard let stat = LinuxFiles.readText("/proc/self/stat"),
              let close = stat.lastIndex(of: ")") else { return }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return }
        var boot = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let sinceStart = (Double(boot.tv_sec) + Double(boot.tv_nsec) / 1e9) - ticks / hz
        write(ms: now() - sinceStart * 1000, "process exec (10 ms resolution)")
    }

    /// Milliseconds since the epoch (CLOCK_REALTIME, to line up with BERTH_TIMING_T0).
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1_000_000
    }

    /// One line to stderr by write(2): String(format:) and FileHandle would
    /// add their own first-use cost to the phase being measured.
    static func write(ms: Double, _ phase: String) {
        let micros = Int64((ms * 1000).rounded())
        let fraction = String(micros % 1000)
        let line = "[timing] \(micros / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) \(phase)\n"
        _ = line.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
    }

    /// getenv, not ProcessInfo, whose first use copies the whole environment.
    static let enabled = getenv("BERTH_TIMING").map { String(cString: $0) } == "1"

    public static func mark(_ phase: String) {
        guard enabled else { return }
        if !started { started = true; markProcessStart() }
        write(ms: now(), phase)
    }
}
