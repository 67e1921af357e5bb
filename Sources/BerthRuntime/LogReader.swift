import BerthAPI
import Foundation

/// Reads the CRI log format the shim writes
/// (`2025-01-01T00:00:00.000000000Z stdout F text`), joining partial (`P`)
/// records into whole lines.
public enum CRILog {
    public static func read(paths: [String], tail: Int? = nil) -> [LogLine] {
        var lines: [LogLine] = []
        var partial: [String: String] = [:]
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            for raw in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
                guard let record = parse(raw) else { continue }
                if record.tag == "P" {
                    partial[record.stream, default: ""] += record.text
                    continue
                }
                let text = (partial.removeValue(forKey: record.stream) ?? "") + record.text
                lines.append(LogLine(time: record.time, stream: record.stream, text: text))
            }
        }
        if let tail, tail >= 0, lines.count > tail { return Array(lines.suffix(tail)) }
        return lines
    }

    static func parse(_ raw: Substring) -> (time: String, stream: String, tag: String, text: String)? {
        let parts = raw.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        return (String(parts[0]), String(parts[1]), String(parts[2]), parts.count > 3 ? String(parts[3]) : "")
    }
}
