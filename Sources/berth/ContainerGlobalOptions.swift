import ArgumentParser
import BerthAPI
import BerthRuntime
import Foundation

/// `--data-dir`, shared by the container commands (run, ps, logs, stop, kill, rm, exec, inspect).
struct ContainerGlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Where Berth keeps containers and images (env BERTH_DATA_DIR).")
    var dataDir: String = ProcessInfo.processInfo.environment["BERTH_DATA_DIR"] ?? "/var/lib/berth"

    func manager() throws -> ContainerManager {
        try ContainerManager(dataDir: dataDir, images: ContainerCLI.imageResolver(dataDir: dataDir))
    }
}

enum ContainerCLI {
    /// The image store under the same data dir (`berth image import` fills it).
    static func imageResolver(dataDir: String) -> (any ImageResolver)? { try? ImageStore(dataDir: dataDir) }

    /// Docker's sizes: 128m, 1g, 512k, plain bytes; also Kubernetes' 128Mi.
    static func parseBytes(_ text: String) throws -> Int64 {
        let lower = text.lowercased().replacingOccurrences(of: "i", with: "").replacingOccurrences(of: "b", with: "")
        let units: [Character: Int64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]
        if let last = lower.last, let unit = units[last], let n = Double(lower.dropLast()) {
            return Int64(n * Double(unit))
        }
        if let n = Int64(lower) { return n }
        throw ValidationError("cannot read size \(text): use e.g. 128m or 1g")
    }

    static func age(_ rfc3339: String?) -> String {
        guard let rfc3339, let date = ISO8601DateFormatter.withFractions.date(from: rfc3339) else { return "" }
        let s = Int(Date().timeIntervalSince(date))
        if s < 60 { return "\(s) seconds" }
        if s < 3600 { return "\(s / 60) minutes" }
        if s < 86400 { return "\(s / 3600) hours" }
        return "\(s / 86400) days"
    }

    static func status(_ r: ContainerRecord) -> String {
        switch r.phase {
        case .created: return "Created"
        case .running: return "Up \(age(r.startedAt))"
        case .stopped:
            if let error = r.error, r.startedAt == nil || r.exitCode == 127 { return "Failed (\(error))" }
            return "Exited (\(r.exitCode ?? -1))\(r.oomKilled ? " OOMKilled" : "") \(age(r.finishedAt)) ago"
        }
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
