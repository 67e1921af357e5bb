import BerthAPI
import Testing

@testable import BerthGit

@Suite struct SemverTests {
    @Test(arguments: [
        ("1.2.3", "1.2.3"), ("v1.2.3", "1.2.3"), ("V2.0.0", "2.0.0"), ("1.2", "1.2.0"), ("v3", "3.0.0"),
        ("1.2.3-rc.1", "1.2.3-rc.1"), ("1.2.3-alpha-2+build.7", "1.2.3-alpha-2+build.7"), ("0.0.0", "0.0.0"),
    ])
    func parsesVersions(text: String, expected: String) throws {
        let version = try #require(SemanticVersion(text))
        #expect(version.description == expected)
    }

    @Test(arguments: ["", "v", "main", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1..3", "1.x", "release-1.2", "1.2-rc1", "1.2.3+"])
    func rejectsNonVersions(text: String) {
        #expect(SemanticVersion(text) == nil)
    }

    @Test(arguments: [
        ("1.0.0", "2.0.0"), ("2.0.0", "2.1.0"), ("2.1.0", "2.1.1"), ("1.0.0-alpha", "1.0.0"),
        ("1.0.0-alpha", "1.0.0-alpha.1"), ("1.0.0-alpha.1", "1.0.0-alpha.beta"), ("1.0.0-alpha.beta", "1.0.0-beta"),
        ("1.0.0-beta", "1.0.0-beta.2"), ("1.0.0-beta.2", "1.0.0-beta.11"), ("1.0.0-beta.11", "1.0.0-rc.1"),
        ("1.0.0-rc.1", "1.0.0"), ("1.9.0", "1.10.0"),
    ])
    func ordersBySemverPrecedence(lower: String, higher: String) throws {
        let a = try #require(SemanticVersion(lower))
        let b = try #require(SemanticVersion(higher))
        #expect(a < b)
        #expect(!(b < a))
        #expect(a != b)
    }

    @Test func buildMetadataDoesNotOrder() throws {
        #expect(try #require(SemanticVersion("1.0.0+a")) == #require(SemanticVersion("1.0.0+b")))
    }

    /// (range, version, matches)
    static let rangeCases: [(String, String, Bool)] = [
        (">=1.2.0 <2.0.0", "1.2.0", true), (">=1.2.0 <2.0.0", "1.9.9", true), (">=1.2.0 <2.0.0", "2.0.0", false),
        (">=1.2.0 <2.0.0", "1.1.9", false), (">=1.2.0, <2.0.0", "1.5.0", true), (">= 1.2.0 < 2.0.0", "1.5.0", true),
        ("1.x", "1.0.0", true), ("1.x", "1.99.3", true), ("1.x", "2.0.0", false), ("1.x", "0.9.0", false),
        ("1.2.x", "1.2.7", true), ("1.2.x", "1.3.0", false), ("1.2.*", "1.2.0", true), ("*", "9.9.9", true), ("1", "1.4.0", true),
        ("~1.2", "1.2.9", true), ("~1.2", "1.3.0", false), ("~1.2.3", "1.2.2", false), ("~1.2.3", "1.2.3", true),
        ("~1", "1.9.0", true), ("~1", "2.0.0", false), ("~>1.2", "1.2.5", true),
        ("^1.2.0", "1.9.0", true), ("^1.2.0", "2.0.0", false), ("^1.2.0", "1.1.0", false),
        ("^0.2.3", "0.2.9", true), ("^0.2.3", "0.3.0", false), ("^0.0.3", "0.0.3", true), ("^0.0.3", "0.0.4", false),
        ("^0", "0.9.0", true), ("^0", "1.0.0", false), ("^1.2", "1.2.0", true),
        ("=1.2.3", "1.2.3", true), ("1.2.3", "1.2.4", false), ("!=1.2.3", "1.2.4", true), ("!=1.2.3", "1.2.3", false),
        (">1.2", "1.2.9", false), (">1.2", "1.3.0", true), ("<=1.2", "1.2.9", true), ("<=1.2", "1.3.0", false),
        ("<1.2", "1.1.9", true), ("<1.2", "1.2.0", false),
        ("1.2 - 1.4", "1.4.9", true), ("1.2 - 1.4", "1.5.0", false), ("1.2.3 - 1.4.5", "1.4.5", true), ("1.2.3 - 1.4.5", "1.4.6", false),
        ("<1.0.0 || >=3.0.0", "0.5.0", true), ("<1.0.0 || >=3.0.0", "2.0.0", false), ("<1.0.0 || >=3.0.0", "3.1.0", true),
        ("v1.x", "1.2.0", true), (">=v1.2.0", "1.2.0", true),
        // Pre-releases: excluded unless the range names one.
        (">=1.2.0 <2.0.0", "1.5.0-rc.1", false), ("^1.2", "2.0.0-rc.1", false), ("*", "1.0.0-alpha", false),
        (">=1.2.0-rc.1", "1.2.0-rc.2", true), (">=1.2.0-rc.1", "1.2.0-rc.0", false), ("~1.2.0-0", "1.2.0-beta", true),
    ]

    @Test(arguments: rangeCases)
    func matchesRanges(range: String, version: String, expected: Bool) throws {
        let parsed = try SemverRange(range)
        let v = try #require(SemanticVersion(version))
        #expect(parsed.contains(v) == expected, "\(range) contains \(version)")
    }

    @Test(arguments: ["", "  ", "abc", ">=", "1.2.3.4", ">=1.2 || ", "<*", "!=1.2", "1.x.3", "~>"])
    func rejectsInvalidRanges(text: String) {
        #expect(throws: BerthError.self) { try SemverRange(text) }
    }

    @Test func invalidRangeSaysWhatToWrite() {
        do {
            _ = try SemverRange(">=banana")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(">=banana"))
            #expect(error.hint?.contains("^1.2.0") == true)
        }
    }

    @Test func picksHighestMatching() throws {
        let versions = ["1.0.0", "1.2.0", "1.4.2", "1.10.0", "2.0.0", "1.11.0-rc.1"].compactMap(SemanticVersion.init)
        #expect(try SemverRange("^1.2").highest(in: versions)?.description == "1.10.0")
        #expect(try SemverRange("~1.4").highest(in: versions)?.description == "1.4.2")
        #expect(try SemverRange(">=1.11.0-rc.0").highest(in: versions)?.description == "2.0.0")
        #expect(try SemverRange("3.x").highest(in: versions) == nil)
    }
}
