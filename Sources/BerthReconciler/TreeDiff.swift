import BerthAPI
import BerthManifests

/// Field-level differences between two normalized trees, with paths in the
/// API server's notation (`spec.template.spec.containers[0].image`).
enum TreeDiff {
    static func changes(from old: JSONValue, to new: JSONValue, redactSecretData: Bool) -> [FieldChange] {
        var changes: [FieldChange] = []
        diff(old, new, path: FieldPath(), redact: redactSecretData, into: &changes)
        return changes
    }

    private static func diff(_ old: JSONValue?, _ new: JSONValue?, path: FieldPath, redact: Bool, into changes: inout [FieldChange]) {
        if old == new { return }
        switch (old, new) {
        case (.object(let a)?, .object(let b)?):
            for key in Set(a.keys).union(b.keys).sorted() {
                diff(a[key], b[key], path: path.appending(key), redact: redact, into: &changes)
            }
        case (.array(let a)?, .array(let b)?) where a.count == b.count:
            for index in a.indices {
                diff(a[index], b[index], path: path.appending(index: index), redact: redact, into: &changes)
            }
        default:
            let secret = redact && isSecretData(path)
            changes.append(FieldChange(path: path.description,
                                       old: old.map { render($0, secret: secret) },
                                       new: new.map { render($0, secret: secret) }))
        }
    }

    /// Secret `data` and `stringData`, at any depth below them.
    private static func isSecretData(_ path: FieldPath) -> Bool {
        guard case .key(let first)? = path.components.first else { return false }
        return first == "data" || first == "stringData"
    }

    static func render(_ value: JSONValue, secret: Bool) -> String {
        guard secret else { return CanonicalJSON.string(value) }
        if case .string(let text) = redacted(value) { return text }
        return CanonicalJSON.string(redacted(value))
    }

    /// Replaces every string with `(redacted, N bytes)`, N the decoded size
    /// for base64 data: enough to see that something changed, nothing more.
    static func redacted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            let size = decodedSize(text)
            return .string("(redacted, \(size) bytes)")
        case .object(let fields):
            return .object(fields.mapValues(redacted))
        case .array(let items):
            return .array(items.map(redacted))
        default:
            return .string("(redacted)")
        }
    }

    private static func decodedSize(_ base64: String) -> Int {
        let count = base64.utf8.filter { $0 != 0x0A && $0 != 0x0D }.count
        let padding = base64.utf8.reversed().prefix(2).filter { $0 == UInt8(ascii: "=") }.count
        return max(0, count / 4 * 3 - padding)
    }
}
