import BerthAPI
import BerthManifests
import Foundation
import Testing

/// How YAML and JSON text becomes trees: Kubernetes' (go-yaml v2, YAML 1.1)
/// reading of plain scalars, quoting, merge keys, Lists, JSON files.
@Suite struct YAMLReadingTests {
    /// A ConfigMap annotation holds any scalar; the schema leaves
    /// annotations as strings only, so use an unknown field to see the raw type.
    private func scalar(_ text: String) throws -> JSONValue? {
        let result = load("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: c}
            probe: \(text)
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.objects.first).tree["probe"]
    }

    @Test(arguments: [
        ("yes", JSONValue.bool(true)), ("No", .bool(false)), ("on", .bool(true)), ("OFF", .bool(false)),
        ("y", .bool(true)), ("true", .bool(true)), ("False", .bool(false)),
        ("42", .int(42)), ("-7", .int(-7)), ("+3", .int(3)), ("0x1F", .int(31)), ("0755", .int(493)),
        ("0b101", .int(5)), ("1_000", .int(1000)),
        ("1.5", .double(1.5)), ("1e3", .double(1000)), ("-.5", .double(-0.5)), (".inf", .double(.infinity)),
        ("\"yes\"", .string("yes")), ("'42'", .string("42")), ("!!str 42", .string("42")), ("!!float 3", .double(3)),
        ("hello", .string("hello")), ("1.2.3", .string("1.2.3")), ("0x", .string("0x")), ("12:30", .string("12:30")),
        ("v1", .string("v1")), ("2024-01-01", .string("2024-01-01")), ("-x", .string("-x")),
    ])
    func plainScalarsResolveLikeKubectl(text: String, expected: JSONValue) throws {
        #expect(try scalar(text) == expected)
    }

    @Test func nullsAreUnset() throws {
        #expect(try scalar("~") == nil)
        #expect(try scalar("null") == nil)
        #expect(try scalar("") == nil)
    }

    @Test func mergeKeysAndAnchors() throws {
        let result = load("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: c}
            base: &base {a: "1", b: "2"}
            data:
              <<: *base
              b: "3"
            """)
        let tree = try #require(result.objects.first).tree
        #expect(tree["data"] == .object(["a": .string("1"), "b": .string("3")]))
    }

    @Test func listsAreFlattenedWithItemLocations() throws {
        let result = load("""
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: ConfigMap
              metadata: {name: one}
            - apiVersion: v1
              kind: ConfigMap
              metadata: {name: two}
              data: {x: 1}
            """)
        #expect(result.objects.map(\.key.name) == ["one"])
        #expect(result.objects.map { "\($0.location)" } == ["test.yaml:4:3"])
        #expect(result.errors.map(line) == ["test.yaml:10:13: ConfigMap/default/two: data.x: Invalid type: got integer, expected string"])
    }

    @Test func jsonFilesWithLocations() throws {
        let json = """
            {"apiVersion":"v1","kind":"List","items":[
            \t{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v\\u00e9\\/"}},
            \t{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":"80"}]}}
            ]}
            """
        let result = load(json, path: "objects.json")
        #expect(result.objects.first?.tree["data"] == .object(["k": .string("vé/")]))
        #expect(result.errors.map(line) == [
            "objects.json:3:87: Service/default/s: spec.ports[0].port: Invalid type: got string, expected integer",
        ])
    }

    @Test func emptyDocumentsAndCommentsAreSkipped() {
        let result = load("---\n# only a comment\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n")
        #expect(result.objects.map(\.key.description) == ["Namespace/a"])
        #expect(result.errors.isEmpty)
    }

    @Test func documentsThatAreNotMappingsAreErrors() {
        let result = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- just\n- a list\n")
        #expect(result.errors.map(line) == ["test.yaml:5:1: a manifest document must be a mapping with apiVersion and kind, not array"])
    }

    @Test func duplicateKeysAreErrors() {
        let result = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k: a\n  k: b\n")
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.message.contains("\"k\" is defined more than once") == true)
        #expect(result.errors.first?.location?.file == "test.yaml")
    }

    @Test func typedViewsDecodeFromCanonicalTrees() throws {
        let result = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Fixtures.directory("valid")))
        for object in result.objects {
            switch object.kind {
            case .deployment: _ = try object.tree.decode(Deployment.self)
            case .service: _ = try object.tree.decode(Service.self)
            case .pod: _ = try object.tree.decode(Pod.self)
            case .secret: _ = try object.tree.decode(Secret.self)
            case .configMap: _ = try object.tree.decode(ConfigMap.self)
            case .namespace: _ = try object.tree.decode(Namespace.self)
            default: Issue.record("unexpected kind \(object.kind)")
            }
        }
        let web = try #require(result.objects.first { $0.key.name == "web" })
        let deployment = try web.tree.decode(Deployment.self)
        #expect(deployment.spec.replicas == 1)
        #expect(deployment.spec.template.spec.containers[0].resources?.limits?["cpu"] == Quantity("1"))
    }

    @Test func renderedYAMLReadsBackAsTheSameObjects() throws {
        let files = try ManifestLoader.files(inDirectory: Fixtures.directory("valid"))
        let first = ManifestLoader.load(files: files)
        var trees = first.objects.map(\.tree)
        // Strings that look like other things, and multi-line text.
        trees.append(.object([
            "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
            "metadata": .object(["name": .string("tricky"), "namespace": .string("default")]),
            "data": .object([
                "a": .string("yes"), "b": .string("0755"), "c": .string("1e3"), "d": .string("- x"), "e": .string("a: b"),
                "f": .string("line1\nline2\n"), "g": .string("keep\n\n"), "h": .string("no newline\nat end"),
                "i": .string(" leading"), "j": .string("tab\there"), "k": .string("~"), "l": .string(""),
                "m": .string("#comment"), "n": .string("é ü"), "o": .string("12:30:00"), "p": .string("null"),
                "q": .string("  indented\nblock"), "r": .string("x #y"), "s": .string("@at"), "t": .string("*star"),
            ]),
        ]))
        let yaml = YAMLWriter.stream(trees)
        let again = load(yaml, path: "rendered.yaml")
        #expect(again.errors.map(line) == [])
        #expect(again.objects.map(\.tree) == trees)
    }
}

@Suite struct YAMLBombTests {
    @Test func aliasExpansionIsBounded() {
        var yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 {
            let previous = "*a\(level - 1)"
            yaml += "a\(level): &a\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
        }
        let start = Date()
        let result = load(yaml)
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.message.contains("more than 1000000 nodes") == true)
        #expect(Date().timeIntervalSince(start) < 30)
    }
}
