import BerthAPI
import BerthStore
import Foundation
import Hummingbird

// MARK: - Collection and object handlers

extension APIServer {
    func list(_ kind: ResourceKind, namespace: String?, selector: LabelSelector?) async throws -> Response {
        let result = try await store.list(kind, namespace: namespace, labelSelector: selector)
        return StatusResponse.json([
            "apiVersion": .string(kind.apiVersion), "kind": .string(kind.rawValue + "List"),
            "metadata": ["resourceVersion": .string(String(result.resourceVersion))],
            "items": .array(result.items.map(\.object)),
        ])
    }

    func create(_ kind: ResourceKind, namespace: String?, body: JSONValue) async throws -> Response {
        let tree = try conform(body, to: kind, namespace: namespace, name: nil)
        try await admit(tree, kind: kind)
        let created = try await store.create(tree)
        return StatusResponse.json(created.object, status: .created)
    }

    func update(_ key: ObjectKey, body: JSONValue) async throws -> Response {
        let tree = try conform(body, to: key.resourceKind, namespace: key.namespace, name: key.name)
        _ = try await object(key)
        if let kind = key.resourceKind { try await admit(tree, kind: kind) }
        return StatusResponse.json(try await store.update(tree).object)
    }

    func updateStatus(_ key: ObjectKey, body: JSONValue) async throws -> Response {
        let tree = try conform(body, to: key.resourceKind, namespace: key.namespace, name: key.name)
        _ = try await object(key)
        return StatusResponse.json(try await store.updateStatus(tree).object)
    }

    /// Merge patch against the latest version; retried on conflicts with
    /// concurrent writers, as the API server does for patches.
    func patch(_ key: ObjectKey, patch: JSONValue, status: Bool) async throws -> Response {
        for _ in 0..<5 {
            let current = try await object(key)
            var patched = JSONMergePatch.apply(patch, to: current.object)
            patched["apiVersion"] = .string(key.apiVersion)
            patched["kind"] = .string(key.kind)
            patched["metadata"]?["name"] = .string(key.name)
            patched["metadata"]?["namespace"] = key.namespace.isEmpty ? nil : .string(key.namespace)
            patched["metadata"]?["resourceVersion"] = .string(String(current.resourceVersion))
            if !status, let kind = key.resourceKind { try await admit(patched, kind: kind) }
            do {
                let result = status ? try await store.updateStatus(patched) : try await store.update(patched)
                return StatusResponse.json(result.object)
            } catch let error as BerthError where error.code == .conflict {
                continue
            }
        }
        throw BerthError(.conflict, "\(key) kept changing while it was patched", hint: "retry", object: key.description)
    }

    func delete(_ key: ObjectKey, propagation: String?) async throws -> Response {
        let policy: DeletePropagation
        switch propagation?.lowercased() {
        case nil, "background": policy = .background
        case "foreground": policy = .foreground
        case "orphan": policy = .orphan
        case let other?:
            throw BerthError(.invalidArgument, "unknown propagationPolicy \(other)", hint: "use Background, Foreground or Orphan")
        }
        _ = try await object(key)
        let deleted = try await store.delete(key, propagation: policy)
        return StatusResponse.json(deleted.object)
    }

    /// `autoscaling/v1 Scale`, Kubernetes' view of `spec.replicas`.
    func scale(_ key: ObjectKey, method: HTTPRequest.Method, body: JSONValue?) async throws -> Response {
        var current = try await object(key)
        if method == .put || method == .patch {
            guard let replicas = body?["spec"]?["replicas"]?.intValue, replicas >= 0 else {
                throw BerthError(.invalidArgument, "scale needs spec.replicas, a number >= 0")
            }
            var tree = current.object
            tree["spec"]?["replicas"] = .int(replicas)
            tree["metadata"]?["resourceVersion"] = method == .put
                ? body?["metadata"]?["resourceVersion"] ?? nil
                : nil
            current = try await store.update(tree)
        } else if method != .get {
            throw BerthError(.invalidArgument, "\(method) is not supported on scale")
        }
        let selector = current.object["spec"]?["selector"]?["matchLabels"]?.objectValue ?? [:]
        let selectorText = selector.keys.sorted().map { "\($0)=\(selector[$0]?.stringValue ?? "")" }.joined(separator: ",")
        return StatusResponse.json([
            "apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": [
                "name": .string(key.name), "namespace": .string(key.namespace), "uid": .string(current.uid),
                "resourceVersion": .string(String(current.resourceVersion)),
            ],
            "spec": ["replicas": current.object["spec"]?["replicas"] ?? 1],
            "status": [
                "replicas": current.object["status"]?["replicas"] ?? 0, "selector": .string(selectorText),
            ],
        ])
    }

