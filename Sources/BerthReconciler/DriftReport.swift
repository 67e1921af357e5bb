import BerthAPI
import BerthManifests

/// Desired (git at a ref) against live, for `berth drift` and
/// `GET /api/v1/sources/{name}/drift`. Built from the same plan a sync would
/// make, so defaults and server-set fields never count as drift, and Secret
/// values are redacted in the diffs.
public struct DriftReport: Sendable, Codable, Hashable {
    public struct Changed: Sendable, Codable, Hashable {
        public var object: String
        public var fields: [FieldChange]
        /// Unified diff, live (`---`) to desired (`+++`), of the normalized YAML.
        public var diff: String
    }

    public var source: String
    public var ref: String
    public var commit: String?
    /// True when the commit was not fetched now (`--offline`).
    public var offline: Bool
    /// In git, not live.
    public var missing: [String]
    /// Live and owned by the source, gone from git.
    public var extra: [String]
    public var changed: [Changed]

    public var count: Int { missing.count + extra.count + changed.count }
    public var hasDrift: Bool { count > 0 }

    public init(source: String, ref: String, commit: String?, offline: Bool, plan: Plan) {
        self.source = source
        self.ref = ref
        self.commit = commit
        self.offline = offline
        missing = plan.creates.map(\.key.description)
        extra = plan.deletes.map(\.key.description)
        changed = plan.updates.map { item in
            let secret = item.key.kind == "Secret"
            let live = item.live.map { Self.displayTree($0, desired: item.desired, secret: secret, kind: item.key) } ?? .null
            let desired = item.desired.map { Self.displayTree($0, desired: nil, secret: secret, kind: item.key) } ?? .null
            let diff = UnifiedDiff.make(
                old: YAMLWriter.document(live), new: YAMLWriter.document(desired),
                oldName: "live/\(item.key)", newName: "git/\(item.key)")
            return Changed(object: item.key.description, fields: item.changes, diff: diff)
        }
    }

    /// The tree as the planner compares it, Secret values redacted.
    static func displayTree(_ tree: JSONValue, desired: JSONValue?, secret: Bool, kind key: ObjectKey) -> JSONValue {
        var normalized = ObjectNormalizer.normalize(tree, defaultNamespace: key.namespace.isEmpty ? "default" : key.namespace)
        if let desired, let kind = ResourceKind(apiVersion: key.apiVersion, kind: key.kind) {
            Planner.dropServerAssigned(&normalized, desired: desired, kind: kind)
        }
        if secret, case .object(var object) = normalized {
            for field in ["data", "stringData"] {
                if let value = object[field] { object[field] = TreeDiff.redacted(value) }
            }
            normalized = .object(object)
        }
        return normalized
    }

    /// Plain text; `color` adds ANSI colors to diff lines.
    public func render(color: Bool) -> String {
        var out = "source \(source) at \(ref)"
        if let commit { out += " (\(String(commit.prefix(12)))\(offline ? ", offline" : ""))" }
        out += "\n"
        if !hasDrift { return out + "no drift\n" }
        for key in missing { out += paint("missing: \(key) (in git, not live)", "33", color) + "\n" }
        for key in extra { out += paint("extra:   \(key) (owned, gone from git)", "33", color) + "\n" }
        for change in changed {
            out += paint("changed: \(change.object)", "33", color) + "\n"
            for line in change.diff.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                let text = String(line)
                if text.hasPrefix("+++") || text.hasPrefix("---") { out += paint(text, "1", color) }
                else if text.hasPrefix("+") { out += paint(text, "32", color) }
                else if text.hasPrefix("-") { out += paint(text, "31", color) }
                else if text.hasPrefix("@@") { out += paint(text, "36", color) }
                else { out += text }
                out += "\n"
            }
        }
        out += "\(count) object\(count == 1 ? "" : "s") drifted: \(missing.count) missing, \(extra.count) extra, \(changed.count) changed\n"
        return out
    }

    private func paint(_ text: String, _ code: String, _ color: Bool) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}

/// A line-based unified diff (LCS), 3 lines of context.
public enum UnifiedDiff {
    public static func make(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let ops = edits(a, b)
        guard ops.contains(where: { $0.kind != .same }) else { return "" }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        // Group edits into hunks with context.
        var index = 0
        while index < ops.count {
            guard let firstChange = ops[index...].firstIndex(where: { $0.kind != .same }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < ops.count {
                if ops[end].kind != .same { lastChange = end }
                if end - lastChange > context * 2 { break }
                end += 1
            }
            let stop = min(ops.count, lastChange + context + 1)
            let hunk = ops[start..<stop]
            let oldStart = (hunk.first?.oldLine ?? 0) + 1
            let newStart = (hunk.first?.newLine ?? 0) + 1
            let oldCount = hunk.filter { $0.kind != .insert }.count
            let newCount = hunk.filter { $0.kind != .delete }.count
            out += "@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@\n"
            for op in hunk {
                switch op.kind {
                case .same: out += " \(op.text)\n"
                case .delete: out += "-\(op.text)\n"
                case .insert: out += "+\(op.text)\n"
                }
            }
            index = stop
        }
        return out
    }

    struct Edit {
        enum Kind { case same, delete, insert }
        var kind: Kind
        var text: String
        var oldLine: Int
        var newLine: Int
    }

    static func edits(_ a: [String], _ b: [String]) -> [Edit] {
        let n = a.count, m = b.count
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        if n > 0 && m > 0 {
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
        }
        var result: [Edit] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] {
                result.append(Edit(kind: .same, text: a[i], oldLine: i, newLine: j)); i += 1; j += 1
            } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
                result.append(Edit(kind: .delete, text: a[i], oldLine: i, newLine: j)); i += 1
            } else {
                result.append(Edit(kind: .insert, text: b[j], oldLine: i, newLine: j)); j += 1
            }
        }
        return result
    }
}
