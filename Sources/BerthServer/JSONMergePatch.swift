import BerthAPI

/// RFC 7386 JSON merge patch, what `kubectl patch --type merge` and
/// `application/merge-patch+json` send: objects merge recursively, `null`
/// deletes, anything else replaces.
enum JSONMergePatch {
    static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let patchFields) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in patchFields {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}
