import Foundation

/// Phase timings of container start/stop, printed to stderr when
/// BERTH_TIMING=1: the "where does the time go" of bench/container-start.
enum LinuxTiming {
    static let enabled = ProcessInfo.processInfo.environment["BERTH_TIMING"] == "1"

    static func mark(_ phase: String) {
        guard enabled else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let ms = Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1_000_000
        FileHandle.standardError.write(Data(String(format: "[timing] %.3f %@\n", ms, phase).utf8))
    }
}
