import Foundation

/// Phase timings of container start/stop, printed to stderr when
/// BERTH_TIMING=1: the "where does the time go" of bench/container-start.
public enum LinuxTiming {
    nonisolated(unsafe) static var started = false

    /// The process' own start (exec), from /proc/self/stat field 22, so that
    /// runtime and library loading before main show up too.
    static func markProcessStart() {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return }
        var boot = timespec(), mono = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let startMono = (Double(mono.tv_sec) + Double(mono.tv_nsec) / 1e9) - ((Double(boot.tv_sec) + Double(boot.tv_nsec) / 1e9) - ticks / hz)
        FileHandle.standardError.write(Data(String(format: "[timing] %.3f process exec (10 ms resolution)\n", startMono * 1000).utf8))
    }

    static let enabled = ProcessInfo.processInfo.environment["BERTH_TIMING"] == "1"

    public static func mark(_ phase: String) {
        guard enabled else { return }
        if !started { started = true; markProcessStart() }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let ms = Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1_000_000
        FileHandle.standardError.write(Data(String(format: "[timing] %.3f %@\n", ms, phase).utf8))
    }
}
