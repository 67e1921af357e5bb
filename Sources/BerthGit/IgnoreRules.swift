/// `.berthignore` rules, in gitignore syntax.
///
/// Lets a repository keep non-manifest YAML (CI config, Helm values, docs)
/// next to its manifests. Supported: comments (`#`), blank lines, globs
/// (`*`, `?`, `[a-z]`, `[!a]`), `**` (`**/x`, `x/**`, `a/**/b`), negation
/// (`!x`), trailing `/` for directories only, anchoring (a leading or middle
/// `/` makes a pattern relative to the file's directory; otherwise it matches
/// at any depth), `\` escapes. As in git, a file whose parent directory is
/// ignored cannot be re-included, and the last matching rule wins.
public struct IgnoreRules: Sendable, Hashable {
    enum Segment: Sendable, Hashable {
        case doubleStar
        case glob([Character])
    }

    struct Rule: Sendable, Hashable {
        /// Directory (relative to the repository root) holding the ignore file; empty for the root.
        var base: [String]
        var segments: [Segment]
        var negated: Bool
        var directoryOnly: Bool
    }

    private(set) var rules: [Rule] = []

    public init() {}

    /// Adds the lines of one ignore file that lives in directory `base` (`""` for the repository root).
    /// Files added later take precedence, as a deeper `.gitignore` does.
    public mutating func add(_ contents: String, base: String = "") {
        let baseSegments = base.split(separator: "/").map(String.init)
        for rawLine in contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if let rule = Self.parse(String(rawLine), base: baseSegments) { rules.append(rule) }
        }
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// Whether `path` (relative to the repository root) is ignored, either itself or through
    /// an ignored parent directory.
    public func isIgnored(_ path: String, isDirectory: Bool = false) -> Bool {
        // Most repositories have no .berthignore: splitting every path of a
        // 1,000-file tree for no rule was half of reading the tree.
        guard !rules.isEmpty else { return false }
        let segments = path.split(separator: "/").map(String.init)
        guard !segments.isEmpty else { return false }
        for end in 1..<segments.count where decide(segments[0..<end], isDirectory: true) {
            return true
        }
        return decide(segments[...], isDirectory: isDirectory)
    }

    private func decide(_ path: ArraySlice<String>, isDirectory: Bool) -> Bool {
        var ignored = false
        for rule in rules {
            if rule.directoryOnly && !isDirectory { continue }
            guard path.count > rule.base.count, path.prefix(rule.base.count).elementsEqual(rule.base) else { continue }
            let relative = path.dropFirst(rule.base.count)
            if Self.match(rule.segments[...], relative) { ignored = !rule.negated }
        }
        return ignored
    }

    // MARK: - Parsing

    static func parse(_ line: String, base: [String]) -> Rule? {
        var chars = Array(line)
        if chars.last == "\r" { chars.removeLast() }
        // Trailing spaces are dropped unless escaped with a backslash.
        while let last = chars.last, last == " " || last == "\t" {
            if chars.count >= 2, chars[chars.count - 2] == "\\" { break }
            chars.removeLast()
        }
        guard let first = chars.first, first != "#" else { return nil }
        var negated = false
        if first == "!" {
            negated = true
            chars.removeFirst()
        } else if first == "\\", chars.count > 1, chars[1] == "!" || chars[1] == "#" {
            chars.removeFirst()
        }
        var directoryOnly = false
        while chars.last == "/" {
            directoryOnly = true
            chars.removeLast()
        }
        guard !chars.isEmpty else { return nil }
        let anchored = chars.dropLast().contains("/")
        if chars.first == "/" { chars.removeFirst() }
        var segments: [Segment] = chars.split(separator: "/", omittingEmptySubsequences: true).map { part in
            part.elementsEqual(["*", "*"]) ? .doubleStar : .glob(Array(part))
        }
        guard !segments.isEmpty else { return nil }
        if !anchored { segments.insert(.doubleStar, at: 0) }
        return Rule(base: base, segments: segments, negated: negated, directoryOnly: directoryOnly)
    }

    // MARK: - Matching

    static func match(_ pattern: ArraySlice<Segment>, _ path: ArraySlice<String>) -> Bool {
        guard let head = pattern.first else { return path.isEmpty }
        switch head {
        case .doubleStar:
            let rest = pattern.dropFirst()
            // A trailing `/**` matches everything inside, but not the directory itself.
            if rest.isEmpty { return !path.isEmpty }
            var remaining = path
            while true {
                if match(rest, remaining) { return true }
                guard !remaining.isEmpty else { return false }
                remaining = remaining.dropFirst()
            }
        case .glob(let glob):
            guard let name = path.first, globMatch(glob[...], Array(name)[...]) else { return false }
            return match(pattern.dropFirst(), path.dropFirst())
        }
    }

    /// fnmatch for one path segment: `*`, `?`, `[...]`, `\x`.
    static func globMatch(_ pattern: ArraySlice<Character>, _ name: ArraySlice<Character>) -> Bool {
        var p = pattern.startIndex
        var n = name.startIndex
        var starP: Int?
        var starN = 0
        while n < name.endIndex {
            if p < pattern.endIndex {
                let c = pattern[p]
                if c == "*" {
                    starP = p
                    starN = n
                    p += 1
                    continue
                }
                if c == "?" {
                    p += 1
                    n += 1
                    continue
                }
                if c == "[", let (matched, after) = matchClass(pattern, p, name[n]) {
                    if matched {
                        p = after
                        n += 1
                        continue
                    }
                } else {
                    var literal = c
                    var width = 1
                    if c == "\\", p + 1 < pattern.endIndex {
                        literal = pattern[p + 1]
                        width = 2
                    }
                    if literal == name[n] {
                        p += width
                        n += 1
                        continue
                    }
                }
            }
            // Mismatch: let the last `*` swallow one more character.
            guard let star = starP else { return false }
            p = star + 1
            starN += 1
            n = starN
        }
        while p < pattern.endIndex, pattern[p] == "*" { p += 1 }
        return p == pattern.endIndex
    }

    /// Matches `c` against the class starting at `start` (`[`); nil when the class is unterminated
    /// (then `[` is taken literally).
    private static func matchClass(_ pattern: ArraySlice<Character>, _ start: Int, _ c: Character) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < pattern.endIndex, pattern[i] == "!" || pattern[i] == "^" {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < pattern.endIndex {
            var lo = pattern[i]
            if lo == "]" && !first { return (matched != negate, i + 1) }
            first = false
            if lo == "\\", i + 1 < pattern.endIndex {
                i += 1
                lo = pattern[i]
            }
            if i + 2 < pattern.endIndex, pattern[i + 1] == "-", pattern[i + 2] != "]" {
                let hi = pattern[i + 2]
                if lo <= c && c <= hi { matched = true }
                i += 3
            } else {
                if lo == c { matched = true }
                i += 1
            }
        }
        return nil
    }
}
