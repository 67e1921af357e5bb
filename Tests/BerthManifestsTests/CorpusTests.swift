import BerthAPI
import BerthManifests
import Foundation
import Testing

/// The fixture corpus: every invalid file's errors, exactly (file, line,
/// column, object and message), and the valid files' objects and warnings.
@Suite struct CorpusTests {
    @Test func invalidCorpusReportsEveryErrorExactly() throws {
        let files = try ManifestLoader.files(inDirectory: Fixtures.directory("invalid"))
        let result = ManifestLoader.load(files: files)
        let expected = try Fixtures.text("invalid/expected-errors.txt")
            .split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
        #expect(result.errors.map(line) == expected)
        // Only the one valid object (the first of the duplicates) loads.
        #expect(result.objects.map(\.key.description) == ["ConfigMap/default/shared"])
    }

    @Test func errorsCarryCodesLocationsAndObjects() throws {
        let result = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Fixtures.directory("invalid")))
        let byCode = Dictionary(grouping: result.errors, by: \.code)
        #expect(byCode[.duplicateObject]?.count == 1)
        #expect(byCode[.unsupportedKind]?.count == 1)
        #expect(result.errors.allSatisfy { $0.location != nil })
        #expect(result.errors.filter { $0.object == nil }.map(\.location?.file) == ["broken.yaml"])
    }

    @Test func secretValuesNeverAppearInErrors() throws {
        let result = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Fixtures.directory("invalid")))
        for error in result.errors {
            #expect(!error.description.contains("not*base64"))
        }
        let nested = load("""
            apiVersion: v1
            kind: Secret
            metadata: {name: s}
            data:
              key: 12345
            """)
        #expect(nested.errors.map(line) == ["test.yaml:5:8: Secret/default/s: data.key: Invalid type: got integer, expected string"])
        #expect(!nested.errors[0].description.contains("12345"))
    }

    @Test func validCorpusLoadsWithWarningsOnlyForUnknownFields() throws {
        let result = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Fixtures.directory("valid")))
        #expect(result.errors.map(line) == [])
        #expect(result.warnings.map(line) == [
            "unknown-fields.yaml:16:7: Deployment/shop/worker: unknown field \"spec.template.spec.affinity\"",
            "unknown-fields.yaml:21:11: Deployment/shop/worker: unknown field \"spec.template.spec.containers[0].lifecycle\"",
        ])
        #expect(result.objects.map(\.key.description) == [
            "Deployment/default/web",
            "ConfigMap/shop/settings", "Secret/shop/credentials",  // list.yaml, flattened
            "Namespace/shop", "Service/shop/api",  // multi.yaml, empty documents skipped
            "Pod/shop/debug",  // objects.json
            "Deployment/shop/worker",
        ])
        #expect(result.objects.map { "\($0.location)" } == [
            "deployment.yaml:2:1", "list.yaml:4:5", "list.yaml:12:5", "multi.yaml:4:1", "multi.yaml:9:1",
            "objects.json:1:1", "unknown-fields.yaml:1:1",
        ])
    }

    @Test func unknownFieldsAreKeptInTheTree() throws {
        let result = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Fixtures.directory("valid")))
        let worker = try #require(result.objects.first { $0.key.name == "worker" })
        #expect(worker.tree.at("spec.template.spec.affinity") == .object(["nodeAffinity": .object([:])]))
        #expect(worker.tree.at("spec.template.spec.containers[0].lifecycle.preStop.exec.command")
                == .array([.string("sleep"), .string("5")]))
    }

    @Test func strictTurnsWarningsIntoErrors() throws {
        let files = try ManifestLoader.files(inDirectory: Fixtures.directory("valid"))
        let result = ManifestLoader.load(files: files, options: LoadOptions(strict: true))
        #expect(result.warnings.isEmpty)
        #expect(result.errors.map(line) == [
            "unknown-fields.yaml:16:7: Deployment/shop/worker: unknown field \"spec.template.spec.affinity\"",
            "unknown-fields.yaml:21:11: Deployment/shop/worker: unknown field \"spec.template.spec.containers[0].lifecycle\"",
        ])
        #expect(!result.objects.contains { $0.key.name == "worker" })
    }

    @Test func concurrentLoadEqualsSequentialLoad() async throws {
        let files = try ManifestLoader.files(inDirectory: Fixtures.directory("invalid"))
            + ManifestLoader.files(inDirectory: Fixtures.directory("valid"))
        let sequential = ManifestLoader.load(files: files)
        let concurrent = await ManifestLoader.loadConcurrently(files: files)
        #expect(sequential.objects == concurrent.objects)
        #expect(sequential.errors.map(line) == concurrent.errors.map(line))
        #expect(sequential.warnings.map(line) == concurrent.warnings.map(line))
    }

    @Test func directoryLoaderSkipsHiddenAndNonManifestFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-dir-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".git"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("apps/web"), withIntermediateDirectories: true)
        try Data("kind: x".utf8).write(to: directory.appendingPathComponent(".git/config.yaml"))
        try Data("# notes".utf8).write(to: directory.appendingPathComponent("README.md"))
        try Data("a: 1".utf8).write(to: directory.appendingPathComponent("apps/web/b.yml"))
        try Data("{}".utf8).write(to: directory.appendingPathComponent("apps/a.JSON"))
        try Data("a: 1".utf8).write(to: directory.appendingPathComponent("z.yaml"))
        let files = try ManifestLoader.files(inDirectory: directory.path)
        #expect(files.map(\.path) == ["apps/a.JSON", "apps/web/b.yml", "z.yaml"])
        #expect(throws: BerthError.self) { try ManifestLoader.files(inDirectory: directory.appendingPathComponent("nope").path) }
    }
}
