import BerthAPI
import Foundation
import Yams

/// YAML <-> JSONValue for the CLI. Until BerthManifests' validating loader
/// is wired in, `apply` parses with this: every document of a multi-document
/// file becomes one tree, scalars typed by YAML's core schema (timestamps
/// stay strings, as Kubernetes wants).
enum YAMLConversion {
    /// Every non-empty document in `text`; `kind: List` documents are
    /// expanded into their items.
    static func documents(_ text: String, file: String) throws -> [JSONValue] {
        var result: [JSONValue] = []
        do {
            for node in try Yams.compose_all(yaml: text) {
                let tree = try value(node, file: file)
                if tree == .null { continue }
                if tree["kind"]?.stringValue == "List", let items = tree["items"]?.arrayValue {
                    result += items
                } else {
                    result.append(tree)
                }
            }
        } catch let error as BerthError {
            throw error
        } catch let error as YamlError {
            throw BerthError(.invalidManifest, "\(file): invalid YAML: \(error)", hint: "fix the syntax at the line shown")
        }
        return result
    }

    static func value(_ node: Yams.Node, file: String) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            // The resolved tag, e.g. tag:yaml.org,2002:int; quoted scalars resolve to str.
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case Tag.Name.int.rawValue: return node.int.map(JSONValue.int) ?? .string(scalar.string)
            case Tag.Name.float.rawValue: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .array(try sequence.map { try value($0, file: file) })
        case .mapping(let mapping):
            var fields: [String: JSONValue] = [:]
            for (key, item) in mapping {
                guard let name = key.string else {
                    throw BerthError(
                        .invalidManifest, "\(file):\(key.mark?.line ?? 0): mapping keys must be strings")
                }
                fields[name] = try value(item, file: file)
            }
            return .object(fields)
        case .alias:
            throw BerthError(.invalidManifest, "\(file):\(node.mark?.line ?? 0): YAML aliases are not supported")
        }
    }

    /// A tree as YAML, keys sorted.
    static func yaml(_ value: JSONValue) -> String {
        (try? Yams.dump(object: any(value), sortKeys: true)) ?? ""
    }

    private static func any(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let bool): return bool
        case .int(let int): return int
        case .double(let double): return double
        case .string(let string): return string
        case .array(let array): return array.map(any)
        case .object(let object): return object.mapValues(any)
        }
    }

    /// Pretty JSON, keys sorted.
    static func json(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
