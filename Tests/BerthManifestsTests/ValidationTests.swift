import BerthAPI
import BerthManifests
import Foundation
import Testing

/// One rule per case: a small manifest and the exact errors it must give.
@Suite struct ValidationTests {
    private static func deployment(spec: String = "", pod: String = "", container: String = "") -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: d}}
        \(spec.isEmpty ? "" : "  " + spec)
          template:
            metadata: {labels: {app: d}}
            spec:
        \(pod.isEmpty ? "" : "      " + pod)
              containers:
              - name: c
                image: i
        \(container.isEmpty ? "" : "        " + container)
        """
    }

    static let cases: [(String, [String])] = [
        (deployment(), []),
        (deployment(spec: "strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}"),
         ["test.yaml:6:30: Deployment/default/d: spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]),
        (deployment(spec: "strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}"),
         ["test.yaml:6:59: Deployment/default/d: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"]),
        (deployment(spec: "strategy: {rollingUpdate: {maxSurge: 1x}}"),
         ["test.yaml:6:40: Deployment/default/d: spec.strategy.rollingUpdate.maxSurge: Invalid value: \"1x\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%', regex used for validation is '[0-9]+%')"]),
        (deployment(spec: "strategy: {type: BlueGreen}"),
         ["test.yaml:6:20: Deployment/default/d: spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: \"Recreate\", \"RollingUpdate\""]),
        (deployment(spec: "replicas: -1"),
         ["test.yaml:6:13: Deployment/default/d: spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
        (deployment(spec: "replicas: 2.5"),
         ["test.yaml:6:13: Deployment/default/d: spec.replicas: Invalid type: got number, expected integer"]),
        (deployment(pod: "restartPolicy: Never"),
         ["test.yaml:10:22: Deployment/default/d: spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""]),
        (deployment(pod: "volumes: [{name: v, emptyDir: {}, configMap: {name: c}}, {name: v, emptyDir: {}}, {name: w}]"),
         ["test.yaml:10:27: Deployment/default/d: spec.template.spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type",
          "test.yaml:10:71: Deployment/default/d: spec.template.spec.volumes[1].name: Duplicate value: \"v\"",
          "test.yaml:10:89: Deployment/default/d: spec.template.spec.volumes[2]: Required value: must specify a volume type"]),
        (deployment(container: "readinessProbe: {periodSeconds: 5}"),
         ["test.yaml:14:9: Deployment/default/d: spec.template.spec.containers[0].readinessProbe: Required value: must specify a handler type"]),
        (deployment(container: "livenessProbe: {exec: {command: [x]}, successThreshold: 2}"),
         ["test.yaml:14:65: Deployment/default/d: spec.template.spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
        (deployment(container: "env: [{name: A, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}, {name: A.b-c_1}]"),
         ["test.yaml:14:35: Deployment/default/d: spec.template.spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"]),
        (deployment(container: "resources: {requests: {cpu: 2}, limits: {cpu: 1000m}}"),
         ["test.yaml:14:37: Deployment/default/d: spec.template.spec.containers[0].resources.requests.cpu: Invalid value: \"2\": must be less than or equal to cpu limit of 1"]),
        (deployment(container: "ports: [{containerPort: 80, name: http}, {containerPort: 81, name: http}, {containerPort: 82, name: Web}]"),
         ["test.yaml:14:76: Deployment/default/d: spec.template.spec.containers[0].ports[1].name: Duplicate value: \"http\"",
          "test.yaml:14:109: Deployment/default/d: spec.template.spec.containers[0].ports[2].name: Invalid value: \"Web\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]),
        (deployment(container: "volumeMounts: [{name: v}]"),
         ["test.yaml:14:24: Deployment/default/d: spec.template.spec.containers[0].volumeMounts[0].mountPath: Required value",
          "test.yaml:14:31: Deployment/default/d: spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"v\""]),
        ("""
         apiVersion: apps/v1
         kind: Deployment
         metadata: {name: d, namespace: Bad_NS, annotations: {berth.dev/sync-wave: soon, "bad key!": x}}
         spec:
           selector: {}
           template: {spec: {containers: []}}
         """,
         ["test.yaml:3:32: Deployment/Bad_NS/d: metadata.namespace: Invalid value: \"Bad_NS\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
          "test.yaml:3:40: Deployment/Bad_NS/d: metadata.annotations: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
          "test.yaml:3:75: Deployment/Bad_NS/d: metadata.annotations[berth.dev/sync-wave]: Invalid value: \"soon\": must be an integer",
          // Empty maps and lists mean "unset", so nothing is left of this spec.
          "test.yaml:4:1: Deployment/default/d: spec: Required value"].map {
              $0.replacingOccurrences(of: "Deployment/default/d", with: "Deployment/Bad_NS/d")
          }),
        ("""
         apiVersion: v1
         kind: Service
         metadata: {name: s, generateName: s-}
         spec:
           type: LoadBalancer
           ports: [{port: 80}, {port: 80, name: b, nodePort: 30080}]
         """,
         ["test.yaml:5:9: Service/default/s: spec.type: Unsupported value: \"LoadBalancer\": supported values: \"ClusterIP\", \"NodePort\"",
          "test.yaml:6:11: Service/default/s: spec.ports[0].name: Required value",
          "test.yaml:6:23: Service/default/s: spec.ports[1]: Duplicate value: {port: 80, protocol: \"TCP\"}",
          "test.yaml:6:53: Service/default/s: spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'LoadBalancer'"]),
        ("""
         apiVersion: v1
         kind: ConfigMap
         metadata: {name: c, labels: {"-x": v}}
         data: {"a b": x, ok: z}
         binaryData: {ok: "eQ==", bin: "%%"}
         """,
         ["test.yaml:3:21: ConfigMap/default/c: metadata.labels: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
          "test.yaml:4:1: ConfigMap/default/c: data: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          "test.yaml:5:18: ConfigMap/default/c: binaryData.ok: Duplicate value: \"ok\"",
          "test.yaml:5:31: ConfigMap/default/c: binaryData.bin: Invalid value: illegal base64 data at input byte 0"]),
        ("""
         apiVersion: v1
         kind: Namespace
         metadata: {name: Shop}
         """,
         ["test.yaml:3:18: Namespace/Shop: metadata.name: Invalid value: \"Shop\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]),
        ("apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: [{name: c, image: i}]}\n",
         ["test.yaml:3:11: Pod/default/(no name): metadata.name: Required value: name or generateName is required"]),
        ("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old}\n",
         ["test.yaml:1:1: Deployment/default/old: unsupported kind \"Deployment\" of apiVersion \"extensions/v1beta1\"; Berth supports v1 Namespace, v1 ConfigMap, v1 Secret, v1 Service, v1 Pod, apps/v1 Deployment"]),
    ]

    @Test(arguments: cases.indices)
    func rule(case index: Int) {
        let (yaml, expected) = Self.cases[index]
        let result = load(yaml)
        #expect(result.errors.map(line) == expected, "\(yaml)")
        #expect(result.objects.count == (expected.isEmpty ? 1 : 0))
    }
}

@Suite struct YAMLTypePitfallTests {
    /// The classic kubectl surprises: unquoted `yes`, numbers in string fields.
    @Test func scalarsInStringFieldsAskForQuotes() {
        let result = load("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers:
              - name: c
                image: i
                env:
                - {name: DEBUG, value: yes}
                - {name: PORT, value: 8080}
                - {name: RATIO, value: "0.5"}
            """)
        #expect(result.errors.map { "\(line($0)) (\($0.hint ?? ""))" } == [
            "test.yaml:9:28: Pod/default/p: spec.containers[0].env[0].value: Invalid type: got boolean, expected string (put the value in quotes)",
            "test.yaml:10:27: Pod/default/p: spec.containers[0].env[1].value: Invalid type: got integer, expected string (put the value in quotes)",
        ])
    }
}
