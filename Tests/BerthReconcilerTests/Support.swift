import BerthAPI
import BerthGit
@testable import BerthReconciler
import BerthStore
import Crypto
import Foundation
import Logging
import Testing

/// A real git repository in a temp dir, driven with the git CLI.
struct TestRepo {
    let path: String
    var url: String { "file://" + path }

    init(in directory: String) throws {
        path = directory + "/repo"
        try FileManager.default.createDirectory(atPath: path + "/deploy", withIntermediateDirectories: true)
        try git("init", "-q", "-b", "main")
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-C", path] + arguments
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in ["GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
                             "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"] {
            environment[key] = value
        }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw BerthError(.git, "git \(arguments.joined(separator: " ")): \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(_ file: String, _ text: String) throws {
        try text.write(toFile: path + "/deploy/" + file, atomically: true, encoding: .utf8)
    }

    func remove(_ file: String) throws {
        try FileManager.default.removeItem(atPath: path + "/deploy/" + file)
    }

    @discardableResult
    func commit(_ message: String) throws -> String {
        try git("add", "-A")
        try git("commit", "-q", "-m", message)
        return try git("rev-parse", "HEAD")
    }
}

/// The manifests of the test app: a ConfigMap, a Secret, a Service and a Deployment.
enum AppManifests {
    static func files(version: String, replicas: Int = 2, greeting: String = "hello", password: String = "s3cret") -> [String: String] {
        [
            "config.yaml": """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: web-config
                data:
                  greeting: \(greeting)
                """,
            "secret.yaml": """
                apiVersion: v1
                kind: Secret
                metadata:
                  name: web-secret
                stringData:
                  password: \(password)
                """,
            "service.yaml": """
                apiVersion: v1
                kind: Service
                metadata:
                  name: web
                spec:
                  selector: { app: web }
                  ports: [ { port: 80, targetPort: 8080 } ]
                """,
            "deployment.yaml": """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: web
                spec:
                  replicas: \(replicas)
                  selector: { matchLabels: { app: web } }
                  template:
                    metadata: { labels: { app: web } }
                    spec:
                      containers:
                        - name: web
                          image: demo/web:\(version)
                """,
        ]
    }
}

/// Stands in for the orchestrator's Deployment controller in these tests
/// (the real one runs in the end-to-end tests): marks every Deployment
/// rolled out, except images tagged `broken`, which get
/// `Progressing=False ProgressDeadlineExceeded`.
actor FakeRolloutController {
    let store: Store
    private var task: Task<Void, Never>?
    private(set) var paused = false

    init(store: Store) { self.store = store }

    func start() {
        let store = self.store
        task = Task { [weak self] in
            while !Task.isCancelled {
                if await self?.paused == false { try? await Self.step(store) }
                try? await Task.sleep(for: .milliseconds(30))
            }
        }
    }

    func pause(_ value: Bool) { paused = value }

    func stop() { task?.cancel() }

    static func step(_ store: Store) async throws {
        for deployment in try await store.list(.deployment).items {
            let replicas = deployment.object["spec"]?["replicas"]?.intValue ?? 1
            let image = deployment.object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["image"]?.stringValue ?? ""
            var tree = deployment.object
            var status: [String: JSONValue] = ["observedGeneration": .int(Int(deployment.generation))]
            if image.hasSuffix("broken") {
                status["replicas"] = .int(replicas + 1)
                status["updatedReplicas"] = 1
                status["availableReplicas"] = .int(replicas)
                status["conditions"] = [["type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                         "message": "ReplicaSet web-broken has timed out progressing."]]
            } else {
                for field in ["replicas", "updatedReplicas", "availableReplicas", "readyReplicas"] { status[field] = .int(replicas) }
                status["conditions"] = [["type": "Available", "status": "True"], ["type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"]]
            }
            if tree["status"] == .object(status) { continue }
            tree["status"] = .object(status)
            tree["metadata"]?["resourceVersion"] = nil
            _ = try? await store.updateStatus(tree)
        }
    }
}

/// A temp dir with a real store, a real repo and a reconciler over them.
struct SyncHarness: Sendable {
    let directory: String
    let store: Store
    let repo: TestRepo
    let reconciler: Reconciler
    let controller: FakeRolloutController
    let source: SourceConfig

    static func with<T: Sendable>(
        secret: String? = "hook-secret", rolloutTimeout: Duration = .seconds(20), prune: Bool = true, selfHeal: Bool = true,
        admissionChecks: [any AdmissionCheck] = [],
        _ body: @Sendable (SyncHarness) async throws -> T
    ) async throws -> T {
        let directory = NSTemporaryDirectory() + "berth-reconciler-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let repo = try TestRepo(in: directory)
        for (name, text) in AppManifests.files(version: "v1") { try repo.write(name, text) }
        try repo.commit("v1")
        var secretSource: GitSecretSource?
        if let secret {
            try secret.write(toFile: directory + "/hook-secret", atomically: true, encoding: .utf8)
            secretSource = .file(directory + "/hook-secret")
        }
        let source = SourceConfig(name: "shop", url: repo.url, ref: "main", path: "deploy", interval: .seconds(3600),
                                  prune: prune, selfHeal: selfHeal, webhookSecret: secretSource, rolloutTimeout: rolloutTimeout)
        let store = try Store(dataDirectory: directory + "/data", options: Store.Options(extraMigrations: Reconciler.migrations))
        var logger = Logger(label: "berth.test")
        logger.logLevel = .warning
        let reconciler = Reconciler(config: BerthConfig(sources: [source], historyRetention: 100), store: store,
                                    git: LibGit2Source(dataDirectory: URL(fileURLWithPath: directory + "/git")),
                                    logger: logger, pollInterval: .milliseconds(40), admissionChecks: admissionChecks)
        let controller = FakeRolloutController(store: store)
        await controller.start()
        let harness = SyncHarness(directory: directory, store: store, repo: repo, reconciler: reconciler, controller: controller, source: source)
        let running = Task { try await reconciler.runSyncLoopsForTests() }
        defer { running.cancel() }
        defer { Task { await controller.stop() } }
        return try await body(harness)
    }

    /// Queues a sync and waits for its result.
    @discardableResult
    func sync(_ trigger: SyncTrigger = .manual, force: Bool = false) async throws -> SyncRecord {
        let id = try await reconciler.sync(source: "shop", trigger: trigger, force: force)
        return try await waitFor(id)
    }

    func waitFor(_ id: Int64, timeout: Duration = .seconds(30)) async throws -> SyncRecord {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            let record = try await reconciler.record(id: id)
            if record.state == .finished { return record }
            try await Task.sleep(for: .milliseconds(30))
        }
        throw BerthError(.timeout, "sync #\(id) did not finish")
    }

    func image() async throws -> String? {
        try await store.get(ResourceKind.deployment.key(namespace: "default", name: "web"))?
            .object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["image"]?.stringValue
    }

    func signedWebhook(_ payload: JSONValue, secret: String = "hook-secret", event: String = "push") async -> WebhookHandler.Response {
        let body = payload.canonicalJSON()
        let signature = "sha256=" + WebhookSignature.hmacSHA256Hex(secret: secret, body: body)
        return await WebhookHandler(reconciler: reconciler).handle(
            provider: .github, headers: ["x-hub-signature-256": signature, "x-github-event": event], body: body, sourceName: nil)
    }

    func pushPayload(ref: String = "refs/heads/main") -> JSONValue {
        ["ref": .string(ref), "repository": ["clone_url": .string(repo.url)]]
    }
}