    /// Every admission check; the first refusal is the answer.
    func admit(_ tree: JSONValue, kind: ResourceKind) async throws {
        for check in admissionChecks { try await check.admit(tree, kind: kind) }
    }

    /// Makes a request body agree with its URL: fills apiVersion, kind and
    /// namespace when missing, rejects contradictions.
    func conform(_ body: JSONValue, to kind: ResourceKind?, namespace: String?, name: String?) throws -> JSONValue {
        guard case .object = body else { throw BerthError(.invalidArgument, "request body must be a JSON object") }
        var tree = body
        if let kind {
            if let sent = tree["kind"]?.stringValue, sent != kind.rawValue {
                throw BerthError(.invalidArgument, "body has kind \(sent), the URL is for \(kind.rawValue)")
            }
            if let sent = tree["apiVersion"]?.stringValue, sent != kind.apiVersion {
                throw BerthError(.invalidArgument, "body has apiVersion \(sent), the URL is for \(kind.apiVersion)")
            }
            tree["kind"] = .string(kind.rawValue)
            tree["apiVersion"] = .string(kind.apiVersion)
        }
        if tree["metadata"] == nil { tree["metadata"] = [:] }
        if let namespace, !namespace.isEmpty {
            if let sent = tree["metadata"]?["namespace"]?.stringValue, !sent.isEmpty, sent != namespace {
                throw BerthError(
                    .invalidArgument,
                    "the namespace of the object (\(sent)) does not match the namespace on the request (\(namespace))")
            }
            tree["metadata"]?["namespace"] = .string(namespace)
        }
        if kind == .secret { tree = Self.foldStringData(tree) }
        if let name {
            if let sent = tree["metadata"]?["name"]?.stringValue, sent != name {
                throw BerthError(.invalidArgument, "the name of the object (\(sent)) does not match the name on the request (\(name))")
            }
            tree["metadata"]?["name"] = .string(name)
        }
        return tree
    }
}

extension APIServer {
    /// Kubernetes folds a Secret's write-only `stringData` into `data`
    /// (base64) on write; so does Berth, so that readers see one form.
    static func foldStringData(_ tree: JSONValue) -> JSONValue {
        guard let stringData = tree["stringData"]?.objectValue else { return tree }
        var tree = tree
        var data = tree["data"]?.objectValue ?? [:]
        for (key, value) in stringData {
            data[key] = .string(Data((value.stringValue ?? "").utf8).base64EncodedString())
        }
        tree["data"] = .object(data)
        tree["stringData"] = nil
        return tree
    }
}

// MARK: - Events and logs

extension APIServer {
    /// Events, with kubectl's `fieldSelector=involvedObject.kind=Pod,involvedObject.name=web-1`.
    func listEvents(namespace: String?, fieldSelector: String?) async throws -> Response {
        var filters: [String: String] = [:]
        for term in (fieldSelector ?? "").split(separator: ",") {
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            filters[parts[0]] = parts[1]
        }
        var events = try await store.events(namespace: namespace)
        events = events.filter { event in
            filters.allSatisfy { field, value in
                switch field {
                case "involvedObject.kind": return event.involvedObject.kind == value
                case "involvedObject.name": return event.involvedObject.name == value
                case "involvedObject.namespace": return (event.involvedObject.namespace ?? "") == value
                case "involvedObject.uid": return event.involvedObject.uid == value
                case "reason": return event.reason == value
                case "type": return event.type == value
                default: return true
                }
            }
        }
        let revision = try await store.currentRevision()
        return StatusResponse.json([
            "apiVersion": "v1", "kind": "EventList",
            "metadata": ["resourceVersion": .string(String(revision))],
            "items": .array(try events.map { try JSONValue(encoding: $0) }),
        ])
    }

    func logs(_ key: ObjectKey, query: [String: String]) async throws -> Response {
        let pod = try await object(key)
        let names = (pod.object["spec"]?["containers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let initNames = (pod.object["spec"]?["initContainers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let container: String
        if let requested = query["container"], !requested.isEmpty {
            guard (names + initNames).contains(requested) else {
                throw BerthError(
                    .invalidArgument,
                    "container \(requested) is not valid for pod \(key.name)",
                    hint: "choose one of: \((names + initNames).joined(separator: ", "))")
            }
            container = requested
        } else if names.count == 1, let only = names.first {
            container = only
        } else {
            throw BerthError(
                .invalidArgument, "a container name must be specified for pod \(key.name)",
                hint: "choose one of: \(names.joined(separator: ", ")) (-c NAME)")
        }
        let tail = query["tailLines"].flatMap { Int($0) }
        let follow = query["follow"].map { $0 == "true" || $0 == "1" } ?? false
        let stream = try await logProvider.logs(
            namespace: key.namespace, pod: key.name, container: container, tailLines: tail, follow: follow)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody { writer in
                for try await chunk in stream {
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            })
    }
}
