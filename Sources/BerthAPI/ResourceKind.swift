/// The kinds Berth knows, with what the API and the CLI need to know of each:
/// group/version, whether it lives in a namespace, its plural for URLs
/// (`/apis/apps/v1/namespaces/{ns}/deployments`) and its apply order.
public enum ResourceKind: String, Sendable, CaseIterable, Codable {
    case namespace = "Namespace"
    case configMap = "ConfigMap"
    case secret = "Secret"
    case service = "Service"
    case pod = "Pod"
    case deployment = "Deployment"
    case replicaSet = "ReplicaSet"
    case endpoints = "Endpoints"
    case event = "Event"
    case node = "Node"

    public var apiVersion: String {
        switch self {
        case .deployment, .replicaSet: return "apps/v1"
        default: return "v1"
        }
    }

    public var isNamespaced: Bool {
        switch self {
        case .namespace, .node: return false
        default: return true
        }
    }

    public var plural: String {
        switch self {
        case .endpoints: return "endpoints"
        default: return rawValue.lowercased() + "s"
        }
    }

    /// Kinds that manifests in git may hold. The others are created by
    /// controllers (ReplicaSet, Endpoints, Event) or by the node (Node).
    public static let manifestKinds: [ResourceKind] = [.namespace, .configMap, .secret, .service, .pod, .deployment]

    /// Apply order: what others refer to comes first. Deletes run in reverse.
    public var applyOrder: Int {
        switch self {
        case .namespace: return 0
        case .configMap: return 1
        case .secret: return 2
        case .service: return 3
        case .endpoints: return 4
        case .pod, .deployment, .replicaSet: return 5
        case .event, .node: return 6
        }
    }

    public init?(apiVersion: String, kind: String) {
        guard let value = ResourceKind(rawValue: kind), value.apiVersion == apiVersion else { return nil }
        self = value
    }

    /// Accepts what kubectl accepts: `pods`, `pod`, `po`, `deploy`, `svc` …
    public init?(cliName: String) {
        let name = cliName.lowercased()
        let aliases: [String: ResourceKind] = [
            "ns": .namespace, "cm": .configMap, "svc": .service, "po": .pod,
            "deploy": .deployment, "rs": .replicaSet, "ep": .endpoints, "ev": .event, "no": .node,
        ]
        if let kind = aliases[name] {
            self = kind
            return
        }
        guard let kind = ResourceKind.allCases.first(where: {
            $0.rawValue.lowercased() == name || $0.plural == name
        }) else { return nil }
        self = kind
    }
}
