/// Renders the Services table the way kube-proxy's nftables mode lays it out:
/// a dispatch chain per service port with a `numgen random mod N` verdict map
/// over one chain per endpoint.
enum ServiceProxyRules {
    static func render(_ entries: [ServiceEntry]) -> String {
        var dispatch = ""
        var chains = ""
        var rejects = ""
        for (si, svc) in entries.enumerated() {
            guard let ip = svc.clusterIP, IPv4Address(ip) != nil else { continue }
            let ready = svc.endpoints.filter(\.ready).map(\.ip).filter { IPv4Address($0) != nil }
            for (pi, port) in svc.ports.enumerated() {
                let proto = port.protocol.lowercased() == "udp" ? "udp" : "tcp"
                let chain = "svc-\(si)-\(pi)"
                let comment = "comment \"\(svc.namespace)/\(svc.name):\(port.name.isEmpty ? String(port.port) : port.name)\""
                if ready.isEmpty {
                    // No endpoint: refuse at once (as kube-proxy does) instead of letting clients time out.
                    rejects += "    ip daddr \(ip) \(proto) dport \(port.port) reject \(comment)\n"
                    if let np = port.nodePort {
                        rejects += "    fib daddr type local \(proto) dport \(np) reject \(comment)\n"
                    }
                    continue
                }
                dispatch += "    ip daddr \(ip) \(proto) dport \(port.port) jump \(chain) \(comment)\n"
                if let np = port.nodePort {
                    dispatch += "    fib daddr type local \(proto) dport \(np) jump \(chain) \(comment)\n"
                }
                var vmap: [String] = []
                for (ei, ep) in ready.enumerated() {
                    let epChain = "\(chain)-ep-\(ei)"
                    chains += "  chain \(epChain) {\n    meta l4proto \(proto) dnat to \(ep):\(port.targetPort)\n  }\n"
                    vmap.append("\(ei) : jump \(epChain)")
                }
                chains += "  chain \(chain) {\n    numgen random mod \(ready.count) vmap { \(vmap.joined(separator: ", ")) }\n  }\n"
            }
        }
        var s = chains
        s += "  chain services {\n\(dispatch)  }\n"
        s += "  chain prerouting {\n    type nat hook prerouting priority -100; policy accept;\n    jump services\n  }\n"
        s += "  chain output {\n    type nat hook output priority -100; policy accept;\n    jump services\n  }\n"
        s += "  chain no-endpoints {\n\(rejects)  }\n"
        s += "  chain filter-output {\n    type filter hook output priority 0; policy accept;\n    jump no-endpoints\n  }\n"
        s += "  chain filter-forward {\n    type filter hook forward priority 0; policy accept;\n    jump no-endpoints\n  }\n"
        s += "  chain filter-input {\n    type filter hook input priority 0; policy accept;\n    jump no-endpoints\n  }\n"
        return s
    }
}
