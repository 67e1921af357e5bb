import BerthAPI
import Foundation
import Yams

typealias YAMLNode = Yams.Node

/// Reads the YAML (or JSON) documents of one file into `JSONValue` trees and
/// answers "where in the file is this field?" for errors and warnings.
///
/// Yams' `YAMLNode` keeps a `Mark` (line:column) for every node; we keep the
/// document's root node beside the tree and walk it only when a message
/// needs a location, which is rare, instead of building a second located
/// tree for every file.
struct YAMLDocumentReader {
    /// One non-empty document of a file.
    struct Document {
        var root: YAMLNode
        var value: JSONValue
        var index: Int
    }

    enum ReadError: Error {
        case yaml(message: String, line: Int, column: Int)
    }

    /// Parses every document of `data`. Empty documents (only comments, or
    /// nothing between two `---`) are skipped, as `kubectl apply` does.
    static func documents(in data: Data) throws(ReadError) -> [Document] {
        let text = String(decoding: data, as: UTF8.self)
        var documents: [Document] = []
        do {
            // The basic resolver has no rules: plain scalars are resolved by
            // `ScalarResolver`, which is much cheaper than Yams' regular expressions.
            let parser = try Parser(yaml: text, resolver: .basic, constructor: .default, encoding: .utf8)
            var index = 0
            while let root = try parser.nextRoot() {
                defer { index += 1 }
                var budget = nodeBudget
                let value = try convert(root, budget: &budget)
                if value == .null { continue }
                documents.append(Document(root: root, value: value, index: index))
            }
        } catch let error as YamlError {
            throw describe(error)
        } catch let error as ReadError {
            throw error
        } catch {
            throw .yaml(message: "invalid YAML: \(error)", line: 1, column: 1)
        }
        return documents
    }

    // MARK: - YAMLNode to JSONValue

    private static let mergeKey = "<<"

    /// The most nodes one document may expand to. Aliases share nodes, so a
    /// few lines of anchors can stand for billions of nodes (the "billion
    /// laughs" attack); go-yaml limits this too.
    static let nodeBudget = 1_000_000

    static func convert(_ node: YAMLNode, budget: inout Int) throws(ReadError) -> JSONValue {
        budget -= 1
        if budget < 0 {
            let mark = node.mark
            throw .yaml(message: "invalid YAML: the document expands to more than \(nodeBudget) nodes (aliases nested too deeply)",
                        line: mark?.line ?? 1, column: mark?.column ?? 1)
        }
        switch node {
        case .scalar(let scalar):
            return try scalarValue(scalar)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            items.reserveCapacity(sequence.count)
            for item in sequence {
                items.append(try convert(item, budget: &budget))
            }
            return .array(items)
        case .mapping(let mapping):
            var fields: [String: JSONValue] = [:]
            fields.reserveCapacity(mapping.count)
            var merged: [[String: JSONValue]] = []
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    let mark = keyNode.mark
                    throw .yaml(message: "invalid YAML: a mapping key must be a scalar",
                                line: mark?.line ?? 1, column: mark?.column ?? 1)
                }
                if keyScalar.string == mergeKey, keyScalar.style == .plain {
                    // YAML 1.1 merge keys, which go-yaml (and so kubectl) supports.
                    switch try convert(valueNode, budget: &budget) {
                    case .object(let fields): merged.append(fields)
                    case .array(let items): merged += items.compactMap(\.objectValue)
                    default: break
                    }
                    continue
                }
                fields[keyScalar.string] = try convert(valueNode, budget: &budget)
            }
            for source in merged {
                for (key, value) in source where fields[key] == nil {
                    fields[key] = value
                }
            }
            return .object(fields)
        case .alias:
            // Yams resolves aliases while composing; kept for completeness.
            return .null
        }
    }

    private static func scalarValue(_ scalar: YAMLNode.Scalar) throws(ReadError) -> JSONValue {
        let tag = scalar.tag.description
        if tag.isEmpty {
            // Implicit tag: plain scalars are resolved, all others are strings.
            guard scalar.style == .plain else { return .string(scalar.string) }
            return resolved(scalar.string)
        }
        switch tag {
        case Tag.Name.str.rawValue, "!":
            return .string(scalar.string)
        case Tag.Name.int.rawValue, Tag.Name.float.rawValue, Tag.Name.bool.rawValue, Tag.Name.null.rawValue:
            let value = resolved(scalar.string)
            let matches: Bool
            switch (tag, value) {
            case (Tag.Name.int.rawValue, .int), (Tag.Name.float.rawValue, .double), (Tag.Name.float.rawValue, .int),
                 (Tag.Name.bool.rawValue, .bool), (Tag.Name.null.rawValue, .null):
                matches = true
            default:
                matches = false
            }
            guard matches else {
                throw .yaml(message: "invalid YAML: cannot decode \"\(scalar.string)\" as \(tag)",
                            line: scalar.mark?.line ?? 1, column: scalar.mark?.column ?? 1)
            }
            if tag == Tag.Name.float.rawValue, case .int(let int) = value { return .double(Double(int)) }
            return value
        default:
            // Application tags (`!Ref` …) mean nothing to Kubernetes: keep the text.
            return .string(scalar.string)
        }
    }

    private static func resolved(_ text: String) -> JSONValue {
        switch ScalarResolver.resolve(text) {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        case .string: return .string(text)
        }
    }

    private static func describe(_ error: YamlError) -> ReadError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return .yaml(message: message, line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return .yaml(message: "invalid YAML: mapping key \(keys) is defined more than once",
                         line: context.mark.line, column: context.mark.column)
        case .reader(let problem, _, _, _):
            return .yaml(message: "invalid YAML: \(problem)", line: 1, column: 1)
        default:
            return .yaml(message: "invalid YAML: \(error)", line: 1, column: 1)
        }
    }

    // MARK: - Locations

    /// The mark of the node at `path` below `root`; when the path goes
    /// further than the document (a missing field), the mark of the deepest
    /// node that exists. With `key`, the mark of the mapping key rather than
    /// of its value, which is where an unknown field is best shown.
    static func mark(in root: YAMLNode, at path: FieldPath, key: Bool = false) -> Mark? {
        var node = root
        var keyMark: Mark?
        for (position, component) in path.components.enumerated() {
            keyMark = nil
            switch component {
            case .index(let index):
                guard case .sequence(let sequence) = node, index >= 0, index < sequence.count else {
                    return node.mark
                }
                node = sequence[index]
            case .key(let name):
                guard let (keyNode, valueNode) = lookup(name, in: node) else { return node.mark }
                node = valueNode
                keyMark = keyNode.mark
            }
            if position == path.components.count - 1, let keyMark {
                // A key for unknown fields; also for collections, whose own
                // mark is their first entry, one line below the field.
                if key { return keyMark }
                if case .scalar = node {} else { return keyMark }
            }
        }
        return node.mark
    }

    private static func lookup(_ name: String, in node: YAMLNode) -> (YAMLNode, YAMLNode)? {
        guard case .mapping(let mapping) = node else { return nil }
        var merges: [YAMLNode] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else { continue }
            if scalar.string == name { return (keyNode, valueNode) }
            if scalar.string == mergeKey {
                if case .sequence(let sequence) = valueNode { merges += Array(sequence) } else { merges.append(valueNode) }
            }
        }
        for merge in merges {
            if let found = lookup(name, in: merge) { return found }
        }
        return nil
    }
}
