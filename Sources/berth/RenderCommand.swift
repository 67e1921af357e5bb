import ArgumentParser
import BerthAPI
import BerthGit
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

    @Option(name: .long, help: """
        The repository: a URL (file://, https://, ssh://), a local git repository \
        (read at --ref from its object database, not its work tree), or a plain directory.
        """)
    var repo: String = "."

    @Option(name: .long, help: "Branch, tag, commit or semver range (e.g. 'main', 'v1.2.0', 'semver:>=1.0.0 <2.0.0'). Default: HEAD.")
    var ref: String?

    @OptionGroup var auth: GitAuthOptions

    @Option(name: .long, help: "The directory inside the repository that holds the manifests.")
    var path: String?

    @Flag(name: .long, help: "Treat unknown fields as errors.")
    var strict = false

    @Option(name: .long, help: "Namespace for objects that name none.")
    var namespace: String = "default"

    @Option(name: .shortAndLong, help: "Output format: yaml or json.")
    var output: Format = .yaml

    func run() async throws {
        let files: [ManifestFile]
        do {
            files = try await Self.manifestFiles(repo: repo, ref: ref, path: path, credentials: auth.credentials())
        } catch let error as BerthError {
            Self.printError("error: \(error)")
            throw ExitCode(2)
        }
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

    /// The one place the files come from: a git tree at `ref` read from the
    /// object database when `repo` is a URL or a git repository, otherwise a
    /// plain directory on disk.
    static func manifestFiles(
        repo: String, ref: String?, path: String?, credentials: GitCredentials
    ) async throws -> [ManifestFile] {
        guard GitRemote.looksLikeRepository(repo) || ref != nil else {
            var directory = repo
            if let path, !path.isEmpty {
                directory = (repo as NSString).appendingPathComponent(path)
            }
            return try ManifestLoader.files(inDirectory: directory)
        }
        // Mirrors live in a throw-away directory: render changes nothing on disk.
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("berth-render-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let git = LibGit2Source(dataDirectory: scratch)
        let checkout = try await git.checkout(
            GitRemote(url: repo, credentials: credentials), ref: GitRef(parsing: ref ?? "HEAD"), subpath: path ?? "")
        printError("rendering \(checkout.ref.name) at \(checkout.commit.id.short): \(checkout.commit.summary)")
        return checkout.files.map { ManifestFile(path: $0.path, data: $0.contents) }
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
