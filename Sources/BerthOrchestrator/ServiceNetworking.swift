import BerthRuntime

/// What the Service controller needs from the node's Services dataplane:
/// ClusterIP/NodePort allocation (persisted, so a restart keeps them) and the
/// table of Services with their endpoints. A protocol so the controller runs
/// in unit tests without nftables; `ServiceProxyNetworking` is the real one.
public protocol ServiceNetworking: Sendable {
    func allocateClusterIP(namespace: String, name: String, requested: String?) async throws -> String
    func allocateNodePort(namespace: String, name: String, port: String, requested: Int?) async throws -> Int
    func releaseService(namespace: String, name: String) async throws
    /// Releases the Service's NodePorts except those of the port keys in `keeping`.
    func releaseNodePorts(namespace: String, name: String, keeping: Set<String>) async throws
    /// Which Service (`namespace/name`) holds each allocated NodePort; the
    /// API's admission check names the holder when an apply asks for its port.
    func nodePortHolders() async throws -> [Int: String]
    /// Replaces the whole dataplane (proxy rules and cluster DNS names).
    func setServices(_ entries: [ServiceEntry]) async throws
}

extension ServiceNetworking {
    public func releaseNodePorts(namespace: String, name: String, keeping: Set<String>) async throws {}
    public func nodePortHolders() async throws -> [Int: String] { [:] }
}

/// The real dataplane: nftables rules through `ServiceProxy` and names in
/// the cluster `DNSServer` (optional: tests of the proxy alone pass none).
public struct ServiceProxyNetworking: ServiceNetworking {
    public let proxy: ServiceProxy
    public let dns: DNSServer?

    public init(proxy: ServiceProxy, dns: DNSServer?) {
        self.proxy = proxy
        self.dns = dns
    }

    public func allocateClusterIP(namespace: String, name: String, requested: String?) async throws -> String {
        try await proxy.allocateClusterIP(namespace: namespace, name: name, requested: requested)
    }

    public func allocateNodePort(namespace: String, name: String, port: String, requested: Int?) async throws -> Int {
        try await proxy.allocateNodePort(namespace: namespace, name: name, port: port, requested: requested)
    }

    public func releaseService(namespace: String, name: String) async throws {
        try await proxy.releaseService(namespace: namespace, name: name)
    }

    public func releaseNodePorts(namespace: String, name: String, keeping: Set<String>) async throws {
        try await proxy.releaseNodePorts(namespace: namespace, name: name, keeping: keeping)
    }

    public func nodePortHolders() async throws -> [Int: String] {
        try await proxy.nodePortHolders()
    }

    public func setServices(_ entries: [ServiceEntry]) async throws {
        try await proxy.setServices(entries)
        await dns?.setServices(entries)
    }
}
