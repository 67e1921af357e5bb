import BerthAPI
import Foundation

/// The columns `berth get` prints for each kind, as kubectl does.
enum ResourceTable {
    static func table(_ kind: ResourceKind?, items: [JSONValue], wide: Bool, withNamespace: Bool) -> Table {
        let (headers, wideHeaders) = columns(kind)
        var table = Table(headers: (withNamespace ? ["NAMESPACE"] : []) + headers + (wide ? wideHeaders : []))
        for item in items {
            let (cells, wideCells) = row(kind, item)
            table.rows.append(
                (withNamespace ? [item.at("metadata", "namespace")?.stringValue ?? ""] : []) + cells + (wide ? wideCells : []))
        }
        return table
    }

    static func columns(_ kind: ResourceKind?) -> ([String], [String]) {
        switch kind {
        case .pod: return (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["IP", "NODE"])
        case .deployment: return (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"])
        case .replicaSet: return (["NAME", "DESIRED", "CURRENT", "READY", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"])
        case .service: return (["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], ["SELECTOR"])
        case .endpoints: return (["NAME", "ENDPOINTS", "AGE"], [])
        case .configMap: return (["NAME", "DATA", "AGE"], [])
        case .secret: return (["NAME", "TYPE", "DATA", "AGE"], [])
        case .namespace: return (["NAME", "STATUS", "AGE"], [])
        case .node: return (["NAME", "STATUS", "ROLES", "AGE", "VERSION"], ["INTERNAL-IP"])
        case .event, nil: return (["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], ["COUNT"])
        }
    }

    static func row(_ kind: ResourceKind?, _ item: JSONValue) -> ([String], [String]) {
        let name = item.at("metadata", "name")?.stringValue ?? ""
        let age = Age.since(item.at("metadata", "creationTimestamp")?.stringValue)
        let spec = item["spec"] ?? [:]
        let status = item["status"] ?? [:]
        func int(_ value: JSONValue?) -> Int { value?.intValue ?? 0 }
        switch kind {
        case .pod:
            let containers = spec["containers"]?.arrayValue ?? []
            let statuses = status["containerStatuses"]?.arrayValue ?? []
            let ready = statuses.filter { $0["ready"] == .bool(true) }.count
            let restarts = statuses.reduce(0) { $0 + int($1["restartCount"]) }
            return (
                [name, "\(ready)/\(containers.count)", podStatus(item), String(restarts), age],
                [status["podIP"]?.stringValue ?? "<none>", spec["nodeName"]?.stringValue ?? "<none>"]
            )
        case .deployment:
            let desired = spec["replicas"]?.intValue ?? 1
            return (
                [name, "\(int(status["readyReplicas"]))/\(desired)", String(int(status["updatedReplicas"])),
                 String(int(status["availableReplicas"])), age],
                templateColumns(spec)
            )
        case .replicaSet:
            return (
                [name, String(spec["replicas"]?.intValue ?? 1), String(int(status["replicas"])),
                 String(int(status["readyReplicas"])), age],
                templateColumns(spec)
            )
        case .service:
            let ports = (spec["ports"]?.arrayValue ?? []).map { port -> String in
                let number = port["port"]?.displayString ?? "?"
                let node = port["nodePort"]?.intValue.map { ":\($0)" } ?? ""
                return "\(number)\(node)/\(port["protocol"]?.stringValue ?? "TCP")"
            }
            let selector = (spec["selector"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value.displayString)" }.joined(separator: ",")
            return (
                [name, spec["type"]?.stringValue ?? "ClusterIP", spec["clusterIP"]?.stringValue ?? "<none>", "<none>",
                 ports.isEmpty ? "<none>" : ports.joined(separator: ","), age],
                [selector.isEmpty ? "<none>" : selector]
            )
        case .endpoints:
            var endpoints: [String] = []
            for subset in item["subsets"]?.arrayValue ?? [] {
                let ports = (subset["ports"]?.arrayValue ?? []).compactMap { $0["port"]?.intValue }
                for address in subset["addresses"]?.arrayValue ?? [] {
                    let ip = address["ip"]?.stringValue ?? "?"
                    endpoints += ports.isEmpty ? [ip] : ports.map { "\(ip):\($0)" }
                }
            }
            let shown = endpoints.prefix(3).joined(separator: ",") + (endpoints.count > 3 ? " + \(endpoints.count - 3) more..." : "")
            return ([name, endpoints.isEmpty ? "<none>" : shown, age], [])
        case .configMap:
            let count = (item["data"]?.objectValue?.count ?? 0) + (item["binaryData"]?.objectValue?.count ?? 0)
            return ([name, String(count), age], [])
        case .secret:
            return ([name, item["type"]?.stringValue ?? "Opaque", String(item["data"]?.objectValue?.count ?? 0), age], [])
        case .namespace:
            let phase = item.at("metadata", "deletionTimestamp") != nil ? "Terminating" : (status["phase"]?.stringValue ?? "Active")
            return ([name, phase, age], [])
        case .node:
            let ready = (status["conditions"]?.arrayValue ?? []).first { $0["type"] == "Ready" }
            let state = ready.map { $0["status"] == "True" ? "Ready" : "NotReady" } ?? "Unknown"
            let address = (status["addresses"]?.arrayValue ?? []).first { $0["type"] == "InternalIP" }?["address"]?.stringValue
            return (
                [name, state, "<none>", age, status.at("nodeInfo", "kubeletVersion")?.stringValue ?? "berth"],
                [address ?? "<none>"]
            )
        case .event, nil:
            let involved = item["involvedObject"] ?? [:]
            let object = "\((involved["kind"]?.stringValue ?? "").lowercased())/\(involved["name"]?.stringValue ?? "")"
            return (
                [Age.since(item["lastTimestamp"]?.stringValue), item["type"]?.stringValue ?? "", item["reason"]?.stringValue ?? "",
                 object, item["message"]?.stringValue ?? ""],
                [String(int(item["count"]))]
            )
        }
    }

    /// kubectl's pod STATUS: Terminating, a waiting/terminated container's
    /// reason (CrashLoopBackOff, ErrImagePull …), the pod's reason, or its phase.
    static func podStatus(_ pod: JSONValue) -> String {
        if pod.at("metadata", "deletionTimestamp") != nil { return "Terminating" }
        let status = pod["status"] ?? [:]
        for container in status["containerStatuses"]?.arrayValue ?? [] {
            if let reason = container.at("state", "waiting", "reason")?.stringValue, !reason.isEmpty { return reason }
            if let reason = container.at("state", "terminated", "reason")?.stringValue, !reason.isEmpty,
                status["phase"]?.stringValue == "Running"
            { return reason }
        }
        return status["reason"]?.stringValue ?? status["phase"]?.stringValue ?? "Pending"
    }

    static func templateColumns(_ spec: JSONValue) -> [String] {
        let containers = spec.at("template", "spec", "containers")?.arrayValue ?? []
        let selector = (spec.at("selector", "matchLabels")?.objectValue ?? [:]).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.displayString)" }.joined(separator: ",")
        return [
            containers.compactMap { $0["name"]?.stringValue }.joined(separator: ","),
            containers.compactMap { $0["image"]?.stringValue }.joined(separator: ","),
            selector,
        ]
    }
}
