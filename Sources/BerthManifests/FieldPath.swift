/// A path to a field inside an object, rendered the way the Kubernetes API
/// server renders field paths in its errors (`spec.template.spec.containers[0].image`),
/// so that people who know `kubectl` recognise them at once.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]

    public init(_ components: [Component] = []) {
        self.components = components
    }

    public static let root = FieldPath()

    public func appending(_ key: String) -> FieldPath {
        FieldPath(components + [.key(key)])
    }

    public func appending(index: Int) -> FieldPath {
        FieldPath(components + [.index(index)])
    }

    public static func + (lhs: FieldPath, rhs: String) -> FieldPath { lhs.appending(rhs) }
    public static func + (lhs: FieldPath, rhs: Int) -> FieldPath { lhs.appending(index: rhs) }

    /// Keys that are not plain identifiers (label keys such as
    /// `app.kubernetes.io/name`) are written in brackets, as in `metadata.labels[app.kubernetes.io/name]`.
    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .index(let index):
                text += "[\(index)]"
            case .key(let key):
                if key.utf8.allSatisfy({ Self.isIdentifierByte($0) }), !key.isEmpty {
                    if !text.isEmpty { text += "." }
                    text += key
                } else {
                    text += "[\(key)]"
                }
            }
        }
        return text
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F
    }
}
