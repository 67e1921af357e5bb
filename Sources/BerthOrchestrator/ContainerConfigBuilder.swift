import BerthAPI
import BerthRuntime
import Foundation

/// A container cannot be created from its spec as it stands: a missing
/// ConfigMap, Secret or key. Shown as CreateContainerConfigError.
struct ContainerConfigError: Error, Sendable {
    var message: String
}

/// Turns a pod's container spec into the runtime's `ContainerConfig`:
/// environment (value, valueFrom, envFrom with prefix), volume mounts and
/// resource limits. ConfigMaps and Secrets are read at container creation
/// only, so a changed ConfigMap does not restart running pods.
struct ContainerConfigBuilder: Sendable {
    let store: any OrchestratorStore

    func build(pod: Pod, container: Container, podIP: String?, volumes: [String: PreparedVolume],
               attempt: Int, kind: String) async throws -> ContainerConfig {
        let env = try await environment(pod: pod, container: container, podIP: podIP)
        var mounts: [Mount] = []
        for mount in container.volumeMounts ?? [] {
            guard let volume = volumes[mount.name] else {
                throw ContainerConfigError(message: "volume \"\(mount.name)\" not found in pod spec")
            }
            var hostPath = volume.hostPath
            if let subPath = mount.subPath, !subPath.isEmpty {
                guard !subPath.split(separator: "/").contains("..") else {
                    throw ContainerConfigError(message: "subPath \"\(subPath)\" must not contain '..'")
                }
                hostPath += "/" + subPath
            }
            mounts.append(Mount(hostPath: hostPath, containerPath: mount.mountPath,
                                readOnly: volume.readOnly || (mount.readOnly ?? false)))
        }
        let security = container.securityContext
        let labels = [
            RuntimeLabels.podUID: pod.uid, RuntimeLabels.podName: pod.name, RuntimeLabels.podNamespace: pod.namespace,
            RuntimeLabels.containerName: container.name, RuntimeLabels.containerAttempt: String(attempt),
            RuntimeLabels.containerType: kind,
        ]
        return ContainerConfig(
            name: container.name, image: container.image, command: container.command, args: container.args,
            env: env, workingDir: container.workingDir, runAsUser: security?.runAsUser, runAsGroup: security?.runAsGroup,
            runAsNonRoot: security?.runAsNonRoot ?? false, readOnlyRootfs: security?.readOnlyRootFilesystem ?? false,
            allowPrivilegeEscalation: security?.allowPrivilegeEscalation ?? false,
            capabilitiesAdd: security?.capabilities?.add ?? [], capabilitiesDrop: security?.capabilities?.drop ?? [],
            mounts: mounts, limits: Self.limits(container), labels: labels, attempt: attempt)
    }

    static func limits(_ container: Container) -> ResourceLimits {
        let limits = container.resources?.limits ?? [:]
        let requests = container.resources?.requests ?? [:]
        return ResourceLimits(memoryBytes: limits["memory"]?.value, cpuMillis: limits["cpu"]?.milliValue,
                              cpuRequestMillis: (requests["cpu"] ?? limits["cpu"])?.milliValue)
    }

    // MARK: - Environment

    func environment(pod: Pod, container: Container, podIP: String?) async throws -> [String: String] {
        // Kubernetes' service links: Services of the namespace that exist now;
        // the container's own variables override them.
        var env = try await serviceEnvironment(namespace: pod.namespace)
        let namespace = pod.namespace
        for source in container.envFrom ?? [] {
            let prefix = source.prefix ?? ""
            if let ref = source.configMapRef {
                guard let map = try await store.get(ConfigMap.self, namespace: namespace, name: ref.name) else {
                    if ref.optional == true { continue }
                    throw ContainerConfigError(message: "configmap \"\(ref.name)\" not found")
                }
                for (key, value) in map.data ?? [:] { env[prefix + key] = value }
            }
            if let ref = source.secretRef {
                guard let secret = try await store.get(Secret.self, namespace: namespace, name: ref.name) else {
                    if ref.optional == true { continue }
                    throw ContainerConfigError(message: "secret \"\(ref.name)\" not found")
                }
                for (key, value) in secret.data ?? [:] { env[prefix + key] = Self.decode(value) }
            }
        }
        for variable in container.env ?? [] {
            if let source = variable.valueFrom {
                if let value = try await resolve(source, pod: pod, podIP: podIP) { env[variable.name] = value }
            } else {
                env[variable.name] = Self.expand(variable.value ?? "", env)
            }
        }
        return env
    }

