import BerthAPI
import BerthRuntime
import Foundation
import Testing
@testable import BerthOrchestrator

func makePod(_ name: String, image: String = "app:v1", restartPolicy: String? = nil, configure: (inout PodSpec) -> Void = { _ in }) -> Pod {
    var spec = PodSpec(containers: [Container(name: "app", image: image)])
    spec.restartPolicy = restartPolicy
    configure(&spec)
    return Pod(metadata: ObjectMeta(name: name, namespace: "default"), spec: spec)
}

@Suite struct KubeletTests {
    func pod(_ h: Harness, _ name: String) async throws -> Pod {
        try #require(try await h.store.get(Pod.self, namespace: "default", name: name))
    }

    @Test func crashLoopBackoffTiming() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setBehaviour("crash:v1", .exit(after: 0, code: 1))
        _ = try await h.store.create(makePod("crasher", image: "crash:v1"))
        try await h.run(upTo: 1400) { await h.runtime.startTimes(of: "app").count >= 10 }
        let starts = await h.runtime.startTimes(of: "app")
        let gaps = zip(starts.dropFirst(), starts).map { Int($0.timeIntervalSince($1).rounded()) }
        // First restart as soon as the exit is seen (next relist, 1 s), then 10 s doubling to 300 s.
        #expect(Array(gaps.prefix(9)) == [1, 10, 20, 40, 80, 160, 300, 300, 300], "\(gaps)")
        let p = try await pod(h, "crasher")
        let status = try #require(p.status?.containerStatuses?.first)
        #expect(status.restartCount >= 8)
        #expect(status.lastState?.terminated?.exitCode == 1)
        #expect(status.lastState?.terminated?.reason == "Error")
        try await h.step()
        let waiting = try await pod(h, "crasher").status?.containerStatuses?.first?.state?.waiting
        #expect(waiting?.reason == "CrashLoopBackOff")
        #expect(waiting?.message?.contains("back-off 5m0s restarting failed container=app") == true)
        #expect(try await pod(h, "crasher").status?.phase == "Running")
        #expect(await h.store.events.contains { $0.reason == "BackOff" })
    }

    @Test func backoffResetsAfterTenMinutesOfRunning() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        // Five quick crashes, one container that runs 11 minutes, then quick crashes again.
        let quick = FakeNodeRuntime.Behaviour.exit(after: 0, code: 1)
        await h.runtime.setBehaviours("crash:v1", Array(repeating: quick, count: 5) + [.exit(after: 660, code: 1), quick])
        _ = try await h.store.create(makePod("crasher", image: "crash:v1"))
        try await h.run(upTo: 1400) { await h.runtime.startTimes(of: "app").count >= 9 }
        let starts = await h.runtime.startTimes(of: "app")
        let gaps = zip(starts.dropFirst(), starts).map { Int($0.timeIntervalSince($1).rounded()) }
        try #require(gaps.count >= 8, "\(gaps)")
        // Before: 1,10,20,40 then (wait 80) a run of 660 s (its exit seen at once); after it the backoff starts over.
        #expect(Array(gaps.prefix(4)) == [1, 10, 20, 40], "\(gaps)")
        #expect(gaps[4] == 80, "\(gaps)")
        #expect(Array(gaps[5...7]) == [660, 10, 20], "\(gaps)")
    }

    @Test func restartPolicies() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setBehaviour("ok:v1", .exit(after: 2, code: 0))
        await h.runtime.setBehaviour("fail:v1", .exit(after: 2, code: 3))
        _ = try await h.store.create(makePod("never-ok", image: "ok:v1", restartPolicy: "Never"))
        _ = try await h.store.create(makePod("never-fail", image: "fail:v1", restartPolicy: "Never"))
        _ = try await h.store.create(makePod("onfailure-ok", image: "ok:v1", restartPolicy: "OnFailure"))
        _ = try await h.store.create(makePod("onfailure-fail", image: "fail:v1", restartPolicy: "OnFailure"))
        for _ in 0..<15 { try await h.step() }
        #expect(try await pod(h, "never-ok").status?.phase == "Succeeded")
        let failed = try await pod(h, "never-fail")
        #expect(failed.status?.phase == "Failed")
        #expect(failed.status?.containerStatuses?.first?.state?.terminated?.exitCode == 3)
        #expect(try await pod(h, "onfailure-ok").status?.phase == "Succeeded")
        let retried = try await pod(h, "onfailure-fail")
        #expect(retried.status?.phase == "Running")
        #expect((retried.status?.containerStatuses?.first?.restartCount ?? 0) >= 1)
        // Finished pods release their sandbox.
        let sandboxes = await h.runtime.sandboxes.values.map(\.podUID)
        #expect(!sandboxes.contains(try await pod(h, "never-ok").metadata.uid ?? ""))
    }

    @Test func oomKilledIsReported() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setBehaviour("hog:v1", .oom(after: 3))
        _ = try await h.store.create(makePod("hog", image: "hog:v1"))
        try await h.run(upTo: 20) { (try await pod(h, "hog").status?.containerStatuses?.first?.restartCount ?? 0) >= 1 }
        let last = try await pod(h, "hog").status?.containerStatuses?.first?.lastState?.terminated
        #expect(last?.reason == "OOMKilled")
        #expect(last?.exitCode == 137)
    }

    @Test func imageErrors() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setMissing("gone:v1")
        _ = try await h.store.create(makePod("never") { $0.containers[0].image = "gone:v1"; $0.containers[0].imagePullPolicy = "Never" })
        _ = try await h.store.create(makePod("pull") { $0.containers[0].image = "gone:v1" })
        for _ in 0..<3 { try await h.step() }
        #expect(try await pod(h, "never").status?.containerStatuses?.first?.state?.waiting?.reason == "ErrImageNeverPull")
        #expect(["ErrImagePull", "ImagePullBackOff"].contains(try await pod(h, "pull").status?.containerStatuses?.first?.state?.waiting?.reason ?? ""))
        #expect(try await pod(h, "pull").status?.phase == "Pending")
    }

    @Test func imagePullBackOff() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setBroken("flaky:v1")
        _ = try await h.store.create(makePod("puller", image: "flaky:v1"))
        try await h.orchestrator.settle()
        func waiting() async throws -> ContainerStatus.Waiting? {
            try await pod(h, "puller").status?.containerStatuses?.first?.state?.waiting
        }
        // The failed pull: ErrImagePull with the registry's message …
        #expect(try await waiting()?.reason == "ErrImagePull")
        #expect(try await waiting()?.message?.contains("connection refused") == true)
        // … then ImagePullBackOff while the backoff runs.
        try await h.step()
        #expect(try await waiting()?.reason == "ImagePullBackOff")
        // It keeps the registry's message, as the kubelet does.
        #expect(try await waiting()?.message?.hasPrefix("Back-off pulling image \"flaky:v1\": ErrImagePull: ") == true)
        #expect(try await waiting()?.message?.contains("connection refused") == true)
        #expect(try await pod(h, "puller").status?.phase == "Pending")
        try await h.run(upTo: 400) { await h.runtime.pullTimes(of: "flaky:v1").count >= 6 }
        let attempts = await h.runtime.pullTimes(of: "flaky:v1")
        let gaps = zip(attempts.dropFirst(), attempts).map { Int($0.timeIntervalSince($1).rounded()) }
        #expect(Array(gaps.prefix(5)) == [10, 20, 40, 80, 160], "\(gaps)")
        let events = await h.store.events
        #expect(events.contains { $0.reason == "Failed" && $0.message.hasPrefix("Failed to pull image \"flaky:v1\": ") && $0.type == "Warning" })
        #expect(events.contains { $0.reason == "Failed" && $0.message == "Error: ErrImagePull" })
        #expect(events.contains { $0.reason == "BackOff" && $0.message == "Back-off pulling image \"flaky:v1\"" })
        // Once the registry answers, the next attempt (after the backoff) runs the container.
        await h.runtime.setRepaired("flaky:v1")
        let took = try await h.run(upTo: 400) {
            try await pod(h, "puller").status?.containerStatuses?.first?.state?.running != nil
        }
        let waited = try #require(took)
        #expect(waited > 1, "the repaired image waits for the backoff to end")
        #expect(await h.runtime.startTimes(of: "app").count == 1)
    }

    @Test func environmentFromValuesConfigMapsSecretsAndFields() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(ConfigMap(metadata: ObjectMeta(name: "cfg", namespace: "default"),
                                                data: ["MODE": "fast", "LEVEL": "3"]))
        _ = try await h.store.create(Secret(metadata: ObjectMeta(name: "creds", namespace: "default"),
                                             data: ["password": Data("s3cret".utf8).base64EncodedString()]))
        _ = try await h.store.create(makePod("envy") { spec in
            spec.containers[0].env = [
                EnvVar(name: "PLAIN", value: "x"),
                EnvVar(name: "DERIVED", value: "$(PLAIN)-y"),
                EnvVar(name: "MODE", valueFrom: EnvVarSource(configMapKeyRef: KeySelector(name: "cfg", key: "MODE"))),
                EnvVar(name: "PASS", valueFrom: EnvVarSource(secretKeyRef: KeySelector(name: "creds", key: "password"))),
                EnvVar(name: "POD", valueFrom: EnvVarSource(fieldRef: FieldSelector(fieldPath: "metadata.name"))),
                EnvVar(name: "NS", valueFrom: EnvVarSource(fieldRef: FieldSelector(fieldPath: "metadata.namespace"))),
                EnvVar(name: "IP", valueFrom: EnvVarSource(fieldRef: FieldSelector(fieldPath: "status.podIP"))),
                EnvVar(name: "NODE", valueFrom: EnvVarSource(fieldRef: FieldSelector(fieldPath: "spec.nodeName"))),
            ]
            spec.containers[0].envFrom = [EnvFromSource(prefix: "CFG_", configMapRef: .init(name: "cfg"))]
            spec.containers[0].resources = ResourceRequirements(
                requests: ["cpu": Quantity("250m")!], limits: ["cpu": Quantity("500m")!, "memory": Quantity("128Mi")!])
        })
        for _ in 0..<2 { try await h.step() }
        let config = try #require(await h.runtime.configs(named: "app").first)
        let sandbox = try #require(await h.runtime.sandboxes.values.first)
        #expect(config.env["PLAIN"] == "x")
        #expect(config.env["DERIVED"] == "x-y")
        #expect(config.env["MODE"] == "fast")
        #expect(config.env["PASS"] == "s3cret")
        #expect(config.env["POD"] == "envy")
        #expect(config.env["NS"] == "default")
        #expect(config.env["IP"] == sandbox.ip)
        #expect(config.env["NODE"] == "node-1")
        #expect(config.env["CFG_LEVEL"] == "3")
        #expect(config.limits == ResourceLimits(memoryBytes: 128 << 20, cpuMillis: 500, cpuRequestMillis: 250))
        #expect(config.labels[RuntimeLabels.containerName] == "app")
        #expect(config.labels[RuntimeLabels.containerAttempt] == "0")
        // A changed ConfigMap does not restart the pod.
        var cfg = try #require(try await h.store.get(ConfigMap.self, namespace: "default", name: "cfg"))
        cfg.data?["MODE"] = "slow"
        _ = try await h.store.update(cfg)
        for _ in 0..<3 { try await h.step() }
        #expect(await h.runtime.creates == 1)
        #expect(try await pod(h, "envy").status?.containerStatuses?.first?.restartCount == 0)
    }

    @Test func missingConfigMapKeyIsCreateContainerConfigError() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(ConfigMap(metadata: ObjectMeta(name: "cfg", namespace: "default"), data: ["A": "1"]))
        _ = try await h.store.create(makePod("broken") { spec in
            spec.containers[0].env = [EnvVar(name: "B", valueFrom: EnvVarSource(configMapKeyRef: KeySelector(name: "cfg", key: "B")))]
        })
        for _ in 0..<2 { try await h.step() }
        let waiting = try await pod(h, "broken").status?.containerStatuses?.first?.state?.waiting
        #expect(waiting?.reason == "CreateContainerConfigError")
        #expect(waiting?.message == "couldn't find key B in ConfigMap default/cfg")
        #expect(await h.runtime.creates == 0)
        // Adding the key lets the container start.
        var cfg = try #require(try await h.store.get(ConfigMap.self, namespace: "default", name: "cfg"))
        cfg.data?["B"] = "2"
        _ = try await h.store.update(cfg)
        try await h.run(upTo: 10) { try await pod(h, "broken").status?.phase == "Running" }
        #expect(await h.runtime.configs(named: "app").first?.env["B"] == "2")
    }

    @Test func volumesAreWrittenAndMounted() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(ConfigMap(metadata: ObjectMeta(name: "cfg", namespace: "default"),
                                                data: ["app.conf": "listen 80\n", "other": "o"]))
        _ = try await h.store.create(Secret(metadata: ObjectMeta(name: "tls", namespace: "default"),
                                             data: ["key.pem": Data("KEY".utf8).base64EncodedString()]))
        let created = try await h.store.create(makePod("vols") { spec in
            var config = Volume(name: "config")
            config.configMap = Volume.ConfigMapSource(name: "cfg")
            config.configMap?.items = [Volume.KeyToPath(key: "app.conf", path: "conf/app.conf")]
            var secret = Volume(name: "tls")
            secret.secret = Volume.SecretSource(secretName: "tls")
            secret.secret?.defaultMode = 0o400
            var scratch = Volume(name: "scratch")
            scratch.emptyDir = Volume.EmptyDirSource()
            spec.volumes = [config, secret, scratch]
            spec.containers[0].volumeMounts = [
                VolumeMount(name: "config", mountPath: "/etc/app"),
                VolumeMount(name: "tls", mountPath: "/etc/tls"),
                VolumeMount(name: "scratch", mountPath: "/tmp/work"),
            ]
        })
        for _ in 0..<2 { try await h.step() }
        let config = try #require(await h.runtime.configs(named: "app").first)
        let base = "\(h.dataDir)/pods/\(created.metadata.uid ?? "")/volumes"
        #expect(config.mounts == [
            Mount(hostPath: "\(base)/config", containerPath: "/etc/app", readOnly: true),
            Mount(hostPath: "\(base)/tls", containerPath: "/etc/tls", readOnly: true),
            Mount(hostPath: "\(base)/scratch", containerPath: "/tmp/work", readOnly: false),
        ])
        #expect(try String(contentsOfFile: "\(base)/config/conf/app.conf", encoding: .utf8) == "listen 80\n")
        #expect(!FileManager.default.fileExists(atPath: "\(base)/config/other"))
        #expect(try String(contentsOfFile: "\(base)/tls/key.pem", encoding: .utf8) == "KEY")
        let mode = try FileManager.default.attributesOfItem(atPath: "\(base)/tls/key.pem")[.posixPermissions] as? Int
        #expect(mode == 0o400)
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: "\(base)/scratch", isDirectory: &isDir) && isDir.boolValue)
        // Deleting the pod removes its directory.
        let p = try await pod(h, "vols")
        try await PodDeleter(store: h.store, clock: h.clock, localNodeName: "node-1").delete(p)
        try await h.step()
        #expect(!FileManager.default.fileExists(atPath: "\(h.dataDir)/pods/\(created.metadata.uid ?? "")"))
    }

    @Test func initContainersRunInOrderBeforeAppContainers() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setBehaviour("init-a", .exit(after: 2, code: 0))
        await h.runtime.setBehaviour("init-b", .exit(after: 3, code: 0))
        _ = try await h.store.create(makePod("inits") { spec in
            spec.initContainers = [Container(name: "a", image: "init-a"), Container(name: "b", image: "init-b")]
        })
        try await h.step()
        #expect(try await pod(h, "inits").status?.phase == "Pending")
        #expect(try await pod(h, "inits").status?.conditions?.first { $0.type == "Initialized" }?.status == "False")
        try await h.run(upTo: 20) { try await pod(h, "inits").status?.phase == "Running" }
        let a = try #require(await h.runtime.startTimes(of: "a").first)
        let b = try #require(await h.runtime.startTimes(of: "b").first)
        let app = try #require(await h.runtime.startTimes(of: "app").first)
        #expect(a.distance(to: b) >= 2)
        #expect(b.distance(to: app) >= 3)
        let p = try await pod(h, "inits")
        #expect(p.status?.initContainerStatuses?.map { $0.state?.terminated?.reason } == ["Completed", "Completed"])
        #expect(p.status?.conditions?.first { $0.type == "Initialized" }?.status == "True")
    }

    @Test func failedInitContainerWithRestartNeverFailsThePod() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setBehaviour("init-bad", .exit(after: 1, code: 2))
        _ = try await h.store.create(makePod("badinit", restartPolicy: "Never") { spec in
            spec.initContainers = [Container(name: "setup", image: "init-bad")]
        })
        try await h.run(upTo: 10) { try await pod(h, "badinit").status?.phase == "Failed" }
        #expect(try await pod(h, "badinit").status?.phase == "Failed")
        #expect(await h.runtime.startTimes(of: "app").isEmpty)
    }

    @Test func livenessFailureRestartsAndReadinessGatesReady() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makePod("probed") { spec in
            var liveness = Probe()
            liveness.httpGet = HTTPGetAction(path: "/live", port: .int(8081))
            liveness.periodSeconds = 2
            liveness.failureThreshold = 3
            var readiness = Probe()
            readiness.tcpSocket = TCPSocketAction(port: .int(8082))
            readiness.periodSeconds = 1
            readiness.successThreshold = 2
            spec.containers[0].livenessProbe = liveness
            spec.containers[0].readinessProbe = readiness
            spec.terminationGracePeriodSeconds = 7
        })
        try await h.run(upTo: 10) { try await pod(h, "probed").isReadyForTest }
        #expect(try await pod(h, "probed").status?.containerStatuses?.first?.ready == true)
        // Readiness fails → not ready, no restart.
        await h.transport.set(port: 8082, healthy: false)
        try await h.run(upTo: 10) { try await !pod(h, "probed").isReadyForTest }
        #expect(try await pod(h, "probed").status?.containerStatuses?.first?.restartCount == 0)
        await h.transport.set(port: 8082, healthy: true)
        try await h.run(upTo: 10) { try await pod(h, "probed").isReadyForTest }
        // Liveness fails 3 times (period 2 s) → killed with the grace period and restarted.
        await h.transport.set(port: 8081, healthy: false)
        let took = try await h.run(upTo: 30) { try await pod(h, "probed").status?.containerStatuses?.first?.restartCount == 1 }
        #expect(took != nil)
        #expect((took ?? 0) >= 4)
        #expect(await h.runtime.stops.first?.grace == 7)
        #expect(await h.store.events.contains { $0.reason == "Killing" && $0.message.contains("liveness") })
        let calls = await h.transport.calls
        let sandboxIP = await h.runtime.sandboxes.values.first?.ip
        #expect(calls.contains { $0.port == 8081 && $0.path == "/live" && $0.host == sandboxIP })
    }

    @Test func startupProbeHoldsBackLiveness() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.transport.set(port: 9000, healthy: false)
        _ = try await h.store.create(makePod("slow") { spec in
            var startup = Probe()
            startup.httpGet = HTTPGetAction(path: "/started", port: .int(9000))
            startup.periodSeconds = 1
            startup.failureThreshold = 30
            var liveness = Probe()
            liveness.httpGet = HTTPGetAction(path: "/live", port: .int(9001))
            liveness.periodSeconds = 1
            liveness.failureThreshold = 1
            spec.containers[0].startupProbe = startup
            spec.containers[0].livenessProbe = liveness
        })
        await h.transport.set(port: 9001, healthy: false)
        for _ in 0..<10 { try await h.step() }
        let before = await h.transport.calls
        #expect(!before.contains { $0.port == 9001 }, "liveness must wait for the startup probe")
        #expect(try await pod(h, "slow").status?.containerStatuses?.first?.started == false)
        #expect(try await pod(h, "slow").isReadyForTest == false)
        #expect(try await pod(h, "slow").status?.containerStatuses?.first?.restartCount == 0)
        await h.transport.set(port: 9000, healthy: true)
        await h.transport.set(port: 9001, healthy: true)
        try await h.run(upTo: 5) { try await pod(h, "slow").isReadyForTest }
        #expect(try await pod(h, "slow").status?.containerStatuses?.first?.started == true)
        // The liveness worker probes on its next period after the startup
        // probe succeeded (Kubernetes' workers tick independently).
        try await h.step()
        #expect(await h.transport.calls.contains { $0.port == 9001 })
    }

    @Test func execProbe() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        await h.runtime.setExitCode(container: "app", 1)
        _ = try await h.store.create(makePod("execd") { spec in
            var readiness = Probe()
            readiness.exec = ExecAction(command: ["cat", "/tmp/ready"])
            readiness.periodSeconds = 1
            spec.containers[0].readinessProbe = readiness
        })
        for _ in 0..<3 { try await h.step() }
        #expect(try await pod(h, "execd").isReadyForTest == false)
        await h.runtime.setExitCode(container: "app", 0)
        try await h.run(upTo: 3) { try await pod(h, "execd").isReadyForTest }
        #expect(try await pod(h, "execd").isReadyForTest)
    }

    /// A termination waiting out its grace period runs as its own task: the
    /// reconcile returns at once, and another pod's probes and status go on.
    @Test func terminationDoesNotHoldTheReconcileOrOtherPodsProbes() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makePod("leaving") { $0.terminationGracePeriodSeconds = 30 })
        _ = try await h.store.create(makePod("staying") { spec in
            var readiness = Probe()
            readiness.httpGet = HTTPGetAction(path: "/ready", port: .int(8090))
            readiness.periodSeconds = 1
            readiness.failureThreshold = 1
            spec.containers[0].readinessProbe = readiness
        })
        try await h.run(upTo: 5) {
            let leaving = try await pod(h, "leaving").status?.phase
            return try await pod(h, "staying").isReadyForTest && leaving == "Running"
        }
        await h.runtime.setHoldStops(true)
        try await PodDeleter(store: h.store, clock: h.clock, localNodeName: "node-1").delete(try await pod(h, "leaving"))
        let kubelet = h.orchestrator.kubelet
        #expect(try await kubelet.reconcile(namespace: "default", name: "leaving") == .done)
        while await h.runtime.heldStopCount == 0 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(await kubelet.hasBackgroundWork(), "the stop is still waiting")

        // Meanwhile the other pod's probe worker notices the failure and its
        // reconcile writes the status.
        await h.transport.set(port: 8090, healthy: false)
        h.clock.advance(by: 1)
        while await kubelet.probeWorkers.isBusy() { try await Task.sleep(for: .milliseconds(1)) }
        _ = try await kubelet.reconcile(namespace: "default", name: "staying")
        #expect(try await pod(h, "staying").isReadyForTest == false)
        #expect(try await h.store.get(Pod.self, namespace: "default", name: "leaving") != nil)

        await h.runtime.releaseStops()
        try await h.orchestrator.settle()
        #expect(try await h.store.get(Pod.self, namespace: "default", name: "leaving") == nil)
        #expect(await h.runtime.stops.map(\.grace) == [30])
    }

    @Test func gracefulTerminationHonoursGracePeriod() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makePod("bye") { $0.terminationGracePeriodSeconds = 12 })
        try await h.run(upTo: 5) { try await pod(h, "bye").status?.phase == "Running" }
        try await PodDeleter(store: h.store, clock: h.clock, localNodeName: "node-1").delete(try await pod(h, "bye"))
        #expect(try await pod(h, "bye").metadata.deletionTimestamp != nil, "deletion is graceful: the object stays until stopped")
        try await h.step()
        #expect(try await h.store.get(Pod.self, namespace: "default", name: "bye") == nil)
        #expect(await h.runtime.stops.map(\.grace) == [12])
        #expect(await h.runtime.sandboxes.isEmpty)
    }

    @Test func restartedOrchestratorAdoptsHealthyContainers() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makeDeployment(replicas: 3))
        try await h.run(upTo: 30) { try await h.deployment("web")?.isComplete == true }
        let creates = await h.runtime.creates
        let before = try await h.pods()
        // A new orchestrator over the same store and node, as after `berth serve` restarts.
        let h2 = try await Harness(runtime: h.runtime, store: h.store, dataDir: h.dataDir)
        h2.clock.advance(by: h.clock.now().timeIntervalSince(h2.clock.now()))
        for _ in 0..<15 {
            h.clock.advance(by: 1)
            h2.clock.advance(by: 1)
            try await h2.orchestrator.settle()
            // Ready must never flap while the new process takes over.
            #expect(try await h.pods().allSatisfy(\.isReadyForTest))
        }
        #expect(await h.runtime.creates == creates, "no container was recreated")
        #expect(await h.runtime.stops.isEmpty)
        let after = try await h.pods()
        #expect(after.map(\.metadata.uid) == before.map(\.metadata.uid))
        #expect(after.allSatisfy { $0.status?.containerStatuses?.first?.restartCount == 0 })
        // The adopted containers are still looked after: a crash is restarted.
        #expect(await h.runtime.liveContainers().count == 3)
    }

    @Test func orphanedSandboxesAreRemoved() async throws {
        let h = try await Harness()
        defer { h.cleanup() }
        _ = try await h.store.create(makePod("gone"))
        try await h.run(upTo: 5) { try await pod(h, "gone").status?.phase == "Running" }
        #expect(try await pod(h, "gone").metadata.finalizers == [Kubelet.finalizer])
        await h.store.forceRemove(.pod, namespace: "default", name: "gone")
        #expect(try await h.orchestrator.kubelet.removeOrphanedSandboxes() == 1)
        #expect(await h.runtime.sandboxes.isEmpty)
    }
}
