import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// The `berth` executable `swift build` puts next to the tests.
let imageCommandExecutable = ImageTestSupport.repoRoot + "/.build/debug/berth"

/// `berth image …` end to end: the built executable against a real store.
@Suite struct ImageCommandTests {
    typealias T = ImageTestSupport

    func berth(_ dataDir: String, _ arguments: String...) throws -> String {
        try T.run([imageCommandExecutable, "image"] + arguments + ["--data-dir", dataDir])
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: imageCommandExecutable)))
    func importListTagInspectRemovePrune() throws {
        let dir = try T.makeTempDir("cli")
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout")
        let data = dir + "/data"

        let imported = try berth(data, "import", dir + "/layout")
        #expect(imported.contains(digest))
        _ = try berth(data, "tag", "busybox", "localhost:5000/bb:v1")
        let rootfs = dir + "/rootfs"
        try T.run(["bash", "\(T.repoRoot)/scripts/build-test-image.sh", rootfs, "--rootfs-only"])
        _ = try berth(data, "import", rootfs, "--tag", "web:1", "--cmd", #"["httpd","-f"]"#, "--env", "A=b", "--workdir", "/var/www")

        let table = try berth(data, "ls").split(separator: "\n").map(String.init)
        #expect(table.first?.hasPrefix("REPOSITORY") == true)
        #expect(table.first?.contains("IMAGE ID") == true && table.first?.hasSuffix("SIZE") == true)
        let id = String(digest.dropFirst(7).prefix(12))
        #expect(table.contains { $0.hasPrefix("busybox ") && $0.contains("latest") && $0.contains(id) })
        #expect(table.contains { $0.hasPrefix("localhost:5000/bb ") && $0.contains("v1") && $0.contains(id) })
        #expect(table.contains { $0.hasPrefix("web ") && $0.contains("Less than a second ago") || $0.hasPrefix("web ") && $0.contains("seconds ago") })
        #expect(table.count == 4)

        let inspect = try berth(data, "inspect", "web:1")
        let details = try JSONDecoder().decode([JSONValue].self, from: Data(inspect.utf8))
        guard case .object(let object)? = details.first, case .object(let image)? = object["image"],
              case .object(let config)? = image["config"] else {
            Issue.record("unexpected inspect output: \(inspect)")
            return
        }
        #expect(config["Cmd"] == .array([.string("httpd"), .string("-f")]))
        #expect(config["WorkingDir"] == .string("/var/www"))

        let removed = try berth(data, "rm", "busybox", "localhost:5000/bb:v1")
        #expect(removed.contains("Untagged: docker.io/library/busybox:latest"))
        #expect(removed.contains("Deleted: \(digest)"))
        #expect(try berth(data, "ls", "-q").split(separator: "\n").count == 1)
        let pruned = try berth(data, "prune")
        #expect(pruned.contains("Removed 0 blobs"))

        // Errors say what was wrong.
        #expect(throws: BerthError.self) { _ = try berth(data, "inspect", "nope:1") }
    }
    /// Two `berth image import` processes at once on one data dir: the file
    /// lock serializes them and the index keeps both.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: imageCommandExecutable)))
    func concurrentProcessesShareTheStore() throws {
        let dir = try T.makeTempDir("cli2")
        defer { T.cleanup(dir) }
        let a = try T.buildBusybox(into: dir + "/a", name: "one:1")
        let b = try T.buildBusybox(into: dir + "/b", compression: "zstd", name: "two:1")
        let processes = try [dir + "/a", dir + "/b"].map { layout in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: imageCommandExecutable)
            process.arguments = ["image", "import", layout, "--data-dir", dir + "/data"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let ids = try berth(dir + "/data", "ls", "-q", "--no-trunc").split(separator: "\n").map(String.init)
        #expect(Set(ids) == [a, b])
    }
}
