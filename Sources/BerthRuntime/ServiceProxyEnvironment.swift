import Foundation

/// The Docker-links-style variables Kubernetes gives every container for the
/// Services of its namespace that existed when it started
/// (`REDIS_MASTER_SERVICE_HOST`, `REDIS_MASTER_PORT_6379_TCP_ADDR` …).
public enum ServiceEnvironment {
    public static func variables(for services: [ServiceEntry], namespace: String) -> [String: String] {
        var env: [String: String] = [:]
        for s in services where s.namespace == namespace {
            guard let ip = s.clusterIP, IPv4Address(ip) != nil, let first = s.ports.first else { continue }
            let prefix = s.name.uppercased().replacingOccurrences(of: "-", with: "_")
            env["\(prefix)_SERVICE_HOST"] = ip
            env["\(prefix)_SERVICE_PORT"] = String(first.port)
            env["\(prefix)_PORT"] = "\(first.protocol.lowercased())://\(ip):\(first.port)"
            for p in s.ports {
                let proto = p.protocol.uppercased()
                if !p.name.isEmpty {
                    env["\(prefix)_SERVICE_PORT_\(p.name.uppercased().replacingOccurrences(of: "-", with: "_"))"] = String(p.port)
                }
                let base = "\(prefix)_PORT_\(p.port)_\(proto)"
                env[base] = "\(proto.lowercased())://\(ip):\(p.port)"
                env[base + "_PROTO"] = proto.lowercased()
                env[base + "_PORT"] = String(p.port)
                env[base + "_ADDR"] = ip
            }
        }
        return env
    }
}
