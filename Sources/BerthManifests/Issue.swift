/// A problem found in one object, before it is given a file location.
struct Issue: Sendable {
    enum Severity: Sendable { case error, warning }

    var severity: Severity
    var path: FieldPath
    var message: String
    var hint: String?
    /// Point at the field's key (unknown fields) rather than at its value.
    var atKey: Bool
    /// Whether `text` starts with the path (false when the message names it).
    var showsPath = true

    static func error(_ path: FieldPath, _ message: String, hint: String? = nil, atKey: Bool = false) -> Issue {
        Issue(severity: .error, path: path, message: message, hint: hint, atKey: atKey)
    }

    static func warning(_ path: FieldPath, _ message: String, hint: String? = nil, atKey: Bool = true) -> Issue {
        Issue(severity: .warning, path: path, message: message, hint: hint, atKey: atKey, showsPath: false)
    }

    /// `spec.replicas: Invalid value …`, or the bare message at the root.
    var text: String {
        path.components.isEmpty || !showsPath ? message : "\(path): \(message)"
    }
}
