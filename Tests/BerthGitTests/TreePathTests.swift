import BerthAPI
import Testing

@testable import BerthGit

@Suite struct TreePathTests {
    @Test(arguments: [("", ""), (".", ""), ("/", ""), ("./deploy/", "deploy"), ("a//b/./c", "a/b/c")])
    func normalizesSubpaths(input: String, expected: String) throws {
        #expect(try TreePath.normalizeSubpath(input) == expected)
    }

    @Test func refusesSubpathsWithDotDot() {
        #expect(throws: BerthError.self) { try TreePath.normalizeSubpath("deploy/../../etc") }
    }

    @Test(arguments: [
        ("deploy/link.yaml", "real.yaml", "deploy", "deploy/real.yaml"),
        ("deploy/a/link.yaml", "../b/x.yaml", "deploy", "deploy/b/x.yaml"),
        ("deploy/link.yaml", "./sub/../x.yaml", "deploy", "deploy/x.yaml"),
        ("link.yaml", "dir/x.yaml", "", "dir/x.yaml"),
    ])
    func resolvesLinksInsideTheSubpath(link: String, target: String, subpath: String, expected: String) throws {
        #expect(try TreePath.resolveLink(link, target: target, within: subpath) == expected)
    }

    @Test(arguments: [
        ("deploy/link.yaml", "../secrets.yaml", "deploy"), ("deploy/link.yaml", "/etc/passwd", "deploy"),
        ("link.yaml", "../../outside.yaml", ""), ("deploy/link.yaml", "..", "deploy"), ("deployx/l.yaml", "../deploy2/x.yaml", "deployx"),
    ])
    func refusesLinksThatLeave(link: String, target: String, subpath: String) {
        do {
            _ = try TreePath.resolveLink(link, target: target, within: subpath)
            Issue.record("\(link) -> \(target) should be refused")
        } catch {
            #expect(error.message.contains(link), "the error names the link")
            #expect(error.location?.file == link)
        }
    }

    @Test func manifestsByExtension() {
        #expect(TreePath.isManifest("a/b.yaml") && TreePath.isManifest("B.YML") && TreePath.isManifest("x.json"))
        #expect(!TreePath.isManifest("README.md") && !TreePath.isManifest("yaml"))
    }
}
