/// One port of a Service, with the target port already resolved to a number
/// (resolving named ports against pod specs is the orchestrator's job).
public struct ServicePortSpec: Sendable, Hashable, Codable {
    public var name: String
    /// "TCP" or "UDP".
    public var `protocol`: String
    public var port: Int
    public var targetPort: Int
    /// Set for NodePort Services (allocate it with `ServiceProxy.allocateNodePort`).
    public var nodePort: Int?

    public init(name: String = "", protocol: String = "TCP", port: Int, targetPort: Int, nodePort: Int? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }
}

/// A backend pod address. Only ready endpoints receive new connections.
public struct ServiceEndpoint: Sendable, Hashable, Codable {
    public var ip: String
    public var ready: Bool

    public init(ip: String, ready: Bool = true) {
        self.ip = ip
        self.ready = ready
    }
}

/// Everything the dataplane and the cluster DNS need to know about one Service.
public struct ServiceEntry: Sendable, Hashable, Codable {
    public var namespace: String
    public var name: String
    /// nil for headless Services (no virtual IP, no DNAT).
    public var clusterIP: String?
    public var ports: [ServicePortSpec]
    public var endpoints: [ServiceEndpoint]

    public init(namespace: String, name: String, clusterIP: String?, ports: [ServicePortSpec], endpoints: [ServiceEndpoint] = []) {
        self.namespace = namespace
        self.name = name
        self.clusterIP = clusterIP
        self.ports = ports
        self.endpoints = endpoints
    }
}
