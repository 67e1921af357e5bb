import BerthAPI
import Foundation

extension LabelSelector {
    /// Parses Kubernetes' string form of a selector, as in
    /// `?labelSelector=` and `kubectl -l`: `app=web,tier!=db,env in (a,b),
    /// env notin (c),release,!canary`. `==` is `=`.
    public init(parsing text: String) throws {
        var matchLabels: [String: String] = [:]
        var expressions: [Requirement] = []
        for term in Self.splitTerms(text) {
            let term = term.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            if let range = term.range(of: " notin ") ?? term.range(of: " in ") {
                let key = String(term[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
                let op = term[range].trimmingCharacters(in: .whitespaces) == "in" ? "In" : "NotIn"
                var rest = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("("), rest.hasSuffix(")") else {
                    throw BerthError(.invalidArgument, "invalid label selector term \"\(term)\"", hint: "write `key in (a,b)`")
                }
                rest = String(rest.dropFirst().dropLast())
                let values = rest.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                expressions.append(Requirement(key: key, operator: op, values: values))
            } else if let range = term.range(of: "!=") {
                expressions.append(Requirement(
                    key: String(term[..<range.lowerBound]).trimmingCharacters(in: .whitespaces), operator: "NotIn",
                    values: [String(term[range.upperBound...]).trimmingCharacters(in: .whitespaces)]))
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                let key = String(term[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
                matchLabels[key] = String(term[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            } else if term.hasPrefix("!") {
                expressions.append(Requirement(key: String(term.dropFirst()).trimmingCharacters(in: .whitespaces), operator: "DoesNotExist"))
            } else {
                expressions.append(Requirement(key: term, operator: "Exists"))
            }
        }
        self.init(
            matchLabels: matchLabels.isEmpty ? nil : matchLabels,
            matchExpressions: expressions.isEmpty ? nil : expressions)
    }

    /// Splits on commas outside parentheses.
    private static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1; current.append(character)
            case ")": depth -= 1; current.append(character)
            case "," where depth == 0: terms.append(current); current = ""
            default: current.append(character)
            }
        }
        terms.append(current)
        return terms
    }
}
