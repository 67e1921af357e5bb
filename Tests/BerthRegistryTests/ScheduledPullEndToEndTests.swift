import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// A real `berth serve` and a real docker-registry: a pod whose image exists
/// only in the registry is pulled when the kubelet starts it; a missing image
/// leaves the pod waiting with the registry's message; berth.yaml's
/// `registries:` (credentials from a file, mirrors) and Docker's config.json
/// reach the puller `serve` uses. Needs root (real containers, a bridge,
/// nftables), like BerthOrchestratorEndToEndTests.
@Suite("berth serve pulls images at schedule time (real registry, real containers)", .serialized,
       .enabled(if: ServeNode.canRun, "needs root and the built berth executable"))
struct ScheduledPullEndToEndTests {
    static func podYAML(_ name: String, image: String, pullPolicy: String? = nil) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: \(name)
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: \(image)
            command: ["sh", "-c", "exec sleep 3600"]
        \(pullPolicy.map { "    imagePullPolicy: \($0)" } ?? "")
        """
    }

    /// A node, destroyed (with the serve log attached on failure) whatever happens.
    func withNode(_ body: (ServeNode) async throws -> Void) async throws {
        let node = try ServeNode()
        do {
            try await body(node)
        } catch {
            Issue.record("serve log tail:\n\(node.serveLog.suffix(4000))")
            await node.destroy()
            throw error
        }
        await node.destroy()
    }

    /// The busybox test image, pushed to `registry` as `repository:1`.
    func seed(_ registry: TestRegistry, repository: String, in dir: String) throws {
        let layout = dir + "/layout"
        if !FileManager.default.fileExists(atPath: layout) { _ = try RegistryTestSupport.buildBusybox(into: layout) }
        try registry.push(layout: layout, as: "\(repository):1")
    }

    @Test("a pod whose image is only in the registry is pulled and runs; a missing image waits with ErrImagePull")
    func pullAtScheduleTime() async throws {
        let dir = try RegistryTestSupport.makeTempDir("layout-e2e")
        defer { RegistryTestSupport.cleanup(dir) }
        try await withRegistry(.plain) { registry in
            try seed(registry, repository: "e2e/busybox", in: dir)
            try await withNode { node in
                try await node.start()
                // Nothing local: `berth image ls` of the node's store is empty before.
                let before = try await ServeNode.run(ServeNode.executable, ["image", "ls", "--data-dir", node.dataDir])
                #expect(!before.output.contains("e2e/busybox"))

                try await node.apply(Self.podYAML("pulled", image: "\(registry.host)/e2e/busybox:1"))
                try await node.apply(Self.podYAML("missing", image: "\(registry.host)/e2e/missing:1", pullPolicy: "Always"))
                try await node.waitForPod("pulled", "Running", ServeNode.isRunning)

                let after = try await ServeNode.run(ServeNode.executable, ["image", "ls", "--data-dir", node.dataDir])
                #expect(after.output.contains("\(registry.host)/e2e/busybox"), "the pulled image is in the node's store: \(after.output)")

                let missing = try await node.waitForPod("missing", "waiting on a failed pull") { pod in
                    let reason = (ServeNode.containerState(pod)["waiting"] as? [String: Any])?["reason"] as? String
                    return reason == "ErrImagePull" || reason == "ImagePullBackOff"
                }
                let waiting = ServeNode.containerState(missing)["waiting"] as? [String: Any] ?? [:]
                let message = waiting["message"] as? String ?? ""
                #expect(message.contains("e2e/missing"), "the message names the repository: \(message)")
                #expect(message.contains("MANIFEST_UNKNOWN") || message.contains("NAME_UNKNOWN"), "the registry's own message: \(message)")
            }
        }
    }

    @Test("berth.yaml registries: credentials from a passwordFile and a mirror reach serve's puller; the password is never logged")
    func berthYAMLRegistries() async throws {
        let dir = try RegistryTestSupport.makeTempDir("layout-e2e")
        defer { RegistryTestSupport.cleanup(dir) }
        try await withRegistry(.token) { secured in
            try await withRegistry(.plain) { mirror in
                try seed(secured, repository: "e2e/private", in: dir)
                try seed(mirror, repository: "e2e/mirrored", in: dir)
                let credential = try #require(secured.credential)
                try await withNode { node in
                    let passwordFile = node.dataDir + "/registry-password"
                    try (credential.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
                    let config = """
                    registries:
                      - host: \(secured.host)
                        username: \(credential.username)
                        passwordFile: \(passwordFile)
                      - host: mirror.berth.test
                        mirrors: ["http://\(mirror.host)"]
                    """
                    try config.write(toFile: node.dataDir + "/berth.yaml", atomically: true, encoding: .utf8)
                    try await node.start(arguments: ["--config", node.dataDir + "/berth.yaml"], environment: ["LOG_LEVEL": "debug"])

                    // Only the token registry has it: the credential from the file was used.
                    try await node.apply(Self.podYAML("private", image: "\(secured.host)/e2e/private:1"))
                    // mirror.berth.test does not resolve: only the mirror can serve it.
                    try await node.apply(Self.podYAML("mirrored", image: "mirror.berth.test/e2e/mirrored:1"))
                    try await node.waitForPod("private", "Running", ServeNode.isRunning)
                    try await node.waitForPod("mirrored", "Running", ServeNode.isRunning)
                    #expect(secured.tokenServer?.requests.count ?? 0 > 0)
                    #expect(!node.serveLog.contains(credential.password), "the password is not in serve's (debug) log")
                    #expect(!node.serveLog.contains(Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()))
                }
            }
        }
    }

    @Test("Docker config.json auths reach serve's puller; without credentials the pod waits with the 401")
    func dockerConfigCredentials() async throws {
        let dir = try RegistryTestSupport.makeTempDir("layout-e2e")
        defer { RegistryTestSupport.cleanup(dir) }
        try await withRegistry(.token) { secured in
            try seed(secured, repository: "e2e/private", in: dir)
            let credential = try #require(secured.credential)
            try await withNode { node in
                let dockerDir = node.dataDir + "/docker"
                try FileManager.default.createDirectory(atPath: dockerDir, withIntermediateDirectories: true)
                let auth = Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()
                let json = #"{"auths": {"http://\#(secured.host)": {"auth": "\#(auth)"}}}"#
                try json.write(toFile: dockerDir + "/config.json", atomically: true, encoding: .utf8)
                try await node.start(environment: ["DOCKER_CONFIG": dockerDir])
                try await node.apply(Self.podYAML("private", image: "\(secured.host)/e2e/private:1"))
                try await node.waitForPod("private", "Running", ServeNode.isRunning)
                #expect(!node.serveLog.contains(credential.password))
            }
            // The same pod on a node without the config.json: 401, named.
            try await withNode { node in
                try await node.start()
                try await node.apply(Self.podYAML("private", image: "\(secured.host)/e2e/private:1"))
                let pod = try await node.waitForPod("private", "waiting on a refused pull") { pod in
                    let reason = (ServeNode.containerState(pod)["waiting"] as? [String: Any])?["reason"] as? String
                    return reason == "ErrImagePull" || reason == "ImagePullBackOff"
                }
                let message = (ServeNode.containerState(pod)["waiting"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("e2e/private") && message.contains(secured.host), "\(message)")
            }
        }
    }
}
