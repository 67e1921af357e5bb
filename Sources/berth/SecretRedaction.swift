import BerthAPI
import Foundation

/// Secret values never reach the terminal: every value under `data` and
/// `stringData` of a Secret becomes `(N bytes)`. Applied to everything the
/// CLI prints, lists included.
enum SecretRedaction {
    static func redact(_ tree: JSONValue) -> JSONValue {
        if tree["kind"]?.stringValue?.hasSuffix("List") == true, let items = tree["items"]?.arrayValue {
            var copy = tree
            copy["items"] = .array(items.map(redact))
            return copy
        }
        guard tree["kind"]?.stringValue == "Secret" else { return tree }
        var copy = tree
        for field in ["data", "stringData"] {
            guard let values = tree[field]?.objectValue else { continue }
            copy[field] = .object(values.mapValues { .string("(\(byteCount($0, base64: field == "data")) bytes)") })
        }
        // kubectl's last-applied annotation would repeat the values.
        if var annotations = copy["metadata"]?["annotations"]?.objectValue,
            annotations["kubectl.kubernetes.io/last-applied-configuration"] != nil
        {
            annotations["kubectl.kubernetes.io/last-applied-configuration"] = "(redacted)"
            copy["metadata"]?["annotations"] = .object(annotations)
        }
        return copy
    }

    static func byteCount(_ value: JSONValue, base64: Bool) -> Int {
        let text = value.stringValue ?? ""
        if base64, let data = Data(base64Encoded: text) { return data.count }
        return text.utf8.count
    }
}
