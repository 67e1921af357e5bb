import Foundation
import BerthAPI

/// A semver range over tags, in the syntax Flux (Masterminds/semver) accepts.
///
/// `>=1.2.0 <2.0.0` (space or comma means AND), `a || b` (OR), `1.x` / `1.2.*`
/// wildcards, `~1.2` (patch updates), `^1.2.0` (no breaking changes), hyphen
/// ranges `1.2 - 1.4`, and a leading `v` anywhere. Pre-releases are excluded
/// unless the range itself names one (then any pre-release that satisfies it
/// matches, as Masterminds does), so that `^1.2` never moves to `2.0.0-rc.1`.
public struct SemverRange: Sendable, Hashable, CustomStringConvertible {
    struct Comparator: Sendable, Hashable {
        enum Op: String, Sendable, Hashable { case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "=", ne = "!=" }
        var op: Op
        var version: SemanticVersion

        func matches(_ v: SemanticVersion) -> Bool {
            switch op {
            case .lt: v < version
            case .le: v <= version
            case .gt: v > version
            case .ge: v >= version
            case .eq: v == version
            case .ne: v != version
            }
        }
    }

    struct ComparatorSet: Sendable, Hashable {
        var comparators: [Comparator]
        var allowsPrerelease: Bool
    }

    /// The range as written.
    public let text: String
    let alternatives: [ComparatorSet]

    public init(_ text: String) throws(BerthError) {
        self.text = text
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw Self.invalid(text, "the range is empty") }
        var sets: [ComparatorSet] = []
        for part in trimmed.components(separatedBy: "||") {
            sets.append(try Self.parseSet(part, whole: text))
        }
        alternatives = sets
    }

    public var description: String { text }

    /// Whether `version` is inside the range.
    public func contains(_ version: SemanticVersion) -> Bool {
        alternatives.contains { set in
            if version.isPrerelease && !set.allowsPrerelease { return false }
            return set.comparators.allSatisfy { $0.matches(version) }
        }
    }

    /// The highest of `versions` inside the range.
    public func highest<S: Sequence>(in versions: S) -> SemanticVersion? where S.Element == SemanticVersion {
        versions.filter(contains).max()
    }

    // MARK: - Parsing

    private static let operators = ["~>", ">=", "<=", "!=", "==", "=", ">", "<", "~", "^"]

    private static func parseSet(_ part: String, whole: String) throws(BerthError) -> ComparatorSet {
        var tokens = part.replacingCommas.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        // Join a lone operator with the version after it (`>= 1.2`).
        var joined: [String] = []
        var index = 0
        while index < tokens.count {
            if operators.contains(tokens[index]), index + 1 < tokens.count {
                joined.append(tokens[index] + tokens[index + 1])
                index += 2
            } else {
                joined.append(tokens[index])
                index += 1
            }
        }
        tokens = joined
        if tokens.isEmpty { throw invalid(whole, "an alternative of '||' is empty") }

        var comparators: [Comparator] = []
        var allowsPrerelease = false
        index = 0
        while index < tokens.count {
            if index + 2 < tokens.count, tokens[index + 1] == "-" {
                guard let low = PartialVersion(tokens[index]), let high = PartialVersion(tokens[index + 2]) else {
                    throw invalid(whole, "'\(tokens[index]) - \(tokens[index + 2])' is not a hyphen range of versions")
                }
                allowsPrerelease = allowsPrerelease || !low.prerelease.isEmpty || !high.prerelease.isEmpty
                comparators.append(Comparator(op: .ge, version: low.floor))
                if high.isComplete {
                    comparators.append(Comparator(op: .le, version: high.floor))
                } else if high.major != nil {
                    comparators.append(Comparator(op: .lt, version: next(after: high)))
                }
                index += 3
                continue
            }
            let token = tokens[index]
            let op = operators.first { token.hasPrefix($0) } ?? ""
            let versionText = String(token.dropFirst(op.count))
            guard let version = PartialVersion(versionText) else {
                throw invalid(whole, "'\(token)' is not a version or comparison")
            }
            allowsPrerelease = allowsPrerelease || !version.prerelease.isEmpty
            comparators += try desugar(op: op, version, whole: whole)
            index += 1
        }
        return ComparatorSet(comparators: comparators, allowsPrerelease: allowsPrerelease)
    }

    /// The first version past everything `p` covers (`1.2` → `1.3.0`, `1` → `2.0.0`).
    private static func next(after p: PartialVersion) -> SemanticVersion {
        let major = p.major ?? 0
        guard let minor = p.minor else { return SemanticVersion(major + 1, 0, 0) }
        guard let patch = p.patch else { return SemanticVersion(major, minor + 1, 0) }
        return SemanticVersion(major, minor, patch + 1)
    }

    private static func desugar(op: String, _ p: PartialVersion, whole: String) throws(BerthError) -> [Comparator] {
        let floor = p.floor
        guard let major = p.major else {
            // `*`, `x`, `>=*`, `<=*`, `~*`, `^*`: everything. `<*`, `>*`, `!=*`: nothing sensible.
            if ["", "=", "==", ">=", "<=", "~", "~>", "^"].contains(op) { return [] }
            throw invalid(whole, "'\(op)\(p.major.map(String.init) ?? "*")' matches nothing")
        }
        switch op {
        case "", "=", "==":
            return p.isComplete
                ? [Comparator(op: .eq, version: floor)]
                : [Comparator(op: .ge, version: floor), Comparator(op: .lt, version: next(after: p))]
        case "!=":
            guard p.isComplete else { throw invalid(whole, "'!=' needs a complete version") }
            return [Comparator(op: .ne, version: floor)]
        case ">":
            return p.isComplete ? [Comparator(op: .gt, version: floor)] : [Comparator(op: .ge, version: next(after: p))]
        case ">=":
            return [Comparator(op: .ge, version: floor)]
        case "<":
            return [Comparator(op: .lt, version: floor)]
        case "<=":
            return p.isComplete ? [Comparator(op: .le, version: floor)] : [Comparator(op: .lt, version: next(after: p))]
        case "~", "~>":
            let upper = p.minor == nil ? SemanticVersion(major + 1, 0, 0) : SemanticVersion(major, (p.minor ?? 0) + 1, 0)
            return [Comparator(op: .ge, version: floor), Comparator(op: .lt, version: upper)]
        case "^":
            let upper: SemanticVersion
            if major > 0 {
                upper = SemanticVersion(major + 1, 0, 0)
            } else if let minor = p.minor, minor > 0 {
                upper = SemanticVersion(0, minor + 1, 0)
            } else if p.minor == nil {
                upper = SemanticVersion(1, 0, 0)
            } else if let patch = p.patch {
                upper = SemanticVersion(0, 0, patch + 1)
            } else {
                upper = SemanticVersion(0, 1, 0)
            }
            return [Comparator(op: .ge, version: floor), Comparator(op: .lt, version: upper)]
        default:
            throw invalid(whole, "unknown operator '\(op)'")
        }
    }

    private static func invalid(_ text: String, _ why: String) -> BerthError {
        BerthError(
            .invalidArgument, "invalid semver range '\(text)': \(why)",
            hint: "examples: '>=1.2.0 <2.0.0', '1.x', '~1.2', '^1.2.0', '1.2 - 1.4', 'a || b'")
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }

    var replacingCommas: String { String(map { $0 == "," ? " " : $0 }) }
}
