import BerthTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Services helpers

extension E2ECluster {
    /// `berth exec` in a runtime container (by the pod status' `berth://ID`).
    func exec(_ containerID: String, _ command: [String]) throws -> Result {
        let id = containerID.hasPrefix("berth://") ? String(containerID.dropFirst(8)) : containerID
        return try berth(["exec", "--data-dir", dataDir, id, "--"] + command)
    }

    /// `sh -c SCRIPT` in the container; its output, trimmed, or nil when it failed.
    func shell(_ containerID: String, _ script: String) -> String? {
        guard let result = try? exec(containerID, ["sh", "-c", script]), result.status == 0 else { return nil }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The allocations in one of the network's persisted IPAM files (`pods`, `clusterips`, `nodeports`).
    func ipamOwners(_ file: String) -> [String] { ipamAllocations(file).keys.sorted() }

    /// Owner → allocated value (a port, or an IPv4 address as a number) in one IPAM file.
    func ipamAllocations(_ file: String) -> [String: Int] {
        let path = "\(dataDir)/network/\(bridge)-\(file).json"
        guard let data = FileManager.default.contents(atPath: path),
            let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        var result: [String: Int] = [:]
        for a in state["allocations"] as? [[String: Any]] ?? [] {
            if let owner = a["owner"] as? String, let value = a["value"] as? Int { result[owner] = value }
        }
        return result
    }

    /// Interfaces enslaved to this cluster's bridge (the pods' host-side veths).
    var bridgePorts: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif"))?.sorted() ?? []
    }

    /// `nft list table ip NAME`, or "" when the table does not exist.
    func nftTable(_ name: String) -> String {
        (try? Self.run("/usr/sbin/nft", ["list", "table", "ip", name]))?.output ?? ""
    }
}
