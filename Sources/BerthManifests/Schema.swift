import BerthAPI

/// The shape of the fields Berth models, kind by kind: the same fields as the
/// typed views in BerthAPI (`Deployment`, `PodSpec` …) plus the few defaulted
/// fields that appear in canonical form. Fields outside the schema are kept
/// in the tree but draw an "unknown field" warning, as the API server's
/// field validation does in `Warn` mode: Berth will not act on them.
indirect enum FieldType: Sendable {
    case string
    case int
    case bool
    /// `targetPort: 8080` or `targetPort: http`; `maxSurge: 1` or `"25%"`.
    case intOrString
    /// `250m`, `128Mi`: normalized to the API server's canonical text.
    case quantity
    /// `map[string]string`: labels, annotations, selectors, ConfigMap data.
    case stringMap
    case quantityMap
    case list(FieldType)
    case object(ObjectSchema)
    /// Kept as given, never checked (free-form or server-owned).
    case any

    var name: String {
        switch self {
        case .string: return "string"
        case .int: return "integer"
        case .bool: return "boolean"
        case .intOrString: return "integer or string"
        case .quantity: return "quantity"
        case .stringMap, .quantityMap, .object: return "object"
        case .list: return "array"
        case .any: return "any"
        }
    }
}

struct ObjectSchema: Sendable {
    var fields: [String: FieldType]
    /// Keep `{}` rather than drop it: for volume sources (`emptyDir: {}`)
    /// an empty object is a choice, not an absence.
    var keepEmpty: Bool

    init(_ fields: [String: FieldType], keepEmpty: Bool = false) {
        self.fields = fields
        self.keepEmpty = keepEmpty
    }
}

/// The schemas of the kinds manifests may hold.
enum Schemas {
    static func schema(for kind: ResourceKind) -> FieldType {
        switch kind {
        case .namespace: return namespace
        case .configMap: return configMap
        case .secret: return secret
        case .service: return service
        case .pod: return pod
        case .deployment: return deployment
        default: return .object(ObjectSchema(top([:])))
        }
    }

    private static func top(_ fields: [String: FieldType]) -> [String: FieldType] {
        var all: [String: FieldType] = ["apiVersion": .string, "kind": .string, "metadata": objectMeta]
        for (key, value) in fields { all[key] = value }
        return all
    }

    static let objectMeta: FieldType = .object(ObjectSchema([
        "name": .string, "namespace": .string, "generateName": .string,
        "labels": .stringMap, "annotations": .stringMap,
        "finalizers": .list(.string),
    ]))

    static let templateMeta: FieldType = .object(ObjectSchema([
        "name": .string, "labels": .stringMap, "annotations": .stringMap,
    ]))

    static let labelSelector: FieldType = .object(ObjectSchema([
        "matchLabels": .stringMap,
        "matchExpressions": .list(.object(ObjectSchema([
            "key": .string, "operator": .string, "values": .list(.string),
        ]))),
    ]))

    // MARK: Pod spec

    static let keySelector: FieldType = .object(ObjectSchema(["name": .string, "key": .string, "optional": .bool]))
    static let reference: FieldType = .object(ObjectSchema(["name": .string, "optional": .bool]))

    static let envVar: FieldType = .object(ObjectSchema([
        "name": .string, "value": .string,
        "valueFrom": .object(ObjectSchema([
            "configMapKeyRef": keySelector, "secretKeyRef": keySelector,
            "fieldRef": .object(ObjectSchema(["fieldPath": .string, "apiVersion": .string])),
        ])),
    ]))

    static let probe: FieldType = .object(ObjectSchema([
        "httpGet": .object(ObjectSchema([
            "path": .string, "port": .intOrString, "host": .string, "scheme": .string,
            "httpHeaders": .list(.object(ObjectSchema(["name": .string, "value": .string]))),
        ])),
        "tcpSocket": .object(ObjectSchema(["port": .intOrString, "host": .string])),
        "exec": .object(ObjectSchema(["command": .list(.string)])),
        "initialDelaySeconds": .int, "timeoutSeconds": .int, "periodSeconds": .int,
        "successThreshold": .int, "failureThreshold": .int, "terminationGracePeriodSeconds": .int,
    ]))

