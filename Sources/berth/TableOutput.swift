import BerthAPI
import Foundation

/// kubectl's plain tables: upper-case headers, columns padded to the widest
/// cell, three spaces apart.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

/// kubectl's human durations: 45s, 3m12s, 17m, 5h3m, 2d3h, 40d.
enum Age {
    static func since(_ timestamp: String?, now: Date = Date()) -> String {
        guard let timestamp, let date = parse(timestamp) else { return "<unknown>" }
        return format(max(0, Int(now.timeIntervalSince(date))))
    }

    static func parse(_ text: String) -> Date? {
        try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }

    static func format(_ seconds: Int) -> String {
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        let days = hours / 24
        if days < 8 { return hours % 24 == 0 ? "\(days)d" : "\(days)d\(hours % 24)h" }
        return "\(days)d"
    }
}

extension JSONValue {
    /// Follows a path of object keys.
    func at(_ path: String...) -> JSONValue? {
        var current: JSONValue? = self
        for key in path { current = current?[key] }
        return current
    }

    var displayString: String {
        switch self {
        case .null: return "<none>"
        case .bool(let value): return String(value)
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .string(let value): return value
        case .array, .object: return String(decoding: canonicalJSON(), as: UTF8.self)
        }
    }
}
