import BerthAPI
import BerthManifests
import Foundation
import Testing

/// `berth render`, run as a real process: the binary beside this test
/// bundle (`swift build --build-tests` builds both into the same directory).
@Suite struct RenderCommandTests {
    static let binary: URL? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [directory, directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent("berth") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static let demo = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/demo/manifests").path

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    private func berth(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = try #require(Self.binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test(.enabled(if: binary != nil, "the berth binary is not built"))
    func invalidManifestsExitOneWithEveryError() throws {
        let run = try berth(["render", "--repo", Fixtures.directory("invalid")])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.last == "20 errors in 9 files")
        #expect(lines.contains("replicas.yaml:6:13: Deployment/default/api: spec.replicas: Invalid type: got string, expected integer (write 3 without quotes)"))
    }

    @Test(.enabled(if: binary != nil, "the berth binary is not built"))
    func renderPrintsCanonicalYAMLThatLoadsBackUnchanged() throws {
        let run = try berth(["render", "--repo", Fixtures.root.path, "--path", "valid", "--namespace", "team"])
        #expect(run.status == 0)
        #expect(run.stderr.split(separator: "\n").map(String.init) == [
            "warning: unknown-fields.yaml:16:7: Deployment/shop/worker: unknown field \"spec.template.spec.affinity\" (Berth keeps it but does not act on it)",
            "warning: unknown-fields.yaml:21:11: Deployment/shop/worker: unknown field \"spec.template.spec.containers[0].lifecycle\" (Berth keeps it but does not act on it)",
        ])
        let direct = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Fixtures.directory("valid")),
                                         options: LoadOptions(defaultNamespace: "team"))
        let reloaded = load(run.stdout, path: "out.yaml")
        #expect(reloaded.objects.map(\.tree) == direct.objects.map(\.tree))
        #expect(reloaded.objects.map(\.hash) == direct.objects.map(\.hash))
        #expect(direct.objects.first?.key.namespace == "team")
    }

    @Test(.enabled(if: binary != nil, "the berth binary is not built"))
    func jsonOutputIsAList() throws {
        let run = try berth(["render", "--repo", Self.demo, "-o", "json"])
        #expect(run.status == 0)
        let list = try JSONDecoder().decode(JSONValue.self, from: Data(run.stdout.utf8))
        #expect(list["kind"] == .string("List"))
        #expect(list["items"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } == ["Namespace", "ConfigMap", "Deployment", "Service"])
    }

    @Test(.enabled(if: binary != nil, "the berth binary is not built"))
    func strictFailsOnUnknownFields() throws {
        let run = try berth(["render", "--repo", Fixtures.directory("valid"), "--strict"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("unknown-fields.yaml:16:7: Deployment/shop/worker: unknown field \"spec.template.spec.affinity\""))
    }

    @Test func demoManifestsAreValidWithoutWarnings() throws {
        let result = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Self.demo))
        #expect(result.errors.map(line) == [])
        #expect(result.warnings.map(line) == [])
        let web = try #require(result.objects.first { $0.kind == .deployment })
        let deployment = try web.tree.decode(Deployment.self)
        #expect(deployment.spec.replicas == 3)
        #expect(deployment.spec.template.spec.containers[0].readinessProbe?.httpGet?.port == .string("http"))
    }
}
