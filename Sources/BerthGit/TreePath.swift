import BerthAPI

/// Path arithmetic inside a git tree: normalising a subpath, deciding which
/// files are manifests, resolving symlink targets without leaving the subpath.
public enum TreePath {
    /// `./deploy/prod/` → `deploy/prod`; `""`, `.` and `/` → `""` (the whole repository).
    /// `..` is refused: a subpath always stays inside the repository.
    public static func normalizeSubpath(_ subpath: String) throws(BerthError) -> String {
        var parts: [Substring] = []
        for part in subpath.split(separator: "/") where part != "." {
            if part == ".." {
                throw BerthError(.invalidArgument, "path '\(subpath)' leaves the repository", hint: "give a path relative to the repository root without '..'")
            }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }

    /// Files Berth reads as manifests.
    public static func isManifest(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json")
    }

    /// Whether `path` is `root` or below it (`root` empty: everything).
    public static func isInside(_ path: String, _ root: String) -> Bool {
        root.isEmpty || path == root || path.hasPrefix(root + "/")
    }

    /// Resolves the target of the symlink at `linkPath` (both relative to the repository root).
    /// Throws when the target is absolute, climbs out of the repository, or leaves `subpath`.
    public static func resolveLink(_ linkPath: String, target: String, within subpath: String) throws(BerthError) -> String {
        let where_ = subpath.isEmpty ? "the repository" : "'\(subpath)'"
        func refuse(_ why: String) -> BerthError {
            BerthError(
                .invalidManifest, "symlink \(linkPath) -> \(target) \(why)",
                hint: "symlinks may only point to files inside \(where_); copy the file instead",
                location: SourceLocation(file: linkPath, line: 1))
        }
        if target.hasPrefix("/") { throw refuse("is absolute and leaves \(where_)") }
        var parts = linkPath.split(separator: "/").dropLast().map(String.init)
        for part in target.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                if parts.isEmpty { throw refuse("leaves the repository") }
                parts.removeLast()
            default: parts.append(String(part))
            }
        }
        let resolved = parts.joined(separator: "/")
        guard isInside(resolved, subpath), resolved != subpath else { throw refuse("leaves \(where_)") }
        return resolved
    }
}
