import ArgumentParser
import BerthAPI
import BerthServer
import Foundation

/// Where the kubectl-style commands find `berth serve`: `--server`, else
/// `$BERTH_SERVER`, else http://127.0.0.1:7480; the token from
/// `$BERTH_TOKEN`, else `<data-dir>/token` (`--data-dir`, `$BERTH_DATA_DIR`,
/// /var/lib/berth).
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "Berth API server URL (default: $BERTH_SERVER or http://127.0.0.1:7480).")
    var server: String?

    @Option(name: .long, help: "Data directory holding the API token (default: $BERTH_DATA_DIR or /var/lib/berth).")
    var dataDir: String?

    func client() -> APIClient {
        let environment = ProcessInfo.processInfo.environment
        let server = server ?? environment["BERTH_SERVER"] ?? "http://127.0.0.1:7480"
        let dataDir = dataDir ?? environment["BERTH_DATA_DIR"] ?? DataDirectory.defaultPath
        let token = environment["BERTH_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? APIToken.load(dataDirectory: dataDir)
        return APIClient(server: server, token: token)
    }
}

enum DataDirectory {
    static let defaultPath = "/var/lib/berth"
}

/// `-n NS` / `-A`, as in kubectl.
struct NamespaceOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Namespace (default: \"default\").")
    var namespace: String?

    @Flag(name: [.customShort("A"), .long], help: "All namespaces.")
    var allNamespaces = false

    var effective: String { namespace ?? "default" }
}

/// Parses `deployment/web` or (`deployment`, `web`).
func parseKindAndName(_ first: String, _ second: String?) throws -> (ResourceKind, String) {
    let kindText: String
    let name: String
    if let slash = first.firstIndex(of: "/") {
        kindText = String(first[..<slash])
        name = String(first[first.index(after: slash)...])
    } else if let second {
        kindText = first
        name = second
    } else {
        throw ValidationError("expected KIND NAME or KIND/NAME, got \(first)")
    }
    guard let kind = ResourceKind(cliName: kindText) else {
        throw ValidationError("unknown resource type \(kindText)")
    }
    return (kind, name)
}

extension ResourceKind {
    /// `deployment.apps`, `configmap`: kubectl's name for the kind in messages.
    var cliQualifiedName: String {
        let lower = rawValue.lowercased()
        return apiVersion.contains("/") ? lower + "." + (apiVersion.split(separator: "/").first.map(String.init) ?? "") : lower
    }

    /// `/api/v1/namespaces/ns/pods` or `/apis/apps/v1/...`; cluster-scoped
    /// kinds ignore the namespace; nil namespace is all namespaces.
    func collectionPath(namespace: String?) -> String {
        let base = apiVersion == "v1" ? "/api/v1" : "/apis/\(apiVersion)"
        if isNamespaced, let namespace { return "\(base)/namespaces/\(namespace)/\(plural)" }
        return "\(base)/\(plural)"
    }

    func objectPath(namespace: String, name: String) -> String {
        collectionPath(namespace: namespace) + "/" + name
    }
}
