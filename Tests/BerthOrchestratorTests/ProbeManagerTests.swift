import BerthAPI
import Foundation
import Testing
@testable import BerthOrchestrator

/// The probe workers on their own: timers on the manual clock, thresholds,
/// the results cache and change notifications, with no reconcile running.
@Suite struct ProbeManagerTests {
    actor Changes {
        var keys: [ObjectName] = []
        var unhealthy: [String] = []
        func add(_ key: ObjectName) { keys.append(key) }
        func addUnhealthy(_ message: String) { unhealthy.append(message) }
    }

    func idle(_ manager: ProbeManager) async throws {
        while await manager.isBusy() { try await Task.sleep(for: .milliseconds(1)) }
    }

    @Test func workerKeepsItsOwnTimerAndThresholds() async throws {
        let clock = ManualClock()
        let transport = FakeProbeTransport()
        let changes = Changes()
        let manager = ProbeManager(clock: clock, prober: Prober(runtime: FakeNodeRuntime(clock: clock), transport: transport),
                                   onChange: { await changes.add($0) },
                                   onUnhealthy: { _, _, message in await changes.addUnhealthy(message) })
        var pod = makePod("probed") { spec in
            var readiness = Probe()
            readiness.httpGet = HTTPGetAction(path: "/ready", port: .int(8080))
            readiness.initialDelaySeconds = 3
            readiness.periodSeconds = 2
            readiness.successThreshold = 2
            readiness.failureThreshold = 2
            spec.containers[0].readinessProbe = readiness
        }
        pod.metadata.uid = "uid-1"
        func ready() async -> Bool? {
            await manager.result(podUID: "uid-1", container: "app", containerID: "c1", kind: .readiness)?.success
        }
        await manager.ensureWorkers(pod: pod, container: pod.spec.containers[0], containerID: "c1",
                                    startedAt: clock.now(), host: "10.1.0.5")
        try await idle(manager)
        #expect(await transport.calls.isEmpty, "initialDelaySeconds holds the first probe back")
        clock.advance(by: 2.5)
        try await idle(manager)
        #expect(await transport.calls.isEmpty)
        clock.advance(by: 0.5)
        try await idle(manager)
        #expect(await transport.calls.count == 1)
        #expect(await ready() == nil, "one success is below successThreshold 2")
        clock.advance(by: 2)
        try await idle(manager)
        #expect(await transport.calls.count == 2)
        #expect(await ready() == true)
        #expect(await changes.keys == [ObjectName(namespace: "default", name: "probed")])
        #expect(await transport.calls.allSatisfy { $0.host == "10.1.0.5" && $0.port == 8080 && $0.path == "/ready" })

        await transport.set(port: 8080, healthy: false)
        clock.advance(by: 2)
        try await idle(manager)
        #expect(await ready() == true, "one failure is below failureThreshold 2")
        clock.advance(by: 2)
        try await idle(manager)
        #expect(await ready() == false)
        #expect(await changes.keys.count == 2)
        #expect(await changes.unhealthy.count == 2)

        // A new container instance gets a new worker and starts unknown.
        await manager.ensureWorkers(pod: pod, container: pod.spec.containers[0], containerID: "c2",
                                    startedAt: clock.now(), host: "10.1.0.5")
        #expect(await manager.result(podUID: "uid-1", container: "app", containerID: "c2", kind: .readiness) == nil)
        await manager.stop(podUID: "uid-1")
        let before = await transport.calls.count
        clock.advance(by: 10)
        try await idle(manager)
        #expect(await transport.calls.count == before, "a stopped worker probes no more")
    }
}
