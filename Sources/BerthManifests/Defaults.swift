import BerthAPI

/// The defaults the Kubernetes API server fills in, the ones people see in
/// `kubectl get -o yaml`. Applying them to both the manifest and the live
/// object is what keeps `replicas: 1` and no `replicas` at all from showing
/// up as a difference.
///
/// Chosen set (and nothing else, consistently on both sides):
/// - metadata.namespace: the source's default namespace (namespaced kinds)
/// - Deployment: replicas 1, strategy RollingUpdate 25%/25%,
///   revisionHistoryLimit 10, progressDeadlineSeconds 600
/// - pod spec: restartPolicy Always, terminationGracePeriodSeconds 30,
///   dnsPolicy ClusterFirst, schedulerName default-scheduler
/// - containers: imagePullPolicy (Always for `:latest` or no tag, else
///   IfNotPresent), terminationMessagePath /dev/termination-log,
///   terminationMessagePolicy File, ports[].protocol TCP
/// - probes: timeoutSeconds 1, periodSeconds 10, successThreshold 1,
///   failureThreshold 3; httpGet path / and scheme HTTP
/// - volumes: configMap/secret defaultMode 420 (0644)
/// - env valueFrom.fieldRef.apiVersion v1
/// - Service: type ClusterIP, sessionAffinity None, ports[].protocol TCP,
///   ports[].targetPort = port
/// - Secret: type Opaque
enum Defaults {
    static func apply(to tree: inout JSONValue, kind: ResourceKind, defaultNamespace: String) {
        guard case .object(var object) = tree else { return }
        defer { tree = .object(object) }

        if var metadata = object["metadata"]?.objectValue {
            if kind.isNamespaced {
                if metadata["namespace"]?.stringValue?.isEmpty ?? true {
                    metadata["namespace"] = .string(defaultNamespace)
                }
            } else {
                metadata["namespace"] = nil
            }
            object["metadata"] = .object(metadata)
        }

        switch kind {
        case .deployment:
            guard var spec = object["spec"]?.objectValue else { return }
            setDefault(&spec, "replicas", .int(1))
            setDefault(&spec, "revisionHistoryLimit", .int(10))
            setDefault(&spec, "progressDeadlineSeconds", .int(600))
            var strategy = spec["strategy"]?.objectValue ?? [:]
            setDefault(&strategy, "type", .string("RollingUpdate"))
            if strategy["type"] == .string("RollingUpdate") {
                var rolling = strategy["rollingUpdate"]?.objectValue ?? [:]
                setDefault(&rolling, "maxSurge", .string("25%"))
                setDefault(&rolling, "maxUnavailable", .string("25%"))
                strategy["rollingUpdate"] = .object(rolling)
            }
            spec["strategy"] = .object(strategy)
            if var template = spec["template"]?.objectValue, var podSpec = template["spec"]?.objectValue {
                applyPodSpec(&podSpec)
                template["spec"] = .object(podSpec)
                spec["template"] = .object(template)
            }
            object["spec"] = .object(spec)
        case .pod:
            guard var spec = object["spec"]?.objectValue else { return }
            applyPodSpec(&spec)
            object["spec"] = .object(spec)
        case .service:
            var spec = object["spec"]?.objectValue ?? [:]
            setDefault(&spec, "type", .string("ClusterIP"))
            setDefault(&spec, "sessionAffinity", .string("None"))
            if let ports = spec["ports"]?.arrayValue {
                spec["ports"] = .array(ports.map { port in
                    guard var port = port.objectValue else { return port }
                    setDefault(&port, "protocol", .string("TCP"))
                    if let number = port["port"] { setDefault(&port, "targetPort", number) }
                    return .object(port)
                })
            }
            object["spec"] = .object(spec)
        case .secret:
            setDefault(&object, "type", .string("Opaque"))
        default:
            break
        }
    }

    static func applyPodSpec(_ spec: inout [String: JSONValue]) {
        setDefault(&spec, "restartPolicy", .string("Always"))
        setDefault(&spec, "terminationGracePeriodSeconds", .int(30))
        setDefault(&spec, "dnsPolicy", .string("ClusterFirst"))
        setDefault(&spec, "schedulerName", .string("default-scheduler"))
        for key in ["containers", "initContainers"] {
            guard let containers = spec[key]?.arrayValue else { continue }
            spec[key] = .array(containers.map { container in
                guard var container = container.objectValue else { return container }
                applyContainer(&container)
                return .object(container)
            })
        }
        if let volumes = spec["volumes"]?.arrayValue {
            spec["volumes"] = .array(volumes.map { volume in
                guard var volume = volume.objectValue else { return volume }
                for source in ["configMap", "secret"] {
                    if var object = volume[source]?.objectValue {
                        setDefault(&object, "defaultMode", .int(0o644))
                        volume[source] = .object(object)
                    }
                }
                return .object(volume)
            })
        }
    }

    static func applyContainer(_ container: inout [String: JSONValue]) {
        if let image = container["image"]?.stringValue {
            setDefault(&container, "imagePullPolicy", .string(pullPolicy(for: image)))
        }
        setDefault(&container, "terminationMessagePath", .string("/dev/termination-log"))
        setDefault(&container, "terminationMessagePolicy", .string("File"))
        if let ports = container["ports"]?.arrayValue {
            container["ports"] = .array(ports.map { port in
                guard var port = port.objectValue else { return port }
                setDefault(&port, "protocol", .string("TCP"))
                return .object(port)
            })
        }
        for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
            guard var probe = container[key]?.objectValue else { continue }
            setDefault(&probe, "timeoutSeconds", .int(1))
            setDefault(&probe, "periodSeconds", .int(10))
            setDefault(&probe, "successThreshold", .int(1))
            setDefault(&probe, "failureThreshold", .int(3))
            if var http = probe["httpGet"]?.objectValue {
                setDefault(&http, "path", .string("/"))
                setDefault(&http, "scheme", .string("HTTP"))
                probe["httpGet"] = .object(http)
            }
            container[key] = .object(probe)
        }
        if let env = container["env"]?.arrayValue {
            container["env"] = .array(env.map { variable in
                guard var variable = variable.objectValue,
                      var from = variable["valueFrom"]?.objectValue,
                      var fieldRef = from["fieldRef"]?.objectValue else { return variable }
                setDefault(&fieldRef, "apiVersion", .string("v1"))
                from["fieldRef"] = .object(fieldRef)
                variable["valueFrom"] = .object(from)
                return .object(variable)
            })
        }
    }

    /// Kubernetes' rule: `Always` when the tag is `latest` or there is no
    /// tag (and no digest), `IfNotPresent` otherwise.
    static func pullPolicy(for image: String) -> String {
        if image.contains("@") { return "IfNotPresent" }
        let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastComponent.lastIndex(of: ":") else { return "Always" }
        let tag = lastComponent[lastComponent.index(after: colon)...]
        return tag == "latest" ? "Always" : "IfNotPresent"
    }

    @inline(__always)
    static func setDefault(_ object: inout [String: JSONValue], _ key: String, _ value: JSONValue) {
        if object[key] == nil { object[key] = value }
    }
}
