/// Where something came from in a manifest file: the place a user must look
/// to fix an error or a warning.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int = 1) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// The one error type of Berth.
///
/// Every error a user can see says what was wrong (`message`), where
/// (`location`, for manifests; `object`, for cluster objects) and, when there
/// is one, what to do (`hint`). `code` is stable and machine-readable so that
/// the API and tests can match on it without parsing prose.
public struct BerthError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable, CaseIterable {
        case invalidManifest
        case unsupportedKind
        case duplicateObject
        case invalidArgument
        case notFound
        case alreadyExists
        case conflict
        case gitUnreachable
        case gitAuthFailed
        case gitUnknownRef
        case gitNotARepository
        case git
        case imageNotFound
        case imageCorrupt
        case unsafeArchive
        case registry
        case runtime
        case store
        case storeCorrupt
        case storeTooNew
        case unauthorized
        case forbidden
        case timeout
        case unavailable
        case `internal`
    }

    public var code: Code
    public var message: String
    public var hint: String?
    public var location: SourceLocation?
    /// `kind/namespace/name` of the object the error is about, if any.
    public var object: String?
    /// The underlying error, rendered as text. Kept as a string so that the
    /// error stays `Sendable` and can cross the API as JSON.
    public var cause: String?

    public init(
        _ code: Code,
        _ message: String,
        hint: String? = nil,
        location: SourceLocation? = nil,
        object: String? = nil,
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.hint = hint
        self.location = location
        self.object = object
        self.cause = cause.map { String(describing: $0) }
    }

    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        if let object { text += "\(object): " }
        text += message
        if let cause { text += ": \(cause)" }
        if let hint { text += " (\(hint))" }
        return text
    }
}

extension BerthError: Codable {}
