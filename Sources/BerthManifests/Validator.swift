import BerthAPI
import Foundation

/// Semantic validation of one object, as the API server's validation does
/// it (k8s.io/kubernetes/pkg/apis/.../validation): every problem is
/// collected, not only the first, each with its field path.
///
/// Runs on the tree after the schema walk, so types are mostly right; every
/// check still reads fields defensively, because a field with the wrong type
/// has already been reported and must not cause a second, confusing error.
struct Validator {
    private(set) var issues: [Issue] = []
    private var quantities: [String: Quantity] = [:]

    /// Returns the issues found so far and forgets them (one validator per file).
    mutating func takeIssues() -> [Issue] {
        defer { issues = [] }
        return issues
    }

    private mutating func quantity(_ value: JSONValue?) -> Quantity? {
        guard let text = value?.stringValue else { return nil }
        if let known = quantities[text] { return known }
        let parsed = Quantity(text)
        quantities[text] = parsed
        return parsed
    }

    private mutating func error(_ path: FieldPath, _ message: String, hint: String? = nil) {
        issues.append(.error(path, message, hint: hint))
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    // MARK: - Objects

    mutating func validate(_ object: [String: JSONValue], kind: ResourceKind) {
        let root = FieldPath.root
        validateMetadata(object["metadata"]?.objectValue, kind: kind, path: root + "metadata")
        switch kind {
        case .configMap:
            validateConfigMap(object)
        case .secret:
            validateSecret(object)
        case .pod:
            guard let spec = object["spec"]?.objectValue else { return error(root + "spec", "Required value") }
            validatePodSpec(spec, path: root + "spec")
        case .deployment:
            guard let spec = object["spec"]?.objectValue else { return error(root + "spec", "Required value") }
            validateDeploymentSpec(spec, path: root + "spec")
        case .service:
            guard let spec = object["spec"]?.objectValue else { return error(root + "spec", "Required value") }
            validateServiceSpec(spec, path: root + "spec")
        default:
            break
        }
    }

    private mutating func validateMetadata(_ metadata: [String: JSONValue]?, kind: ResourceKind, path: FieldPath) {
        guard let metadata else { return error(path + "name", "Required value: name or generateName is required") }
        if let name = metadata["name"]?.stringValue, !name.isEmpty {
            let problem: String?
            switch kind {
            case .namespace: problem = NameRules.dns1123Label(name)
            case .service: problem = NameRules.dns1035Label(name)
            default: problem = NameRules.dns1123Subdomain(name)
            }
            if let problem { error(path + "name", "Invalid value: \(Self.quoted(name)): \(problem)") }
        } else if metadata["name"] == nil || metadata["name"] == .string("") {
            if metadata["generateName"] != nil {
                error(path + "generateName", "Forbidden: generateName is not supported in manifests",
                      hint: "a manifest must name its object, or every sync would create a new one")
            } else {
                error(path + "name", "Required value: name or generateName is required")
            }
        }
        if kind.isNamespaced, let namespace = metadata["namespace"]?.stringValue, !namespace.isEmpty,
           let problem = NameRules.dns1123Label(namespace) {
            error(path + "namespace", "Invalid value: \(Self.quoted(namespace)): \(problem)")
        }
        validateLabels(metadata["labels"]?.objectValue, path: path + "labels")
        if let annotations = metadata["annotations"]?.objectValue {
            for key in annotations.keys.sorted() {
                if let problem = NameRules.qualifiedName(key) {
                    error(path + "annotations", "Invalid value: \(Self.quoted(key)): \(problem)")
                }
            }
            if let wave = annotations[WellKnown.syncWaveAnnotation]?.stringValue, Int(wave) == nil {
                error(path + "annotations" + WellKnown.syncWaveAnnotation,
                      "Invalid value: \(Self.quoted(wave)): must be an integer")
            }
        }
    }

    private mutating func validateLabels(_ labels: [String: JSONValue]?, path: FieldPath) {
        guard let labels else { return }
        for key in labels.keys.sorted() {
            if let problem = NameRules.qualifiedName(key) {
                error(path, "Invalid value: \(Self.quoted(key)): \(problem)")
            }
            if let value = labels[key]?.stringValue, let problem = NameRules.labelValue(value) {
                error(path + key, "Invalid value: \(Self.quoted(value)): \(problem)")
            }
        }
    }

    // MARK: - ConfigMap, Secret

    private mutating func validateConfigMap(_ object: [String: JSONValue]) {
        let data = object["data"]?.objectValue ?? [:]
        let binary = object["binaryData"]?.objectValue ?? [:]
        for key in data.keys.sorted() {
            if let problem = NameRules.configKey(key) { error(.root + "data", "Invalid value: \(Self.quoted(key)): \(problem)") }
        }
        for key in binary.keys.sorted() {
            if let problem = NameRules.configKey(key) {
                error(.root + "binaryData", "Invalid value: \(Self.quoted(key)): \(problem)")
            }
            if data[key] != nil { error(.root + "binaryData" + key, "Duplicate value: \(Self.quoted(key))") }
            if let value = binary[key]?.stringValue, case .failure(.illegal(let offset)) = Base64.decode(value) {
                error(.root + "binaryData" + key, "Invalid value: illegal base64 data at input byte \(offset)")
            }
        }
    }

    private mutating func validateSecret(_ object: [String: JSONValue]) {
        for field in ["data", "stringData"] {
            guard let values = object[field]?.objectValue else { continue }
            for key in values.keys.sorted() {
                if let problem = NameRules.configKey(key) {
                    error(.root + field, "Invalid value: \(Self.quoted(key)): \(problem)")
                }
                // Never echo the value: say where and what, not what it was.
                if field == "data", let value = values[key]?.stringValue,
                   case .failure(.illegal(let offset)) = Base64.decode(value) {
                    error(.root + "data" + key,
                          "Invalid value: \"<secret contents redacted>\": illegal base64 data at input byte \(offset)",
                          hint: "put plain text under stringData, or encode it with `base64 -w0`")
                }
            }
        }
    }

    // MARK: - Deployment

    private mutating func validateDeploymentSpec(_ spec: [String: JSONValue], path: FieldPath) {
        for field in ["replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"] {
            if let value = spec[field]?.intValue, value < 0 {
                error(path + field, "Invalid value: \(value): must be greater than or equal to 0")
            }
        }
        if let deadline = spec["progressDeadlineSeconds"]?.intValue, let minReady = spec["minReadySeconds"]?.intValue,
           deadline <= minReady {
            error(path + "progressDeadlineSeconds", "Invalid value: \(deadline): must be greater than minReadySeconds")
        }
        let selector = spec["selector"]?.objectValue
        var selectorValue: LabelSelector?
        if let selector {
            selectorValue = validateSelector(selector, path: path + "selector")
        } else {
            error(path + "selector", "Required value")
        }
        guard let template = spec["template"]?.objectValue else { return error(path + "template", "Required value") }
        let templateMeta = template["metadata"]?.objectValue ?? [:]
        let labels = templateMeta["labels"]?.objectValue ?? [:]
        validateLabels(templateMeta["labels"]?.objectValue, path: path + "template" + "metadata" + "labels")
        let labelStrings = labels.compactMapValues(\.stringValue)
        if let selectorValue, !(selectorValue.matchLabels ?? [:]).isEmpty || !(selectorValue.matchExpressions ?? []).isEmpty,
           !selectorValue.matches(labelStrings) {
            error(path + "template" + "metadata" + "labels",
                  "Invalid value: \(Self.render(labelStrings)): `selector` does not match template `labels`",
                  hint: "every matchLabels entry of spec.selector must appear in spec.template.metadata.labels")
        }
        if let podSpec = template["spec"]?.objectValue {
            validatePodSpec(podSpec, path: path + "template" + "spec")
            if let policy = podSpec["restartPolicy"]?.stringValue, policy != "Always" {
                error(path + "template" + "spec" + "restartPolicy",
                      "Unsupported value: \(Self.quoted(policy)): supported values: \"Always\"")
            }
        } else {
            error(path + "template" + "spec", "Required value")
        }
        validateStrategy(spec["strategy"]?.objectValue, path: path + "strategy")
    }

    private mutating func validateSelector(_ selector: [String: JSONValue], path: FieldPath) -> LabelSelector? {
        validateLabels(selector["matchLabels"]?.objectValue, path: path + "matchLabels")
        var requirements: [LabelSelector.Requirement] = []
        for (index, item) in (selector["matchExpressions"]?.arrayValue ?? []).enumerated() {
            let itemPath = path + "matchExpressions" + index
            guard let item = item.objectValue else { continue }
            let key = item["key"]?.stringValue ?? ""
            let op = item["operator"]?.stringValue ?? ""
            let values = item["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if let problem = NameRules.qualifiedName(key) { error(itemPath + "key", "Invalid value: \(Self.quoted(key)): \(problem)") }
            switch op {
            case "In", "NotIn":
                if values.isEmpty { error(itemPath + "values", "Required value: must be specified when `operator` is 'In' or 'NotIn'") }
            case "Exists", "DoesNotExist":
                if !values.isEmpty { error(itemPath + "values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'") }
            default:
                error(itemPath + "operator", "Unsupported value: \(Self.quoted(op)): supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\"")
            }
            requirements.append(.init(key: key, operator: op, values: values))
        }
        let matchLabels = selector["matchLabels"]?.objectValue?.compactMapValues(\.stringValue)
        if (matchLabels ?? [:]).isEmpty && requirements.isEmpty {
            error(path, "Invalid value: {}: empty selector is invalid for deployment")
            return nil
        }
        return LabelSelector(matchLabels: matchLabels, matchExpressions: requirements.isEmpty ? nil : requirements)
    }

    private mutating func validateStrategy(_ strategy: [String: JSONValue]?, path: FieldPath) {
        guard let strategy else { return }
        let type = strategy["type"]?.stringValue ?? "RollingUpdate"
        switch type {
        case "Recreate":
            if strategy["rollingUpdate"] != nil {
                error(path + "rollingUpdate", "Forbidden: may not be specified when strategy `type` is 'Recreate'")
            }
        case "RollingUpdate":
            guard let rolling = strategy["rollingUpdate"]?.objectValue else { return }
            let surge = rolling["maxSurge"].flatMap { intOrPercent($0, path: path + "rollingUpdate" + "maxSurge") }
            let unavailable = rolling["maxUnavailable"].flatMap { intOrPercent($0, path: path + "rollingUpdate" + "maxUnavailable") }
            if surge == 0, unavailable == 0 {
                error(path + "rollingUpdate" + "maxUnavailable", "Invalid value: 0: may not be 0 when `maxSurge` is 0")
            }
            if case .string(let text)? = rolling["maxUnavailable"], let percent = unavailable, percent > 100 {
                error(path + "rollingUpdate" + "maxUnavailable", "Invalid value: \(Self.quoted(text)): must not be greater than 100%")
            }
        default:
            error(path + "type", "Unsupported value: \(Self.quoted(type)): supported values: \"Recreate\", \"RollingUpdate\"")
        }
    }

    /// Checks an int-or-percent and returns its number (percent or absolute).
    private mutating func intOrPercent(_ value: JSONValue, path: FieldPath) -> Int? {
        switch value {
        case .int(let number):
            if number < 0 { error(path, "Invalid value: \(number): must be greater than or equal to 0") }
            return number
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()), percent >= 0, !text.dropLast().contains("+") else {
                error(path, "Invalid value: \(Self.quoted(text)): a valid percent string must be a numeric string followed by an ending '%' "
                      + "(e.g. '1%', or '93%', regex used for validation is '[0-9]+%')")
                return nil
            }
            return percent
        default:
            return nil
        }
    }

    // MARK: - Service

    private mutating func validateServiceSpec(_ spec: [String: JSONValue], path: FieldPath) {
        let type = spec["type"]?.stringValue ?? "ClusterIP"
        if !["ClusterIP", "NodePort"].contains(type) {
            error(path + "type", "Unsupported value: \(Self.quoted(type)): supported values: \"ClusterIP\", \"NodePort\"",
                  hint: "Berth runs on one machine and has no load balancer or external names")
        }
        if let affinity = spec["sessionAffinity"]?.stringValue, !["None", "ClientIP"].contains(affinity) {
            error(path + "sessionAffinity", "Unsupported value: \(Self.quoted(affinity)): supported values: \"ClientIP\", \"None\"")
        }
        validateLabels(spec["selector"]?.objectValue, path: path + "selector")
        let ports = spec["ports"]?.arrayValue ?? []
        if ports.isEmpty { error(path + "ports", "Required value") }
        var names: Set<String> = []
        var numbers: Set<String> = []
        for (index, port) in ports.enumerated() {
            let portPath = path + "ports" + index
            guard let port = port.objectValue else { continue }
            if let name = port["name"]?.stringValue, !name.isEmpty {
                if let problem = NameRules.dns1123Label(name) { error(portPath + "name", "Invalid value: \(Self.quoted(name)): \(problem)") }
                if !names.insert(name).inserted { error(portPath + "name", "Duplicate value: \(Self.quoted(name))") }
            } else if ports.count > 1 {
                error(portPath + "name", "Required value")
            }
            let proto = port["protocol"]?.stringValue ?? "TCP"
            validateProtocol(proto, path: portPath + "protocol")
            if let number = port["port"]?.intValue {
                validatePortNumber(number, path: portPath + "port")
                if !numbers.insert("\(number)/\(proto)").inserted {
                    error(portPath, "Duplicate value: {port: \(number), protocol: \(Self.quoted(proto))}")
                }
            } else if port["port"] == nil {
                error(portPath + "port", "Required value")
            }
            if let target = port["targetPort"] { validatePortNumOrName(target, path: portPath + "targetPort") }
            if let nodePort = port["nodePort"]?.intValue {
                if type != "NodePort" {
                    error(portPath + "nodePort", "Forbidden: may not be used when `type` is '\(type)'")
                } else {
                    validatePortNumber(nodePort, path: portPath + "nodePort")
                }
            }
        }
    }

    // MARK: - Pod spec

    private mutating func validatePodSpec(_ spec: [String: JSONValue], path: FieldPath) {
        // Volumes first: mounts refer to them.
        var volumeNames: Set<String> = []
        for (index, volume) in (spec["volumes"]?.arrayValue ?? []).enumerated() {
            let volumePath = path + "volumes" + index
            guard let volume = volume.objectValue else { continue }
            if let name = volume["name"]?.stringValue, !name.isEmpty {
                if let problem = NameRules.dns1123Label(name) { error(volumePath + "name", "Invalid value: \(Self.quoted(name)): \(problem)") }
                if !volumeNames.insert(name).inserted { error(volumePath + "name", "Duplicate value: \(Self.quoted(name))") }
            } else {
                error(volumePath + "name", "Required value")
            }
            let sources = volume.keys.filter { $0 != "name" }.sorted()
            if sources.isEmpty {
                error(volumePath, "Required value: must specify a volume type")
            } else if sources.count > 1 {
                error(volumePath + sources[1], "Forbidden: may not specify more than 1 volume type")
            }
            if let configMap = volume["configMap"]?.objectValue, (configMap["name"]?.stringValue ?? "").isEmpty {
                error(volumePath + "configMap" + "name", "Required value")
            }
            if let secret = volume["secret"]?.objectValue, (secret["secretName"]?.stringValue ?? "").isEmpty {
                error(volumePath + "secret" + "secretName", "Required value")
            }
            for source in ["configMap", "secret"] {
                if let mode = volume[source]?["defaultMode"]?.intValue, !(0...0o777).contains(mode) {
                    error(volumePath + source + "defaultMode", "Invalid value: \(mode): must be a number between 0 and 0777 (octal), both inclusive")
                }
            }
        }

        let containers = spec["containers"]?.arrayValue ?? []
        if containers.isEmpty { error(path + "containers", "Required value") }
        var containerNames: Set<String> = []
        for key in ["initContainers", "containers"] {
            for (index, container) in (spec[key]?.arrayValue ?? []).enumerated() {
                guard let container = container.objectValue else { continue }
                validateContainer(container, path: path + key + index, names: &containerNames, volumes: volumeNames,
                                  isInit: key == "initContainers")
            }
        }

        if let policy = spec["restartPolicy"]?.stringValue, !["Always", "OnFailure", "Never"].contains(policy) {
            error(path + "restartPolicy", "Unsupported value: \(Self.quoted(policy)): supported values: \"Always\", \"OnFailure\", \"Never\"")
        }
        if let policy = spec["dnsPolicy"]?.stringValue,
           !["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"].contains(policy) {
            error(path + "dnsPolicy", "Unsupported value: \(Self.quoted(policy)): supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"")
        }
        if let grace = spec["terminationGracePeriodSeconds"]?.intValue, grace < 0 {
            error(path + "terminationGracePeriodSeconds", "Invalid value: \(grace): must be greater than or equal to 0")
        }
        validateLabels(spec["nodeSelector"]?.objectValue, path: path + "nodeSelector")
    }

    private mutating func validateContainer(
        _ container: [String: JSONValue], path: FieldPath, names: inout Set<String>, volumes: Set<String>, isInit: Bool
    ) {
        if let name = container["name"]?.stringValue, !name.isEmpty {
            if let problem = NameRules.dns1123Label(name) { error(path + "name", "Invalid value: \(Self.quoted(name)): \(problem)") }
            if !names.insert(name).inserted { error(path + "name", "Duplicate value: \(Self.quoted(name))") }
        } else {
            error(path + "name", "Required value")
        }
        if (container["image"]?.stringValue ?? "").allSatisfy({ $0 == " " }) {
            error(path + "image", "Required value")
        }
        if let policy = container["imagePullPolicy"]?.stringValue, !["Always", "IfNotPresent", "Never"].contains(policy) {
            error(path + "imagePullPolicy", "Unsupported value: \(Self.quoted(policy)): supported values: \"Always\", \"IfNotPresent\", \"Never\"")
        }

        var portNames: Set<String> = []
        for (index, port) in (container["ports"]?.arrayValue ?? []).enumerated() {
            let portPath = path + "ports" + index
            guard let port = port.objectValue else { continue }
            if let number = port["containerPort"]?.intValue {
                validatePortNumber(number, path: portPath + "containerPort")
            } else if port["containerPort"] == nil {
                error(portPath + "containerPort", "Required value")
            }
            if let number = port["hostPort"]?.intValue { validatePortNumber(number, path: portPath + "hostPort") }
            if let proto = port["protocol"]?.stringValue { validateProtocol(proto, path: portPath + "protocol") }
            if let name = port["name"]?.stringValue {
                if let problem = NameRules.portName(name) { error(portPath + "name", "Invalid value: \(Self.quoted(name)): \(problem)") }
                if !portNames.insert(name).inserted { error(portPath + "name", "Duplicate value: \(Self.quoted(name))") }
            }
        }

        for (index, variable) in (container["env"]?.arrayValue ?? []).enumerated() {
            let envPath = path + "env" + index
            guard let variable = variable.objectValue else { continue }
            if let name = variable["name"]?.stringValue, !name.isEmpty {
                if let problem = NameRules.envVarName(name) { error(envPath + "name", "Invalid value: \(Self.quoted(name)): \(problem)") }
            } else {
                error(envPath + "name", "Required value")
            }
            if let from = variable["valueFrom"]?.objectValue {
                if let value = variable["value"]?.stringValue, !value.isEmpty {
                    error(envPath + "valueFrom", "Invalid value: \"\": may not be specified when `value` is not empty")
                }
                if from.count == 0 {
                    error(envPath + "valueFrom", "Invalid value: \"\": must specify one of: `fieldRef`, `configMapKeyRef` or `secretKeyRef`")
                } else if from.count > 1 {
                    error(envPath + "valueFrom", "Invalid value: \"\": may not have more than one field specified at a time")
                }
                for ref in ["configMapKeyRef", "secretKeyRef"] {
                    guard let selector = from[ref]?.objectValue else { continue }
                    if (selector["name"]?.stringValue ?? "").isEmpty { error(envPath + "valueFrom" + ref + "name", "Required value") }
                    if (selector["key"]?.stringValue ?? "").isEmpty { error(envPath + "valueFrom" + ref + "key", "Required value") }
                }
            }
        }

        if let resources = container["resources"]?.objectValue {
            let requests = resources["requests"]?.objectValue ?? [:]
            let limits = resources["limits"]?.objectValue ?? [:]
            for name in requests.keys.sorted() {
                guard let request = quantity(requests[name]), let limit = quantity(limits[name]) else { continue }
                if request.nanoValue > limit.nanoValue {
                    error(path + "resources" + "requests" + name,
                          "Invalid value: \(Self.quoted(request.description)): must be less than or equal to \(name) limit of \(limit.description)")
                }
            }
            for (field, values) in [("requests", requests), ("limits", limits)] {
                for name in values.keys.sorted() {
                    if let quantity = quantity(values[name]), quantity.nanoValue < 0 {
                        error(path + "resources" + field + name, "Invalid value: \(Self.quoted(quantity.description)): must be greater than or equal to 0")
                    }
                }
            }
        }

        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            guard let value = container[probe]?.objectValue else { continue }
            if isInit {
                error(path + probe, "Forbidden: may not be set for init containers")
                continue
            }
            validateProbe(value, path: path + probe, requireSingleSuccess: probe != "readinessProbe")
        }

        var mountPaths: Set<String> = []
        for (index, mount) in (container["volumeMounts"]?.arrayValue ?? []).enumerated() {
            let mountPath = path + "volumeMounts" + index
            guard let mount = mount.objectValue else { continue }
            if let name = mount["name"]?.stringValue, !name.isEmpty {
                if !volumes.contains(name) { error(mountPath + "name", "Not found: \(Self.quoted(name))") }
            } else {
                error(mountPath + "name", "Required value")
            }
            if let target = mount["mountPath"]?.stringValue, !target.isEmpty {
                if !mountPaths.insert(target).inserted { error(mountPath + "mountPath", "Invalid value: \(Self.quoted(target)): must be unique") }
            } else {
                error(mountPath + "mountPath", "Required value")
            }
        }
    }

    private mutating func validateProbe(_ probe: [String: JSONValue], path: FieldPath, requireSingleSuccess: Bool) {
        let handlers = ["exec", "httpGet", "tcpSocket", "grpc"].filter { probe[$0] != nil }
        if handlers.isEmpty {
            error(path, "Required value: must specify a handler type")
        } else if handlers.count > 1 {
            error(path + handlers[1], "Forbidden: may not specify more than 1 handler type")
        }
        if let http = probe["httpGet"]?.objectValue {
            if let port = http["port"] { validatePortNumOrName(port, path: path + "httpGet" + "port") } else { error(path + "httpGet" + "port", "Required value") }
            if let scheme = http["scheme"]?.stringValue, !["HTTP", "HTTPS"].contains(scheme) {
                error(path + "httpGet" + "scheme", "Unsupported value: \(Self.quoted(scheme)): supported values: \"HTTP\", \"HTTPS\"")
            }
        }
        if let tcp = probe["tcpSocket"]?.objectValue {
            if let port = tcp["port"] { validatePortNumOrName(port, path: path + "tcpSocket" + "port") } else { error(path + "tcpSocket" + "port", "Required value") }
        }
        if let exec = probe["exec"]?.objectValue, (exec["command"]?.arrayValue ?? []).isEmpty {
            error(path + "exec" + "command", "Required value")
        }
        for field in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
            if let value = probe[field]?.intValue, value < 0 {
                error(path + field, "Invalid value: \(value): must be greater than or equal to 0")
            }
        }
        if requireSingleSuccess, let success = probe["successThreshold"]?.intValue, success != 1 {
            error(path + "successThreshold", "Invalid value: \(success): must be 1")
        }
    }

