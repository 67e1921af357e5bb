import Testing

@testable import BerthGit

@Suite struct IgnoreRulesTests {
    /// (rules at the root, path, is a directory, ignored)
    static let cases: [(String, String, Bool, Bool)] = [
        ("*.json", "a/b/c.json", false, true), ("*.json", "c.yaml", false, false),
        ("# comment\n\n*.json", "x.json", false, true), ("\\#x.yaml", "#x.yaml", false, true),
        ("secret.yaml", "deep/dir/secret.yaml", false, true), ("/secret.yaml", "deep/secret.yaml", false, false),
        ("/secret.yaml", "secret.yaml", false, true), ("ci/", "ci", true, true), ("ci/", "ci/deploy.yaml", false, true),
        ("ci/", "ci", false, false), ("docs/*.yaml", "docs/a.yaml", false, true), ("docs/*.yaml", "x/docs/a.yaml", false, false),
        ("docs/*.yaml", "docs/sub/a.yaml", false, false), ("**/tmp", "a/b/tmp", true, true), ("**/tmp", "tmp", true, true),
        ("a/**/z.yaml", "a/z.yaml", false, true), ("a/**/z.yaml", "a/b/c/z.yaml", false, true),
        ("a/**", "a/b/c.yaml", false, true), ("a/**", "a", true, false), ("*.yaml\n!keep.yaml", "keep.yaml", false, false),
        ("*.yaml\n!keep.yaml", "other.yaml", false, true), ("dir/\n!dir/keep.yaml", "dir/keep.yaml", false, true),
        ("dir/*\n!dir/keep.yaml", "dir/keep.yaml", false, false), ("v?.yaml", "v1.yaml", false, true), ("v?.yaml", "v10.yaml", false, false),
        ("[abc].yaml", "b.yaml", false, true), ("[abc].yaml", "d.yaml", false, false), ("[!abc].yaml", "d.yaml", false, true),
        ("[a-c]x.yaml", "cx.yaml", false, true), ("trailing.yaml   ", "trailing.yaml", false, true),
        ("\\!bang.yaml", "!bang.yaml", false, true), ("*", "anything/at/all.yaml", false, true),
        ("foo*bar", "fooXYZbar", false, true), ("foo*bar", "foo/bar", false, false),
    ]

    @Test(arguments: cases)
    func matchesLikeGitignore(rules: String, path: String, isDirectory: Bool, expected: Bool) {
        var ignore = IgnoreRules()
        ignore.add(rules)
        #expect(ignore.isIgnored(path, isDirectory: isDirectory) == expected, "rules \(rules.debugDescription) on \(path)")
    }

    @Test func subpathRulesAreRelativeToTheirDirectoryAndWinLast() {
        var ignore = IgnoreRules()
        ignore.add("*.json\n/top.yaml", base: "")
        ignore.add("/local.yaml\n!wanted.json", base: "deploy")
        #expect(ignore.isIgnored("deploy/local.yaml"))
        #expect(!ignore.isIgnored("deploy/sub/local.yaml"))
        #expect(!ignore.isIgnored("local.yaml"))
        #expect(ignore.isIgnored("deploy/other.json"))
        #expect(!ignore.isIgnored("deploy/wanted.json"))
        #expect(ignore.isIgnored("top.yaml"))
        #expect(!ignore.isIgnored("deploy/top.yaml"))
    }

    @Test func emptyRulesIgnoreNothing() {
        var ignore = IgnoreRules()
        ignore.add("\n# only comments\n   \n")
        #expect(ignore.isEmpty)
        #expect(!ignore.isIgnored("a.yaml"))
    }
}