    static let container: FieldType = .object(ObjectSchema([
        "name": .string, "image": .string, "imagePullPolicy": .string,
        "command": .list(.string), "args": .list(.string), "workingDir": .string,
        "env": .list(envVar),
        "envFrom": .list(.object(ObjectSchema(["prefix": .string, "configMapRef": reference, "secretRef": reference]))),
        "ports": .list(.object(ObjectSchema([
            "name": .string, "containerPort": .int, "hostPort": .int, "hostIP": .string, "protocol": .string,
        ]))),
        "resources": .object(ObjectSchema(["requests": .quantityMap, "limits": .quantityMap])),
        "livenessProbe": probe, "readinessProbe": probe, "startupProbe": probe,
        "volumeMounts": .list(.object(ObjectSchema([
            "name": .string, "mountPath": .string, "readOnly": .bool, "subPath": .string,
        ]))),
        "securityContext": .object(ObjectSchema([
            "runAsUser": .int, "runAsGroup": .int, "runAsNonRoot": .bool,
            "readOnlyRootFilesystem": .bool, "allowPrivilegeEscalation": .bool, "privileged": .bool,
            "capabilities": .object(ObjectSchema(["add": .list(.string), "drop": .list(.string)])),
        ])),
        "terminationMessagePath": .string, "terminationMessagePolicy": .string,
    ]))

    static let keyToPath: FieldType = .object(ObjectSchema(["key": .string, "path": .string, "mode": .int]))

    static let volume: FieldType = .object(ObjectSchema([
        "name": .string,
        "configMap": .object(ObjectSchema([
            "name": .string, "items": .list(keyToPath), "defaultMode": .int, "optional": .bool,
        ], keepEmpty: true)),
        "secret": .object(ObjectSchema([
            "secretName": .string, "items": .list(keyToPath), "defaultMode": .int, "optional": .bool,
        ], keepEmpty: true)),
        "emptyDir": .object(ObjectSchema(["medium": .string, "sizeLimit": .quantity], keepEmpty: true)),
    ]))

    static let podSpec: FieldType = .object(ObjectSchema([
        "containers": .list(container), "initContainers": .list(container),
        "volumes": .list(volume),
        "restartPolicy": .string, "terminationGracePeriodSeconds": .int,
        "hostname": .string, "nodeName": .string, "nodeSelector": .stringMap,
        "dnsPolicy": .string, "schedulerName": .string,
    ]))

    // MARK: Kinds

    static let namespace: FieldType = .object(ObjectSchema(top([
        "spec": .object(ObjectSchema(["finalizers": .list(.string)])),
    ])))

    static let configMap: FieldType = .object(ObjectSchema(top([
        "data": .stringMap, "binaryData": .stringMap, "immutable": .bool,
    ])))

    static let secret: FieldType = .object(ObjectSchema(top([
        "data": .stringMap, "stringData": .stringMap, "type": .string, "immutable": .bool,
    ])))

    static let pod: FieldType = .object(ObjectSchema(top(["spec": podSpec])))

    static let deployment: FieldType = .object(ObjectSchema(top([
        "spec": .object(ObjectSchema([
            "replicas": .int,
            "selector": labelSelector,
            "template": .object(ObjectSchema(["metadata": templateMeta, "spec": podSpec])),
            "strategy": .object(ObjectSchema([
                "type": .string,
                "rollingUpdate": .object(ObjectSchema(["maxSurge": .intOrString, "maxUnavailable": .intOrString])),
            ])),
            "minReadySeconds": .int, "progressDeadlineSeconds": .int, "revisionHistoryLimit": .int,
            "paused": .bool,
        ])),
    ])))

    static let service: FieldType = .object(ObjectSchema(top([
        "spec": .object(ObjectSchema([
            "type": .string, "selector": .stringMap,
            "ports": .list(.object(ObjectSchema([
                "name": .string, "protocol": .string, "port": .int, "targetPort": .intOrString, "nodePort": .int,
            ]))),
            "clusterIP": .string, "clusterIPs": .list(.string), "sessionAffinity": .string,
        ])),
    ])))
}
