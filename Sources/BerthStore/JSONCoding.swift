import BerthAPI
import Foundation

/// JSON text <-> trees for the database columns.
enum JSONCoding {
    static func encode(_ value: JSONValue) -> String {
        String(decoding: value.canonicalJSON(), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
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
