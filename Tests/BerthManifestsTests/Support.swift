import BerthAPI
import BerthManifests
import Foundation

/// The fixture corpus beside this file.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func directory(_ name: String) -> String { root.appendingPathComponent(name).path }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }
}

/// Loads one in-memory file.
func load(_ yaml: String, path: String = "test.yaml", options: LoadOptions = LoadOptions()) -> LoadResult {
    ManifestLoader.load(files: [ManifestFile(path: path, data: Data(yaml.utf8))], options: options)
}

/// `file:line:col: object: message`, as `berth render` prints it.
func line(_ error: BerthError) -> String {
    var text = ""
    if let location = error.location { text += "\(location): " }
    if let object = error.object { text += "\(object): " }
    return text + error.message
}

extension JSONValue {
    /// Follows a dotted path with `[n]` indexes: `spec.template.spec.containers[0].image`.
    func at(_ path: String) -> JSONValue? {
        var value: JSONValue? = self
        for part in path.split(separator: ".") {
            var name = Substring(part)
            var indexes: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]") {
                indexes.insert(Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) ?? -1, at: 0)
                name = name[..<open]
            }
            if !name.isEmpty { value = value?[String(name)] }
            for index in indexes {
                guard let items = value?.arrayValue, index >= 0, index < items.count else { return nil }
                value = items[index]
            }
        }
        return value
    }
}