    func serviceEnvironment(namespace: String) async throws -> [String: String] {
        let services = try await store.list(BerthAPI.Service.self, namespace: namespace)
        return ServiceEnvironment.variables(for: services.map { EndpointsComputation.entry(for: $0, endpoints: nil) },
                                            namespace: namespace)
    }

    private func resolve(_ source: EnvVarSource, pod: Pod, podIP: String?) async throws -> String? {
        let namespace = pod.namespace
        if let ref = source.configMapKeyRef {
            guard let map = try await store.get(ConfigMap.self, namespace: namespace, name: ref.name) else {
                if ref.optional == true { return nil }
                throw ContainerConfigError(message: "configmap \"\(ref.name)\" not found")
            }
            guard let value = map.data?[ref.key] else {
                if ref.optional == true { return nil }
                throw ContainerConfigError(message: "couldn't find key \(ref.key) in ConfigMap \(namespace)/\(ref.name)")
            }
            return value
        }
        if let ref = source.secretKeyRef {
            guard let secret = try await store.get(Secret.self, namespace: namespace, name: ref.name) else {
                if ref.optional == true { return nil }
                throw ContainerConfigError(message: "secret \"\(ref.name)\" not found")
            }
            guard let value = secret.data?[ref.key] else {
                if ref.optional == true { return nil }
                throw ContainerConfigError(message: "couldn't find key \(ref.key) in Secret \(namespace)/\(ref.name)")
            }
            return Self.decode(value)
        }
        if let field = source.fieldRef {
            switch field.fieldPath {
            case "metadata.name": return pod.name
            case "metadata.namespace": return pod.namespace
            case "metadata.uid": return pod.uid
            case "spec.nodeName": return pod.spec.nodeName ?? ""
            case "status.podIP": return podIP ?? ""
            case "status.hostIP": return "127.0.0.1"
            default:
                for prefix in ["metadata.labels", "metadata.annotations"] where field.fieldPath.hasPrefix(prefix + "['") {
                    let key = String(field.fieldPath.dropFirst(prefix.count + 2).dropLast(2))
                    let map = prefix == "metadata.labels" ? pod.metadata.labels : pod.metadata.annotations
                    return map?[key] ?? ""
                }
                throw ContainerConfigError(message: "unsupported fieldRef \"\(field.fieldPath)\"")
            }
        }
        return nil
    }

    /// Secret values are stored base64-encoded, as in Kubernetes.
    static func decode(_ base64: String) -> String {
        guard let data = Data(base64Encoded: base64) else { return base64 }
        return String(decoding: data, as: UTF8.self)
    }

    /// `$(VAR)` expansion against variables defined earlier; `$$` escapes.
    static func expand(_ text: String, _ env: [String: String]) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let char = text[index]
            let next = text.index(after: index)
            if char == "$", next < text.endIndex {
                if text[next] == "$" {
                    result.append("$")
                    index = text.index(after: next)
                    continue
                }
                if text[next] == "(", let close = text[next...].firstIndex(of: ")") {
                    let name = String(text[text.index(after: next)..<close])
                    if let value = env[name] {
                        result += value
                    } else {
                        result += "$(\(name))"
                    }
                    index = text.index(after: close)
                    continue
                }
            }
            result.append(char)
            index = next
        }
        return result
    }
}

// MARK: - Volumes

struct PreparedVolume: Sendable, Hashable {
    var hostPath: String
    var readOnly: Bool
}

