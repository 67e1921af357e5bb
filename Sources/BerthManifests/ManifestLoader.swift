import BerthAPI
import Foundation
import Yams

/// Loads manifest files into validated, canonical objects.
///
/// Pure: it is given bytes and returns values, so the same code serves a
/// git tree at a commit, a directory on disk and tests. Every problem is
/// collected (not only the first), each with file:line:column and the
/// object it belongs to, because a sync that fails should be fixable in one
/// round, not one error at a time.
public enum ManifestLoader {
    /// The kinds manifests may hold, for messages.
    public static let supportedKinds: String = ResourceKind.manifestKinds
        .map { "\($0.apiVersion) \($0.rawValue)" }.joined(separator: ", ")

    /// Loads `files` one after the other.
    public static func load(files: [ManifestFile], options: LoadOptions = LoadOptions()) -> LoadResult {
        combine(files.map { loadFile($0, options: options) }, options: options)
    }

    /// Loads `files` in parallel, one task per file; the result is the same
    /// as `load(files:options:)`, in the same order.
    public static func loadConcurrently(files: [ManifestFile], options: LoadOptions = LoadOptions()) async -> LoadResult {
        let results = await withTaskGroup(of: (Int, FileResult).self) { group in
            for (index, file) in files.enumerated() {
                group.addTask { (index, loadFile(file, options: options)) }
            }
            var results = [FileResult?](repeating: nil, count: files.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
        return combine(results, options: options)
    }

    // MARK: - Directory

    /// Reads every `.yaml`, `.yml` and `.json` file below `directory`
    /// (hidden files and directories such as `.git` skipped), sorted by
    /// path, with paths relative to `directory`. The only I/O of this module.
    public static func files(inDirectory directory: String) throws -> [ManifestFile] {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BerthError(.notFound, "\(directory) is not a directory", hint: "give the directory that holds the manifests")
        }
        guard let enumerator = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]
        ) else {
            throw BerthError(.notFound, "cannot read \(directory)")
        }
        var paths: [String] = []
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in enumerator {
            guard ManifestFile.isManifestPath(url.lastPathComponent),
                  (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = url.standardizedFileURL.path
            paths.append(path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path)
        }
        return try paths.sorted().map { path in
            do {
                return ManifestFile(path: path, data: try Data(contentsOf: root.appendingPathComponent(path)))
            } catch {
                throw BerthError(.notFound, "cannot read \(path)", cause: error)
            }
        }
    }

    // MARK: - One file

    struct FileResult: Sendable {
        var objects: [ManifestObject] = []
        var warnings: [BerthError] = []
        var errors: [BerthError] = []
    }

    static func loadFile(_ file: ManifestFile, options: LoadOptions) -> FileResult {
        var result = FileResult()
        var checker = Checker()
        let documents: [YAMLDocumentReader.Document]
        do {
            documents = try YAMLDocumentReader.documents(in: file.data)
        } catch {
            guard case .yaml(let message, let line, let column) = error else { return result }
            result.errors.append(BerthError(.invalidManifest, message,
                                            location: SourceLocation(file: file.path, line: line, column: column)))
            return result
        }
        for document in documents {
            let location = location(file.path, document.root.mark)
            guard case .object(let fields) = document.value else {
                result.errors.append(BerthError(.invalidManifest,
                    "a manifest document must be a mapping with apiVersion and kind, not \(SchemaWalker.typeName(document.value))",
                    location: location))
                continue
            }
            let kind = fields["kind"]?.stringValue ?? ""
            if kind.hasSuffix("List"), let items = fields["items"]?.arrayValue {
                // `kind: List` (and DeploymentList …) as `kubectl get -o yaml` writes it.
                for (index, item) in items.enumerated() {
                    let path = FieldPath([.key("items"), .index(index)])
                    let itemNode = nodeAt(document.root, path) ?? document.root
                    loadObject(item, root: itemNode, file: file.path, options: options, checker: &checker, into: &result)
                }
                continue
            }
            loadObject(document.value, root: document.root, file: file.path, options: options, checker: &checker, into: &result)
        }
        return result
    }

    private static func nodeAt(_ root: YAMLNode, _ path: FieldPath) -> YAMLNode? {
        var node = root
        for component in path.components {
            switch component {
            case .key(let key): guard let next = node.mapping?[key] else { return nil }; node = next
            case .index(let index):
                guard let sequence = node.sequence, index < sequence.count else { return nil }
                node = sequence[index]
            }
        }
        return node
    }

    private static func location(_ file: String, _ mark: Mark?) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    // MARK: - One object

    /// The schema walker and validator of one file, kept across its objects
    /// for their caches.
    struct Checker {
        var walker = SchemaWalker(mode: .strict)
        var validator = Validator()
    }

