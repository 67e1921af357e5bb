import BerthAPI

/// A parsed Kubernetes-style resource path:
///
///     /api/v1/{plural}                                   cluster-scoped kinds, or all-namespaces lists
///     /api/v1/{plural}/{name}[/{sub}]                    cluster-scoped objects
///     /api/v1/namespaces/{ns}/{plural}[/{name}[/{sub}]]  namespaced
///     /apis/apps/v1/...                                  the same for apps/v1
///
/// Parsed by hand (behind one catch-all route per prefix) because the forms
/// overlap: `namespaces/default` is an object, `namespaces/default/pods` a
/// collection.
struct APIPath: Equatable {
    var apiVersion: String
    /// The plural as sent (`events` is served from the events table).
    var plural: String
    var namespace: String?
    var name: String?
    var subresource: String?

    var kind: ResourceKind? {
        ResourceKind.allCases.first { $0.plural == plural && $0.apiVersion == apiVersion }
    }

    /// `segments` are the path's segments, without empty ones.
    static func parse(_ segments: [String]) -> APIPath? {
        var rest: ArraySlice<String>
        let apiVersion: String
        if segments.count >= 2, segments[0] == "api", segments[1] == "v1" {
            apiVersion = "v1"
            rest = segments.dropFirst(2)
        } else if segments.count >= 3, segments[0] == "apis" {
            apiVersion = segments[1] + "/" + segments[2]
            rest = segments.dropFirst(3)
        } else {
            return nil
        }
        let parts = Array(rest)
        if parts.count >= 3, parts[0] == "namespaces" {
            guard parts.count <= 5 else { return nil }
            return APIPath(
                apiVersion: apiVersion, plural: parts[2], namespace: parts[1],
                name: parts.count > 3 ? parts[3] : nil, subresource: parts.count > 4 ? parts[4] : nil)
        }
        guard (1...3).contains(parts.count) else { return nil }
        return APIPath(
            apiVersion: apiVersion, plural: parts[0], namespace: nil,
            name: parts.count > 1 ? parts[1] : nil, subresource: parts.count > 2 ? parts[2] : nil)
    }
}
