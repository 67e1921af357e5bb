import BerthAPI
import BerthServer
import BerthStore
import BerthTestSupport
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The `berth` binary against a real in-process server.
@Suite struct CLITests {
    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "berth-manifest-" + UUID().uuidString + ".yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func berth(_ server: TestServer, _ arguments: [String]) async throws -> BerthProcess.Result {
        try await BerthProcess.run(arguments + ["--server", server.baseURL, "--data-dir", server.dataDirectory])
    }

    static let manifest = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels: {app: web}
        spec:
          replicas: 2
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: main
                image: busybox:1.36
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
        data:
          port: "8080"
        """

    @Test func applyGetScaleDelete() async throws {
        try await TestServer.with { server in
            let file = try write(Self.manifest)
            defer { try? FileManager.default.removeItem(atPath: file) }

            let first = try await berth(server, ["apply", "-f", file])
            #expect(first.status == 0, "\(first.stderr)")
            // ConfigMaps are applied before Deployments.
            #expect(first.stdout == "configmap/settings created\ndeployment.apps/web created\n")
            let second = try await berth(server, ["apply", "-f", file])
            #expect(second.stdout == "configmap/settings unchanged\ndeployment.apps/web unchanged\n")
            let changed = try write(Self.manifest.replacingOccurrences(of: "busybox:1.36", with: "busybox:1.37"))
            defer { try? FileManager.default.removeItem(atPath: changed) }
            let third = try await berth(server, ["apply", "-f", changed])
            #expect(third.stdout.contains("deployment.apps/web configured"))
            let deployment = try #require(try await server.store.get(Deployment.self, namespace: "default", name: "web"))
            #expect(deployment.spec.template.spec.containers.first?.image == "busybox:1.37")
            #expect(deployment.metadata.generation == 2)

            let table = try await berth(server, ["get", "deployments"])
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"])
            let cells = lines.dropFirst().first?.split(separator: " ").map(String.init) ?? []
            #expect(cells.prefix(4) == ["web", "0/2", "0", "0"], "\(table.stdout)")
            // Columns line up under their headers.
            #expect(lines.dropFirst().first?.range(of: "0/2")?.lowerBound.utf16Offset(in: lines[1]) == lines.first?.range(of: "READY")?.lowerBound.utf16Offset(in: lines[0]))

            let scaled = try await berth(server, ["scale", "deployment/web", "--replicas", "5"])
            #expect(scaled.stdout == "deployment.apps/web scaled\n")
            #expect(try await server.store.get(Deployment.self, namespace: "default", name: "web")?.spec.replicas == 5)

            let json = try await berth(server, ["get", "deploy", "web", "-o", "json"])
            let tree = try JSONDecoder().decode(JSONValue.self, from: Data(json.stdout.utf8))
            #expect(tree["spec"]?["replicas"] == 5)

            let deleted = try await berth(server, ["delete", "deployment", "web"])
            #expect(deleted.stdout == "deployment.apps \"web\" deleted\n")
            #expect(try await server.store.get(Deployment.self, namespace: "default", name: "web") == nil)
            let missing = try await berth(server, ["get", "deploy", "web"])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("deployments \"web\" not found"))
        }
    }

    @Test func secretValuesAreNeverPrinted() async throws {
        try await TestServer.with { server in
            let value = "s3cr3t-Value-XYZ"
            let encoded = Data(value.utf8).base64EncodedString()
            let file = try write("""
                apiVersion: v1
                kind: Secret
                metadata: {name: db}
                stringData:
                  password: \(value)
                data:
                  token: \(Data("tok-123456".utf8).base64EncodedString())
                """)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let applied = try await berth(server, ["apply", "-f", file])
            #expect(applied.status == 0, "\(applied.stderr)")
            // The server holds the value (it must, to run pods) …
            let stored = try #require(try await server.store.get(Secret.self, namespace: "default", name: "db"))
            #expect(stored.data?["password"] == encoded)
            // … the CLI never shows it, in any format.
            var outputs: [String] = []
            for arguments in [
                ["get", "secret", "db", "-o", "yaml"], ["get", "secret", "db", "-o", "json"], ["get", "secrets", "-A", "-o", "yaml"],
                ["get", "secrets"], ["describe", "secret", "db"], ["get", "secrets", "-o", "wide"],
            ] {
                let result = try await berth(server, arguments)
                #expect(result.status == 0, "\(arguments): \(result.stderr)")
                outputs.append(result.stdout + result.stderr)
            }
            for output in outputs {
                #expect(!output.contains(value))
                #expect(!output.contains(encoded))
                #expect(!output.contains("tok-123456"))
            }
            #expect(outputs[0].contains("password: (16 bytes)"))
            #expect(outputs[0].contains("token: (10 bytes)"))
            #expect(outputs[4].contains("password:  16 bytes"))
        }
    }

    @Test func unreachableServerIsExplained() async throws {
        // A port that was free a moment ago: nothing listens there.
        let port = try E2ECluster.freePort()
        let result = try await BerthProcess.run(["get", "pods", "--server", "http://127.0.0.1:\(port)"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot reach berth at http://127.0.0.1:\(port): connection refused — is `berth serve` running?"))
    }

    @Test func wrongTokenIsExplained() async throws {
        try await TestServer.with { server in
            let result = try await BerthProcess.run(
                ["get", "pods", "--server", server.baseURL], environment: ["BERTH_TOKEN": "wrong"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("bearer token"))
        }
    }

    @Test func describeShowsEvents() async throws {
        try await TestServer.with { server in
            let pod = try await server.store.create([
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "web-1"],
                "spec": ["containers": [["name": "main", "image": "busybox"]]],
                "status": ["phase": "Running"],
            ])
            try await server.store.transaction { tx in
                try tx.recordEvent(about: pod, type: .warning, reason: "BackOff", message: "Back-off restarting failed container")
                try tx.recordEvent(about: pod, type: .warning, reason: "BackOff", message: "Back-off restarting failed container")
            }
            let result = try await berth(server, ["describe", "pod", "web-1"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("Name:              web-1"))
            #expect(result.stdout.contains("Status:            Running"))
            #expect(result.stdout.contains("BackOff"))
            #expect(result.stdout.contains("(x2 over"))
            let events = try await berth(server, ["get", "events"])
            #expect(events.stdout.contains("pod/web-1"))
        }
    }

    @Test func logsComeFromTheProvider() async throws {
        try await TestServer.with(logProvider: FixedLogProvider()) { server in
            try await server.store.create([
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "web-1"],
                "spec": ["containers": [["name": "main", "image": "busybox"]]],
            ])
            let result = try await berth(server, ["logs", "web-1", "--tail", "1"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "default/web-1/main line 5\n")
            let followed = try await berth(server, ["logs", "web-1", "-f", "-c", "main"])
            #expect(followed.stdout.split(separator: "\n").count == 5)
            let wrong = try await berth(server, ["logs", "web-1", "-c", "nope"])
            #expect(wrong.status != 0)
            #expect(wrong.stderr.contains("container nope is not valid"))
        }
    }

    @Test func rolloutHistoryAndUndo() async throws {
        try await TestServer.with { server in
            let deployment = try await server.store.create(deploymentBody("web"))
            for (revision, image) in [(1, "busybox:1.35"), (2, "busybox:1.36")] {
                try await server.store.create([
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": [
                        "name": .string("web-rev\(revision)"),
                        "annotations": [.init(stringLiteral: WellKnown.revisionAnnotation): .string(String(revision))],
                        "ownerReferences": [[
                            "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": .string(deployment.uid),
                            "controller": true,
                        ]],
                    ],
                    "spec": [
                        "replicas": 1, "selector": ["matchLabels": ["app": "web"]],
                        "template": [
                            "metadata": ["labels": ["app": "web", "pod-template-hash": .string("h\(revision)")]],
                            "spec": ["containers": [["name": "main", "image": .string(image)]]],
                        ],
                    ],
                ])
            }
            let history = try await berth(server, ["rollout", "history", "deployment/web"])
            #expect(history.status == 0, "\(history.stderr)")
            let rows = history.stdout.split(separator: "\n").dropFirst(2).map { $0.split(separator: " ").first.map(String.init) }
            #expect(rows == ["1", "2"])

            let undo = try await berth(server, ["rollout", "undo", "deployment/web", "--to-revision", "1"])
            #expect(undo.stdout == "deployment.apps/web rolled back\n", "\(undo.stderr)")
            let after = try #require(try await server.store.get(Deployment.self, namespace: "default", name: "web"))
            #expect(after.spec.template.spec.containers.first?.image == "busybox:1.35")
            #expect(after.spec.template.metadata?.labels?["pod-template-hash"] == nil)
            #expect(after.metadata.generation == 2)

            let missing = try await berth(server, ["rollout", "undo", "deployment/web", "--to-revision", "9"])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("unable to find revision 9"))

            // No status yet (no controllers here): report once and say what it waits for.
            let status = try await berth(server, ["rollout", "status", "deployment/web", "--watch", "false"])
            #expect(status.stdout.contains("Waiting for deployment spec update to be observed"))
        }
    }
}

/// `berth serve` itself, as a process: token file, health, SIGTERM. Serve
/// sets up the node network too, so it runs as an E2ECluster: its own
/// bridge, CIDRs and nftables tables, removed afterwards (with Berth's
/// defaults it left `berth0` and `table ip berth` behind on the machine).
@Suite(.serialized) struct ServeProcessTests {
    @Test(.enabled(if: E2ECluster.canRun)) func serveCreatesTokenAnswersAndStopsOnSigterm() async throws {
        let cluster = try E2ECluster(prefix: "bsrv")
        defer { cluster.destroy() }
        try cluster.startServe()
        let process = try #require(cluster.serve)
        let attributes = try FileManager.default.attributesOfItem(atPath: cluster.dataDir + "/token")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(FileManager.default.fileExists(atPath: cluster.dataDir + "/berth.db"))

        let pods = try await BerthProcess.run(["get", "pods", "--server", cluster.server, "--data-dir", cluster.dataDir])
        #expect(pods.stdout == "No resources found in default namespace.\n", "\(pods.stderr)")

        cluster.stopServe(signal: SIGTERM)
        #expect(!process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(cluster.serveLogText.contains("berth stopped"))
    }
}
