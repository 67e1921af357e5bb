import BerthRuntime
import Foundation

/// Environment overrides for the node's pod network, so that end-to-end tests
/// (and a second Berth on the same machine) never collide with a running one:
/// `BERTH_BRIDGE`, `BERTH_POD_CIDR`, `BERTH_SERVICE_CIDR`, `BERTH_NFT_PREFIX`.
enum NetworkEnvironment {
    static func config(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> NetworkConfig
    {
        var config = NetworkConfig.standard(dataDir: dataDirectory)
        if let bridge = environment["BERTH_BRIDGE"], !bridge.isEmpty { config.bridgeName = bridge }
        if let cidr = environment["BERTH_POD_CIDR"], !cidr.isEmpty { config.podCIDR = try IPv4CIDR(cidr) }
        if let cidr = environment["BERTH_SERVICE_CIDR"], !cidr.isEmpty { config.serviceCIDR = try IPv4CIDR(cidr) }
        if let prefix = environment["BERTH_NFT_PREFIX"], !prefix.isEmpty { config.tablePrefix = prefix }
        return config
    }
}
