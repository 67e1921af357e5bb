import ArgumentParser
import BerthAPI
import Foundation

/// `berth describe KIND NAME`: a readable summary plus the object's Events.
/// Secret values are never shown, only key names and byte counts.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Show an object in detail, with its events.")

    @Argument(help: "KIND NAME or KIND/NAME.")
    var target: String

    @Argument(help: "Name, when KIND is given separately.")
    var name: String?

    @OptionGroup var namespace: NamespaceOptions

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let (kind, name) = try parseKindAndName(target, self.name)
        let api = client.client()
        let object = try await api.get(kind.objectPath(namespace: namespace.effective, name: name))
        var events: [JSONValue] = []
        if kind != .event {
            let eventNamespace = kind.isNamespaced ? namespace.effective : "default"
            let list = try await api.get(
                ResourceKind.event.collectionPath(namespace: eventNamespace),
                query: ["fieldSelector": "involvedObject.kind=\(kind.rawValue),involvedObject.name=\(name)"])
            events = list["items"]?.arrayValue ?? []
        }
        var extra: [String: JSONValue] = [:]
        if kind == .service, let endpoints = try await api.getIfExists(ResourceKind.endpoints.objectPath(namespace: namespace.effective, name: name)) {
            extra["endpoints"] = endpoints
        }
        print(Describer.describe(kind, object, events: events, extra: extra))
    }
}

