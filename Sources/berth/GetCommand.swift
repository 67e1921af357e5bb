import ArgumentParser
import BerthAPI
import Foundation

/// `berth get KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o wide|json|yaml|name]`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "List objects, or show one, as kubectl get does.")

    @Argument(help: "Kind: pods, deployments (deploy), replicasets (rs), services (svc), endpoints (ep), configmaps (cm), secrets, events (ev), nodes, namespaces (ns).")
    var kind: String

    @Argument(help: "Object name.")
    var name: String?

    @OptionGroup var namespace: NamespaceOptions

    @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector, e.g. app=web,tier!=db.")
    var selector: String?

    @Option(name: [.short, .customLong("output")], help: "wide, json, yaml or name.")
    var output: String?

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let (kind, name) = try splitKind()
        let api = client.client()
        let isEvents = kind == .event
        guard isEvents || kind != nil else { throw ValidationError("unknown resource type \(self.kind)") }
        let resource = kind ?? .event
        let namespaceForPath: String? = namespace.allNamespaces && name == nil ? nil : namespace.effective
        var query: [String: String] = [:]
        if let selector { query["labelSelector"] = selector }

        let result: JSONValue
        if let name {
            if isEvents {
                let list = try await api.get(resource.collectionPath(namespace: namespaceForPath))
                guard let event = list["items"]?.arrayValue?.first(where: { $0.at("metadata", "name")?.stringValue == name }) else {
                    throw BerthError(.notFound, "events \"\(name)\" not found")
                }
                result = event
            } else {
                result = try await api.get(resource.objectPath(namespace: namespace.effective, name: name))
            }
        } else {
            result = try await api.get(resource.collectionPath(namespace: namespaceForPath), query: query)
        }
        print(render(SecretRedaction.redact(result), kind: resource, single: name != nil))
    }

    /// Accepts `get deployment/web` too.
    func splitKind() throws -> (ResourceKind?, String?) {
        if kind.contains("/") {
            let (parsed, objectName) = try parseKindAndName(kind, nil)
            return (parsed, objectName)
        }
        return (ResourceKind(cliName: kind), name)
    }

    func render(_ result: JSONValue, kind: ResourceKind, single: Bool) -> String {
        switch output {
        case "json": return YAMLConversion.json(result)
        case "yaml": return YAMLConversion.yaml(result).trimmingCharacters(in: .newlines)
        case "name":
            let items = single ? [result] : (result["items"]?.arrayValue ?? [])
            return items.map { "\(kind.cliQualifiedName)/\($0.at("metadata", "name")?.stringValue ?? "")" }.joined(separator: "\n")
        default:
            var items = single ? [result] : (result["items"]?.arrayValue ?? [])
            if items.isEmpty {
                return namespace.allNamespaces
                    ? "No resources found"
                    : "No resources found in \(namespace.effective) namespace."
            }
            if kind == .event {
                items.sort { ($0["lastTimestamp"]?.stringValue ?? "") < ($1["lastTimestamp"]?.stringValue ?? "") }
            }
            let withNamespace = namespace.allNamespaces && kind.isNamespaced && !single
            return ResourceTable.table(kind, items: items, wide: output == "wide", withNamespace: withNamespace).render()
        }
    }
}
