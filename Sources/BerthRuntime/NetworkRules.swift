/// The pod network's nftables table, rendered from scratch each time.
enum NetworkRules {
    static func render(config: NetworkConfig, hostPorts: [(PortMapEntry, IPv4Address)]) -> String {
        let br = "\"\(config.bridgeName)\""
        let pods = config.podCIDR.description
        var s = ""
        // Pods talk to each other and to the node; nothing they send is forwarded
        // off the bridge unless masquerading is configured.
        s += "  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
        s += "    iifname \(br) oifname \(br) accept\n"
        if !config.masquerade { s += "    iifname \(br) drop\n" }
        s += "  }\n"
        // ICMP redirects would teach a pod to send ClusterIP traffic straight to a backend's MAC,
        // bypassing the DNAT; never send them onto the bridge.
        s += "  chain output-filter {\n    type filter hook output priority 0; policy accept;\n"
        s += "    oifname \(br) icmp type redirect drop\n  }\n"
        s += "  chain postrouting {\n    type nat hook postrouting priority 100; policy accept;\n"
        // 127.0.0.1 DNATed to a pod (hostPort, NodePort): the pod must answer the bridge, not its own loopback.
        s += "    oifname \(br) ip saddr 127.0.0.0/8 masquerade\n"
        // Pod → Service → pod on the same bridge (hairpin included): without this the reply would go
        // straight over the bridge and never be un-DNATed.
        s += "    oifname \(br) ip saddr \(pods) ct status dnat masquerade\n"
        if config.masquerade { s += "    ip saddr \(pods) oifname != \(br) masquerade\n" }
        s += "  }\n"
        s += "  chain hostports {\n"
        for (e, ip) in hostPorts {
            let match = e.hostIP == "0.0.0.0" ? "fib daddr type local" : "ip daddr \(e.hostIP)"
            s += "    \(match) \(e.proto) dport \(e.hostPort) dnat to \(ip):\(e.containerPort)\n"
        }
        s += "  }\n"
        s += "  chain prerouting {\n    type nat hook prerouting priority -100; policy accept;\n    jump hostports\n  }\n"
        s += "  chain output {\n    type nat hook output priority -100; policy accept;\n    jump hostports\n  }\n"
        return s
    }
}
