import BerthAPI
@testable import BerthManifests
import Foundation
import Testing

/// Defaults, canonical values and content hashes.
@Suite struct CanonicalFormTests {
    private func object(_ yaml: String, options: LoadOptions = LoadOptions()) throws -> ManifestObject {
        let result = load(yaml, options: options)
        #expect(result.errors.isEmpty, "\(result.errors.map(line))")
        return try #require(result.objects.first)
    }

    static let minimalDeployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: web
                image: nginx:1.25
                ports: [{containerPort: 80}]
                readinessProbe: {httpGet: {port: 80}}
              volumes:
              - name: config
                configMap: {name: web}
              - name: scratch
                emptyDir: {}
        """

    @Test(arguments: [
        ("metadata.namespace", JSONValue.string("default")),
        ("spec.replicas", .int(1)),
        ("spec.strategy.type", .string("RollingUpdate")),
        ("spec.strategy.rollingUpdate.maxSurge", .string("25%")),
        ("spec.strategy.rollingUpdate.maxUnavailable", .string("25%")),
        ("spec.progressDeadlineSeconds", .int(600)),
        ("spec.revisionHistoryLimit", .int(10)),
        ("spec.template.spec.restartPolicy", .string("Always")),
        ("spec.template.spec.terminationGracePeriodSeconds", .int(30)),
        ("spec.template.spec.dnsPolicy", .string("ClusterFirst")),
        ("spec.template.spec.schedulerName", .string("default-scheduler")),
        ("spec.template.spec.containers[0].imagePullPolicy", .string("IfNotPresent")),
        ("spec.template.spec.containers[0].terminationMessagePath", .string("/dev/termination-log")),
        ("spec.template.spec.containers[0].terminationMessagePolicy", .string("File")),
        ("spec.template.spec.containers[0].ports[0].protocol", .string("TCP")),
        ("spec.template.spec.containers[0].readinessProbe.timeoutSeconds", .int(1)),
        ("spec.template.spec.containers[0].readinessProbe.periodSeconds", .int(10)),
        ("spec.template.spec.containers[0].readinessProbe.successThreshold", .int(1)),
        ("spec.template.spec.containers[0].readinessProbe.failureThreshold", .int(3)),
        ("spec.template.spec.containers[0].readinessProbe.httpGet.path", .string("/")),
        ("spec.template.spec.containers[0].readinessProbe.httpGet.scheme", .string("HTTP")),
        ("spec.template.spec.volumes[0].configMap.defaultMode", .int(420)),
        ("spec.template.spec.volumes[1].emptyDir", .object([:])),
    ])
    func deploymentDefaults(path: String, expected: JSONValue) throws {
        #expect(try object(Self.minimalDeployment).tree.at(path) == expected)
    }

    @Test func namespaceOptionAndExplicitNamespace() throws {
        let options = LoadOptions(defaultNamespace: "team-a")
        #expect(try object(Self.minimalDeployment, options: options).key.namespace == "team-a")
        let namespace = try object("apiVersion: v1\nkind: Namespace\nmetadata: {name: x, namespace: ignored}", options: options)
        #expect(namespace.key.namespace == "")
        #expect(namespace.tree.at("metadata.namespace") == nil)
    }

    @Test(arguments: [
        ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
        ("registry:5000/nginx", "Always"), ("registry:5000/nginx:1", "IfNotPresent"),
        ("nginx@sha256:abc", "IfNotPresent"),
    ])
    func imagePullPolicyDefault(image: String, expected: String) {
        #expect(Defaults.pullPolicy(for: image) == expected)
    }

    @Test func serviceAndSecretDefaults() throws {
        let service = try object("""
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec:
              ports: [{port: 80}, {name: metrics, port: 9090, targetPort: metrics}]
            """.replacingOccurrences(of: "{port: 80}", with: "{name: http, port: 80}"))
        #expect(service.tree.at("spec.type") == .string("ClusterIP"))
        #expect(service.tree.at("spec.sessionAffinity") == .string("None"))
        #expect(service.tree.at("spec.ports[0].targetPort") == .int(80))
        #expect(service.tree.at("spec.ports[1].targetPort") == .string("metrics"))
        #expect(service.tree.at("spec.ports[1].protocol") == .string("TCP"))

        let secret = try object("""
            apiVersion: v1
            kind: Secret
            metadata: {name: s}
            data: {a: "YWJj\\nZA=="}
            stringData: {b: "plain", a: "wins"}
            """)
        #expect(secret.tree.at("type") == .string("Opaque"))
        #expect(secret.tree["stringData"] == nil)
        #expect(secret.tree["data"] == .object(["a": .string("d2lucw=="), "b": .string("cGxhaW4=")]))
    }

    /// Spellings that mean the same must give the same tree and hash.
    @Test(arguments: [
        ("cpu: 1", "cpu: 1000m"), ("cpu: 0.5", "cpu: 500m"), ("memory: 1Gi", "memory: 1024Mi"),
        ("memory: 1G", "memory: 1000M"), ("cpu: \"2\"", "cpu: 2.0"),
    ])
    func equivalentQuantities(a: String, b: String) throws {
        func pod(_ quantity: String) -> String {
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    resources:\n      limits:\n        \(quantity)\n"
        }
        let first = try object(pod(a)), second = try object(pod(b))
        #expect(first.tree == second.tree)
        #expect(first.hash == second.hash)
    }

    @Test func equivalentFormsHashTheSame() throws {
        let compact = try object(Self.minimalDeployment)
        let spelled = try object("""
            kind: Deployment
            apiVersion: apps/v1
            metadata:
              namespace: default
              name: web
              labels: {}
              annotations:
            spec:
              replicas: 1.0
              revisionHistoryLimit: 10
              strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 25%, maxSurge: 25%}}
              template:
                spec:
                  volumes:
                  - configMap: {defaultMode: 0644, name: web}
                    name: config
                  - {name: scratch, emptyDir: {}}
                  containers:
                  - image: nginx:1.25
                    name: web
                    env: []
                    ports: [{protocol: TCP, containerPort: 80}]
                    readinessProbe: {httpGet: {port: 80, path: /}, periodSeconds: 10}
                  restartPolicy: Always
                metadata: {labels: {app: web}, creationTimestamp: null}
              selector: {matchLabels: {app: web}}
            status: {replicas: 7}
            """)
        #expect(spelled.tree == compact.tree)
        #expect(spelled.hash == compact.hash)
    }

    @Test func hashChangesWithContent() throws {
        let one = try object(Self.minimalDeployment)
        let two = try object(Self.minimalDeployment.replacingOccurrences(of: "nginx:1.25", with: "nginx:1.26"))
        #expect(one.hash != two.hash)
        #expect(one.hash.count == 64)
    }

    @Test func hashIsSHA256OfCanonicalJSON() throws {
        let object = try object(Self.minimalDeployment)
        let bytes = CanonicalJSON.encode(object.tree)
        // Cross-check with the system's sha256sum, a real independent implementation.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("berth-hash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(bytes).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output.split(separator: " ").first.map(String.init) == object.hash)
        // Stable across runs: the canonical bytes do not depend on dictionary order.
        #expect(ManifestLoader.load(files: [ManifestFile(path: "x.yaml", data: Data(Self.minimalDeployment.utf8))]).objects.first?.hash == object.hash)
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256Vectors(input: String, expected: String) {
        #expect(SHA256Digest.hex(Array(input.utf8)) == expected)
    }

    @Test func canonicalJSONIsValidSortedJSON() throws {
        let tree = try object(Self.minimalDeployment).tree
        let bytes = CanonicalJSON.encode(tree)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == tree)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"))
        #expect(CanonicalJSON.string(.string("a\"b\\c\n\u{1}/é")) == "\"a\\\"b\\\\c\\n\\u0001/é\"")
        #expect(CanonicalJSON.string(.double(3)) == "3")
        #expect(CanonicalJSON.string(.double(0.25)) == "0.25")
    }

    @Test func sourceLabelIsAdded() throws {
        let object = try object(Self.minimalDeployment, options: LoadOptions(sourceName: "shop"))
        #expect(object.tree.at("metadata.labels")?[WellKnown.sourceLabel] == .string("shop"))
    }

    @Test func normalizeIsIdempotentOnLoadedObjects() throws {
        let result = ManifestLoader.load(files: try ManifestLoader.files(inDirectory: Fixtures.directory("valid")))
        for object in result.objects {
            #expect(ObjectNormalizer.normalize(object.tree) == object.tree, "\(object.key)")
        }
    }

    @Test(arguments: [
        ("YWJj", [UInt8]("abc".utf8)), ("YWI=", [UInt8]("ab".utf8)), ("YQ==", [UInt8]("a".utf8)), ("", []),
        ("YW\nJj", [UInt8]("abc".utf8)),
    ])
    func base64Decodes(text: String, bytes: [UInt8]) {
        #expect(Base64.decode(text) == .success(bytes))
        #expect(Base64.encode(bytes) == text.replacingOccurrences(of: "\n", with: ""))
    }

    @Test(arguments: [("YWJ", 3), ("Y=Jj", 1), ("YW*j", 2), ("YQ==YQ==", 2), ("YQ=a", 3)])
    func base64Rejects(text: String, offset: Int) {
        #expect(Base64.decode(text) == .failure(.illegal(at: offset)))
    }
}