    // MARK: - Ports

    private mutating func validatePortNumber(_ number: Int, path: FieldPath) {
        if !(1...65535).contains(number) {
            error(path, "Invalid value: \(number): must be between 1 and 65535, inclusive")
        }
    }

    private mutating func validatePortNumOrName(_ value: JSONValue, path: FieldPath) {
        switch value {
        case .int(let number):
            validatePortNumber(number, path: path)
        case .string(let name):
            if let problem = NameRules.portName(name) {
                error(path, "Invalid value: \(Self.quoted(name)): \(problem)",
                      hint: Int(name) != nil ? "a port number must not be quoted; a quoted value is a port name" : nil)
            }
        default:
            break
        }
    }

    private mutating func validateProtocol(_ proto: String, path: FieldPath) {
        if !["TCP", "UDP", "SCTP"].contains(proto) {
            error(path, "Unsupported value: \(Self.quoted(proto)): supported values: \"SCTP\", \"TCP\", \"UDP\"")
        }
    }

    // MARK: - Rendering

    /// `{"app":"web"}`: a label map as it appears in a message.
    static func render(_ labels: [String: String]) -> String {
        "{" + labels.keys.sorted().map { "\(quoted($0)):\(quoted(labels[$0] ?? ""))" }.joined(separator: ",") + "}"
    }
}
