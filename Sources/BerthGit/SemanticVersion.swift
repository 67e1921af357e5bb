/// A semantic version (semver.org 2.0.0), parsed leniently from tag names.
///
/// Tags in the wild are `v1.2.3`, `1.2.3`, sometimes `v1.2`: a leading `v`
/// is dropped and missing minor/patch numbers count as 0, like the
/// Masterminds library Flux uses. Build metadata (`+abc`) is kept but does not
/// take part in ordering or equality, as the spec demands.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    public var prerelease: [String]
    public var build: [String]

    public init(_ major: Int, _ minor: Int, _ patch: Int, prerelease: [String] = [], build: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    /// Parses `[v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]`; nil when `text` is not a version.
    public init?(_ text: String) {
        guard let parsed = PartialVersion(text), !parsed.hasWildcard,
              let major = parsed.major
        else { return nil }
        self.init(major, parsed.minor ?? 0, parsed.patch ?? 0, prerelease: parsed.prerelease, build: parsed.build)
    }

    public var isPrerelease: Bool { !prerelease.isEmpty }

    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.joined(separator: ".") }
        if !build.isEmpty { text += "+" + build.joined(separator: ".") }
        return text
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.major == rhs.major && lhs.minor == rhs.minor && lhs.patch == rhs.patch && lhs.prerelease == rhs.prerelease
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.major != rhs.major { return lhs.major < rhs.major }
        if lhs.minor != rhs.minor { return lhs.minor < rhs.minor }
        if lhs.patch != rhs.patch { return lhs.patch < rhs.patch }
        // A pre-release sorts before its release.
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, true): return false
        case (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (a, b) in zip(lhs.prerelease, rhs.prerelease) where a != b {
            switch (Int(a), Int(b)) {
            case let (x?, y?): return x < y
            case (.some, nil): return true  // numeric identifiers sort first
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
        return lhs.prerelease.count < rhs.prerelease.count
    }
}

/// A version as written in a range: any of minor/patch may be missing or a wildcard (`x`, `X`, `*`).
struct PartialVersion: Sendable, Hashable {
    var major: Int?
    var minor: Int?
    var patch: Int?
    var prerelease: [String] = []
    var build: [String] = []
    /// True when a component was written as `x`, `X` or `*` (as opposed to left out).
    var hasWildcard = false

    init?(_ input: String) {
        var text = Substring(input)
        if text.first == "v" || text.first == "V" { text = text.dropFirst() }
        guard !text.isEmpty else { return nil }
        if let plus = text.firstIndex(of: "+") {
            let build = text[text.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard build.allSatisfy(Self.isIdentifier) else { return nil }
            self.build = build
            text = text[..<plus]
        }
        if let dash = text.firstIndex(of: "-") {
            let pre = text[text.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard pre.allSatisfy(Self.isIdentifier) else { return nil }
            for id in pre where id.allSatisfy(\.isASCIIDigit) && id.count > 1 && id.first == "0" { return nil }
            prerelease = pre
            text = text[..<dash]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var numbers: [Int?] = []
        var sawWildcard = false
        for part in parts {
            if part == "x" || part == "X" || part == "*" {
                sawWildcard = true
                numbers.append(nil)
                continue
            }
            // A number after a wildcard (`1.x.3`) is meaningless.
            guard !sawWildcard, !part.isEmpty, part.allSatisfy(\.isASCIIDigit),
                  part.count == 1 || part.first != "0", let value = Int(part)
            else { return nil }
            numbers.append(value)
        }
        hasWildcard = sawWildcard
        major = numbers[0]
        minor = numbers.count > 1 ? numbers[1] : nil
        patch = numbers.count > 2 ? numbers[2] : nil
        // A pre-release only makes sense on a complete version.
        if !prerelease.isEmpty && (patch == nil) { return nil }
    }

    static func isIdentifier(_ id: String) -> Bool {
        !id.isEmpty && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    /// The lowest version this partial version covers (`1.2` → `1.2.0`, `1.x` → `1.0.0`).
    var floor: SemanticVersion {
        SemanticVersion(major ?? 0, minor ?? 0, patch ?? 0, prerelease: prerelease)
    }

    var isComplete: Bool { major != nil && minor != nil && patch != nil }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
