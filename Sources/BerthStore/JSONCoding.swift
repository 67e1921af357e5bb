import BerthAPI
import Foundation

/// JSON text <-> trees for the database columns (``JSONText``, with the
/// store's error: text that is not JSON in the database means damage).
enum JSONCoding {
    static func encode(_ value: JSONValue) -> String {
        JSONText.encode(value)
    }

    static func decode(_ text: String) throws -> JSONValue {
        do {
            return try JSONText.decode(text)
        } catch let error as JSONText.SyntaxError {
            throw BerthError(.storeCorrupt, "stored JSON is invalid at byte \(error.offset): \(error.reason)",
                             hint: "the database may be damaged; restore a backup")
        }
    }
}

/// Kubernetes' timestamps: RFC 3339 in UTC, whole seconds.
enum Timestamp {
    static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt))
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