/// Writes a pod's configMap and secret volumes as files (items, modes) and
/// makes its emptyDirs, all under `<dataDir>/pods/<uid>/volumes/<name>`.
struct VolumePreparer: Sendable {
    let store: any OrchestratorStore
    let dataDir: String

    func podDirectory(_ uid: String) -> String { "\(dataDir)/pods/\(uid)" }

    func prepare(_ pod: Pod) async throws -> [String: PreparedVolume] {
        var prepared: [String: PreparedVolume] = [:]
        let fm = FileManager.default
        for volume in pod.spec.volumes ?? [] {
            let dir = "\(podDirectory(pod.uid))/volumes/\(volume.name)"
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if let source = volume.configMap {
                guard let map = try await store.get(ConfigMap.self, namespace: pod.namespace, name: source.name) else {
                    if source.optional == true { prepared[volume.name] = PreparedVolume(hostPath: dir, readOnly: true); continue }
                    throw ContainerConfigError(message: "MountVolume.SetUp failed for volume \"\(volume.name)\" : configmap \"\(source.name)\" not found")
                }
                var files: [String: Data] = [:]
                for (key, value) in map.data ?? [:] { files[key] = Data(value.utf8) }
                for (key, value) in map.binaryData ?? [:] { files[key] = Data(base64Encoded: value) ?? Data() }
                try write(files, items: source.items, defaultMode: source.defaultMode, into: dir,
                          what: "ConfigMap \(pod.namespace)/\(source.name)", optional: source.optional == true)
                prepared[volume.name] = PreparedVolume(hostPath: dir, readOnly: true)
            } else if let source = volume.secret {
                guard let secret = try await store.get(Secret.self, namespace: pod.namespace, name: source.secretName) else {
                    if source.optional == true { prepared[volume.name] = PreparedVolume(hostPath: dir, readOnly: true); continue }
                    throw ContainerConfigError(message: "MountVolume.SetUp failed for volume \"\(volume.name)\" : secret \"\(source.secretName)\" not found")
                }
                var files: [String: Data] = [:]
                for (key, value) in secret.data ?? [:] { files[key] = Data(base64Encoded: value) ?? Data(value.utf8) }
                try write(files, items: source.items, defaultMode: source.defaultMode, into: dir,
                          what: "Secret \(pod.namespace)/\(source.secretName)", optional: source.optional == true)
                prepared[volume.name] = PreparedVolume(hostPath: dir, readOnly: true)
            } else {
                // emptyDir (and anything unmodelled) is a plain per-pod directory.
                prepared[volume.name] = PreparedVolume(hostPath: dir, readOnly: false)
            }
        }
        return prepared
    }

    private func write(_ files: [String: Data], items: [Volume.KeyToPath]?, defaultMode: Int?, into dir: String,
                       what: String, optional: Bool) throws {
        let fm = FileManager.default
        let mode = defaultMode ?? 0o644
        var plan: [(path: String, data: Data, mode: Int)] = []
        if let items {
            for item in items {
                guard let data = files[item.key] else {
                    if optional { continue }
                    throw ContainerConfigError(message: "couldn't find key \(item.key) in \(what)")
                }
                plan.append((item.path, data, item.mode ?? mode))
            }
        } else {
            plan = files.map { ($0.key, $0.value, mode) }
        }
        for entry in plan {
            let parts = entry.path.split(separator: "/")
            guard !entry.path.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
                throw ContainerConfigError(message: "invalid path \"\(entry.path)\" in \(what)")
            }
            let target = "\(dir)/\(entry.path)"
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard fm.createFile(atPath: target, contents: entry.data) else {
                throw ContainerConfigError(message: "could not write \(target)")
            }
            try fm.setAttributes([.posixPermissions: entry.mode], ofItemAtPath: target)
        }
    }

    func remove(_ uid: String) {
        try? FileManager.default.removeItem(atPath: podDirectory(uid))
    }
}
