import ArgumentParser
import BerthAPI
import BerthManifests
import Foundation

/// `berth render`: load, validate and print the normalized desired objects,
/// as a sync would see them, without touching anything.
struct RenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Validate manifests and print them in canonical form (defaults applied).",
        discussion: """
            Errors are listed as file:line:col: kind/namespace/name: message and make the
            command exit with status 1. Warnings (unknown fields) go to standard error.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case yaml, json
    }

    @Option(name: .long, help: "The repository (for now: a directory on disk).")
    var repo: String = "."

    @Option(name: .long, help: "The git ref to read (needs the git source; ignored for a directory).")
    var ref: String?

    @Option(name: .long, help: "The directory inside the repository that holds the manifests.")
    var path: String?

    @Flag(name: .long, help: "Treat unknown fields as errors.")
    var strict = false

    @Option(name: .long, help: "Namespace for objects that name none.")
    var namespace: String = "default"

    @Option(name: .shortAndLong, help: "Output format: yaml or json.")
    var output: Format = .yaml

    func run() async throws {
        let files = try Self.manifestFiles(repo: repo, ref: ref, path: path)
        let result = await ManifestLoader.loadConcurrently(
            files: files, options: LoadOptions(defaultNamespace: namespace, strict: strict))
        for warning in result.warnings {
            Self.printError("warning: \(Self.line(for: warning))")
        }
        guard result.isValid else {
            for error in result.errors { Self.printError(Self.line(for: error)) }
            Self.printError("\(result.errors.count) error\(result.errors.count == 1 ? "" : "s") in \(files.count) file\(files.count == 1 ? "" : "s")")
            throw ExitCode(1)
        }
        let trees = result.objects.map(\.tree)
        let text: String
        switch output {
        case .yaml:
            text = YAMLWriter.stream(trees)
        case .json:
            text = CanonicalJSON.pretty(.object(["apiVersion": .string("v1"), "kind": .string("List"),
                                                 "items": .array(trees)])) + "\n"
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// The one place the files come from. Today: a directory on disk; when
    /// the git source is wired in, a tree at `ref` read from the object
    /// database goes here and nothing else changes.
    static func manifestFiles(repo: String, ref: String?, path: String?) throws -> [ManifestFile] {
        if ref != nil {
            printError("warning: --ref is ignored: \(repo) is read as a directory on disk")
        }
        var directory = repo
        if let path, !path.isEmpty {
            directory = (repo as NSString).appendingPathComponent(path)
        }
        return try ManifestLoader.files(inDirectory: directory)
    }

    /// `file:line:col: kind/ns/name: message`
    static func line(for error: BerthError) -> String {
        var text = ""
        if let location = error.location { text += "\(location): " }
        if let object = error.object { text += "\(object): " }
        text += error.message
        if let hint = error.hint { text += " (\(hint))" }
        return text
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
