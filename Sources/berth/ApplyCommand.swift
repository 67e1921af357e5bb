import ArgumentParser
import BerthAPI
import Foundation

/// `berth apply -f FILE|DIR`: create-or-update every object in the YAML.
///
/// Objects are applied in dependency order (Namespaces, ConfigMaps, Secrets,
/// Services, then workloads). An existing object is replaced (spec and
/// metadata; the server keeps status and server-set fields), and reported
/// `unchanged` when the server found nothing to change.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Create or update objects from YAML files.")

    @Option(name: [.short, .customLong("filename")], help: "A YAML/JSON file or a directory of them.")
    var files: [String]

    @Flag(name: [.customShort("R"), .long], help: "Descend into subdirectories.")
    var recursive = false

    @OptionGroup var namespace: NamespaceOptions

    @OptionGroup var client: ClientOptions

    func run() async throws {
        var objects: [(file: String, tree: JSONValue)] = []
        for path in files {
            for file in try manifestFiles(path) {
                let text: String
                if file == "-" {
                    text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                } else {
                    guard let contents = FileManager.default.contents(atPath: file) else {
                        throw BerthError(.invalidArgument, "cannot read \(file)", hint: "check the path")
                    }
                    text = String(decoding: contents, as: UTF8.self)
                }
                objects += try YAMLConversion.documents(text, file: file).map { (file, $0) }
            }
        }
        let order: (JSONValue) -> Int = { tree in
            ResourceKind(apiVersion: tree["apiVersion"]?.stringValue ?? "", kind: tree["kind"]?.stringValue ?? "")?.applyOrder ?? 99
        }
        objects = objects.enumerated().sorted { a, b in
            (order(a.element.tree), a.offset) < (order(b.element.tree), b.offset)
        }.map(\.element)

        let api = client.client()
        var failures = 0
        for (file, tree) in objects {
            do {
                print(try await apply(tree, api: api))
            } catch let error as BerthError where error.code == .unavailable || error.code == .unauthorized {
                throw error
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("error: \(file): \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    func apply(_ tree: JSONValue, api: APIClient) async throws -> String {
        let apiVersion = tree["apiVersion"]?.stringValue ?? ""
        let kindName = tree["kind"]?.stringValue ?? ""
        guard let kind = ResourceKind(apiVersion: apiVersion, kind: kindName) else {
            throw BerthError(.unsupportedKind, "unsupported kind \(apiVersion) \(kindName)")
        }
        guard let name = tree["metadata"]?["name"]?.stringValue, !name.isEmpty else {
            throw BerthError(.invalidManifest, "\(kindName) without metadata.name")
        }
        var tree = tree
        let objectNamespace = tree["metadata"]?["namespace"]?.stringValue ?? namespace.effective
        if kind.isNamespaced { tree["metadata"]?["namespace"] = .string(objectNamespace) }
        tree["metadata"]?["resourceVersion"] = nil
        let label = "\(kind.cliQualifiedName)/\(name)"
        let path = kind.objectPath(namespace: objectNamespace, name: name)
        guard let current = try await api.getIfExists(path) else {
            _ = try await api.send("POST", kind.collectionPath(namespace: objectNamespace), body: tree)
            return "\(label) created"
        }
        let updated = try await api.send("PUT", path, body: tree)
        let before = current["metadata"]?["resourceVersion"]
        return updated["metadata"]?["resourceVersion"] == before ? "\(label) unchanged" : "\(label) configured"
    }

    func manifestFiles(_ path: String) throws -> [String] {
        if path == "-" { return ["-"] }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw BerthError(.invalidArgument, "\(path) does not exist")
        }
        guard isDirectory.boolValue else { return [path] }
        let entries = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        var files: [String] = []
        for entry in entries where !entry.hasPrefix(".") {
            let full = (path as NSString).appendingPathComponent(entry)
            var entryIsDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: full, isDirectory: &entryIsDirectory)
            if entryIsDirectory.boolValue {
                if recursive { files += try manifestFiles(full) }
            } else if [".yaml", ".yml", ".json"].contains(where: { entry.hasSuffix($0) }) {
                files.append(full)
            }
        }
        return files
    }
}