/// Renders `describe` output. Pure, so that it can be unit-tested.
enum Describer {
    static func describe(_ kind: ResourceKind, _ object: JSONValue, events: [JSONValue], extra: [String: JSONValue] = [:]) -> String {
        var out = Lines()
        let meta = object["metadata"] ?? [:]
        out.field("Name", meta["name"]?.displayString ?? "")
        if kind.isNamespaced { out.field("Namespace", meta["namespace"]?.displayString ?? "default") }
        out.field("Labels", pairs(meta["labels"]))
        out.field("Annotations", pairs(meta["annotations"]))
        out.field("CreationTimestamp", meta["creationTimestamp"]?.displayString ?? "<unknown>")
        if let deletion = meta["deletionTimestamp"]?.stringValue { out.field("DeletionTimestamp", deletion) }
        if let owner = meta["ownerReferences"]?.arrayValue?.first(where: { $0["controller"] == .bool(true) }) {
            out.field("Controlled By", "\(owner["kind"]?.displayString ?? "")/\(owner["name"]?.displayString ?? "")")
        }
        let spec = object["spec"] ?? [:]
        let status = object["status"] ?? [:]
        switch kind {
        case .deployment:
            out.field("Selector", pairs(spec.at("selector", "matchLabels")))
            let desired = spec["replicas"]?.intValue ?? 1
            out.field(
                "Replicas",
                "\(desired) desired | \(status["updatedReplicas"]?.intValue ?? 0) updated | \(status["replicas"]?.intValue ?? 0) total | \(status["availableReplicas"]?.intValue ?? 0) available | \(status["unavailableReplicas"]?.intValue ?? 0) unavailable")
            out.field("StrategyType", spec.at("strategy", "type")?.displayString ?? "RollingUpdate")
            out.field("MinReadySeconds", String(spec["minReadySeconds"]?.intValue ?? 0))
            out.template(spec["template"] ?? [:])
            out.conditions(status["conditions"])
        case .replicaSet:
            out.field("Selector", pairs(spec.at("selector", "matchLabels")))
            out.field("Replicas", "\(status["replicas"]?.intValue ?? 0) current / \(spec["replicas"]?.intValue ?? 1) desired")
            out.field("Pods Status", "\(status["readyReplicas"]?.intValue ?? 0) Ready / \(status["availableReplicas"]?.intValue ?? 0) Available")
            out.template(spec["template"] ?? [:])
        case .pod:
            out.field("Node", spec["nodeName"]?.displayString ?? "<none>")
            out.field("Start Time", status["startTime"]?.displayString ?? "<none>")
            out.field("Status", ResourceTable.podStatus(object))
            out.field("IP", status["podIP"]?.displayString ?? "<none>")
            out.line("Containers:")
            let statuses = status["containerStatuses"]?.arrayValue ?? []
            for container in spec["containers"]?.arrayValue ?? [] {
                let name = container["name"]?.displayString ?? ""
                out.line("  \(name):")
                out.field("    Image", container["image"]?.displayString ?? "")
                let containerStatus = statuses.first { $0["name"]?.stringValue == name }
                if let state = containerStatus?["state"]?.objectValue?.first {
                    let reason = state.value["reason"]?.stringValue.map { " (\($0))" } ?? ""
                    out.field("    State", state.key.prefix(1).uppercased() + state.key.dropFirst() + reason)
                }
                out.field("    Ready", containerStatus?["ready"]?.displayString ?? "False")
                out.field("    Restart Count", String(containerStatus?["restartCount"]?.intValue ?? 0))
                out.environment(container["env"])
            }
            out.conditions(status["conditions"])
        case .service:
            out.field("Selector", pairs(spec["selector"]))
            out.field("Type", spec["type"]?.displayString ?? "ClusterIP")
            out.field("IP", spec["clusterIP"]?.displayString ?? "<none>")
            for port in spec["ports"]?.arrayValue ?? [] {
                out.field("Port", "\(port["name"]?.displayString ?? "<unset>")  \(port["port"]?.displayString ?? "")/\(port["protocol"]?.stringValue ?? "TCP")")
                out.field("TargetPort", port["targetPort"]?.displayString ?? port["port"]?.displayString ?? "")
            }
            if let endpoints = extra["endpoints"] {
                let row = ResourceTable.row(.endpoints, endpoints).0
                out.field("Endpoints", row.count > 1 ? row[1] : "<none>")
            }
        case .configMap:
            out.line("")
            out.line("Data")
            out.line("====")
            for (key, value) in (object["data"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                out.line("\(key):")
                out.line("----")
                out.line(value.displayString)
                out.line("")
            }
        case .secret:
            out.line("")
            out.field("Type", object["type"]?.displayString ?? "Opaque")
            out.line("")
            out.line("Data")
            out.line("====")
            for (key, value) in (object["data"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                out.line("\(key):  \(SecretRedaction.byteCount(value, base64: true)) bytes")
            }
        default:
            if object["spec"] != nil {
                out.line("Spec:")
                out.block(YAMLConversion.yaml(spec), indent: 2)
            }
            if object["status"] != nil {
                out.line("Status:")
                out.block(YAMLConversion.yaml(status), indent: 2)
            }
        }
        out.events(events)
        return out.text
    }

    static func pairs(_ value: JSONValue?) -> String {
        guard let fields = value?.objectValue, !fields.isEmpty else { return "<none>" }
        return fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.displayString)" }.joined(separator: "\n" + String(repeating: " ", count: 19))
    }

    struct Lines {
        var text = ""

        mutating func line(_ text: String) {
            self.text += (self.text.isEmpty ? "" : "\n") + text
        }

        mutating func field(_ name: String, _ value: String) {
            let label = name + ":"
            line(label.padding(toLength: max(label.count + 1, 19), withPad: " ", startingAt: 0) + value)
        }

        mutating func block(_ text: String, indent: Int) {
            for part in text.split(separator: "\n", omittingEmptySubsequences: false) where !part.isEmpty {
                line(String(repeating: " ", count: indent) + part)
            }
        }

        mutating func template(_ template: JSONValue) {
            line("Pod Template:")
            field("  Labels", pairs(template.at("metadata", "labels")))
            line("  Containers:")
            for container in template.at("spec", "containers")?.arrayValue ?? [] {
                line("   \(container["name"]?.displayString ?? ""):")
                field("    Image", container["image"]?.displayString ?? "")
                for port in container["ports"]?.arrayValue ?? [] {
                    field("    Port", "\(port["containerPort"]?.displayString ?? "")/\(port["protocol"]?.stringValue ?? "TCP")")
                }
                environment(container["env"])
            }
        }

        /// Env values are shown (kubectl does), except references, which
        /// name their source, never the Secret's value.
        mutating func environment(_ env: JSONValue?) {
            guard let variables = env?.arrayValue, !variables.isEmpty else { return }
            line("    Environment:")
            for variable in variables {
                let name = variable["name"]?.displayString ?? ""
                if let secret = variable.at("valueFrom", "secretKeyRef") {
                    line("      \(name):  <set to the key '\(secret["key"]?.displayString ?? "")' in secret '\(secret["name"]?.displayString ?? "")'>")
                } else if let map = variable.at("valueFrom", "configMapKeyRef") {
                    line("      \(name):  <set to the key '\(map["key"]?.displayString ?? "")' of config map '\(map["name"]?.displayString ?? "")'>")
                } else {
                    line("      \(name):  \(variable["value"]?.displayString ?? "")")
                }
            }
        }

        mutating func conditions(_ conditions: JSONValue?) {
            guard let list = conditions?.arrayValue, !list.isEmpty else { return }
            line("Conditions:")
            var table = Table(headers: ["  Type", "Status", "Reason"])
            for condition in list {
                table.rows.append([
                    "  " + (condition["type"]?.displayString ?? ""), condition["status"]?.displayString ?? "",
                    condition["reason"]?.displayString ?? "",
                ])
            }
            line(table.render())
        }

        mutating func events(_ events: [JSONValue]) {
            guard !events.isEmpty else {
                field("Events", "<none>")
                return
            }
            line("Events:")
            var table = Table(headers: ["  Type", "Reason", "Age", "From", "Message"])
            table.rows.append(["  ----", "------", "----", "----", "-------"])
            for event in events {
                let count = event["count"]?.intValue ?? 1
                let age = Age.since(event["lastTimestamp"]?.stringValue) + (count > 1 ? " (x\(count) over \(Age.since(event["firstTimestamp"]?.stringValue)))" : "")
                table.rows.append([
                    "  " + (event["type"]?.displayString ?? ""), event["reason"]?.displayString ?? "", age,
                    event.at("source", "component")?.displayString ?? "berth", event["message"]?.displayString ?? "",
                ])
            }
            line(table.render())
        }
    }
}
