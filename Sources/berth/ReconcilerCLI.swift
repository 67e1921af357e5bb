import BerthAPI
import BerthReconciler
import Foundation

/// Shared bits of the reconciler commands (sync, history, rollback, status, drift).
enum ReconcilerCLI {
    /// Decodes an API reply into a reconciler type (ISO 8601 dates).
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(value.canonicalJSON()))
    }

    static func printJSON(_ value: JSONValue) {
        FileHandle.standardOutput.write(Data((PrettyJSON.text(value) + "\n").utf8))
    }

    static func short(_ sha: String?) -> String {
        sha.map { String($0.prefix(12)) } ?? "-"
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeSeparator(.colon).dateSeparator(.dash))
    }

    static func seconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value < 10 ? String(format: "%.2fs", value) : String(format: "%.0fs", value)
    }

    /// Colors only on a terminal and without NO_COLOR.
    static var useColor: Bool {
        isatty(STDOUT_FILENO) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

enum PrettyJSON {
    static func text(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