    private static func loadObject(
        _ value: JSONValue, root: YAMLNode, file: String, options: LoadOptions, checker: inout Checker,
        into result: inout FileResult
    ) {
        let objectLocation = location(file, root.mark)
        guard case .object(let fields) = value else {
            result.errors.append(BerthError(.invalidManifest,
                "a list item must be a mapping with apiVersion and kind, not \(SchemaWalker.typeName(value))",
                location: objectLocation))
            return
        }
        let apiVersion = fields["apiVersion"]?.stringValue ?? ""
        let kindName = fields["kind"]?.stringValue ?? ""
        let name = fields["metadata"]?["name"]?.stringValue ?? ""
        let namespace = fields["metadata"]?["namespace"]?.stringValue ?? ""
        guard !apiVersion.isEmpty, !kindName.isEmpty else {
            let missing = [apiVersion.isEmpty ? "apiVersion" : nil, kindName.isEmpty ? "kind" : nil].compactMap { $0 }
            result.errors.append(BerthError(.invalidManifest,
                "\(missing.joined(separator: " and ")) must be set",
                hint: "every object needs apiVersion and kind, e.g. apiVersion: apps/v1 and kind: Deployment",
                location: objectLocation, object: describe(kind: kindName, namespace: namespace, name: name, options: options)))
            return
        }
        guard let kind = ResourceKind(apiVersion: apiVersion, kind: kindName),
              ResourceKind.manifestKinds.contains(kind) else {
            result.errors.append(BerthError(.unsupportedKind,
                "unsupported kind \"\(kindName)\" of apiVersion \"\(apiVersion)\"; Berth supports \(supportedKinds)",
                location: objectLocation, object: describe(kind: kindName, namespace: namespace, name: name, options: options)))
            return
        }
        let effectiveNamespace = kind.isNamespaced ? (namespace.isEmpty ? options.defaultNamespace : namespace) : ""
        let objectName = ObjectKey(apiVersion: apiVersion, kind: kindName, namespace: effectiveNamespace,
                                   name: name.isEmpty ? "(no name)" : name).description

        // Types, unknown fields and canonical values, then semantic checks.
        var tree = checker.walker.walk(ObjectNormalizer.stripped(value), Schemas.schema(for: kind)) ?? .object([:])
        if let object = tree.objectValue { checker.validator.validate(object, kind: kind) }

        var issues = checker.walker.takeIssues() + checker.validator.takeIssues()
        issues.sort { lhs, rhs in
            let left = YAMLDocumentReader.mark(in: root, at: lhs.path, key: lhs.atKey)
            let right = YAMLDocumentReader.mark(in: root, at: rhs.path, key: rhs.atKey)
            return (left?.line ?? 0, left?.column ?? 0, lhs.text) < (right?.line ?? 0, right?.column ?? 0, rhs.text)
        }
        var hasErrors = false
        for issue in issues {
            let mark = YAMLDocumentReader.mark(in: root, at: issue.path, key: issue.atKey)
            let error = BerthError(.invalidManifest, issue.text, hint: issue.hint,
                                   location: location(file, mark), object: objectName)
            if issue.severity == .error || options.strict {
                result.errors.append(error)
                hasErrors = true
            } else {
                result.warnings.append(error)
            }
        }
        guard !hasErrors else { return }

        ObjectNormalizer.finish(&tree, kind: kind, defaultNamespace: options.defaultNamespace)
        if let source = options.sourceName {
            addSourceLabel(&tree, source: source)
        }
        let key = ObjectKey(apiVersion: apiVersion, kind: kindName, namespace: effectiveNamespace, name: name)
        result.objects.append(ManifestObject(key: key, kind: kind, tree: tree, location: objectLocation,
                                             hash: ObjectNormalizer.contentHash(tree)))
    }

    /// `kind/namespace/name` as far as it is known, for objects that could
    /// not be loaded (unknown kinds show the namespace only when it is set).
    private static func describe(kind: String, namespace: String, name: String, options: LoadOptions) -> String? {
        let kindName = kind.isEmpty ? "(no kind)" : kind
        let objectName = name.isEmpty ? "(no name)" : name
        if kind.isEmpty && name.isEmpty { return nil }
        let known = ResourceKind(rawValue: kind)
        let scope = namespace.isEmpty ? (known?.isNamespaced == true ? options.defaultNamespace : "") : namespace
        return ObjectKey(apiVersion: "", kind: kindName, namespace: scope, name: objectName).description
    }

    /// Adds `berth.dev/source: <source>` to the object's labels.
    public static func addSourceLabel(_ tree: inout JSONValue, source: String) {
        guard case .object(var object) = tree else { return }
        var metadata = object["metadata"]?.objectValue ?? [:]
        var labels = metadata["labels"]?.objectValue ?? [:]
        labels[WellKnown.sourceLabel] = .string(source)
        metadata["labels"] = .object(labels)
        object["metadata"] = .object(metadata)
        tree = .object(object)
    }

    // MARK: - Across files

    private static func combine(_ results: [FileResult], options: LoadOptions) -> LoadResult {
        var combined = LoadResult()
        var seen: [ObjectKey: SourceLocation] = [:]
        for result in results {
            combined.warnings += result.warnings
            combined.errors += result.errors
            for object in result.objects {
                if let first = seen[object.key] {
                    combined.errors.append(BerthError(.duplicateObject,
                        "\(object.key) is defined twice: at \(first) and at \(object.location)",
                        hint: "keep one of the two; objects are identified by kind, namespace and name",
                        location: object.location, object: object.key.description))
                    continue
                }
                seen[object.key] = object.location
                combined.objects.append(object)
            }
        }
        return combined
    }
}
