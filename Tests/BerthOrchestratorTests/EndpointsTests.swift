import BerthAPI
import BerthRuntime
import BerthStore
import Foundation
import Testing
@testable import BerthOrchestrator

// MARK: - Pure endpoints computation

@Suite struct EndpointsComputationTests {
    static func pod(_ name: String, labels: [String: String], ip: String?, ready: Bool,
                    ports: [ContainerPort] = [ContainerPort(name: "http", containerPort: 8080)]) -> Pod {
        var container = Container(name: "app", image: "app:v1")
        container.ports = ports
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: "default", labels: labels), spec: PodSpec(containers: [container]))
        pod.metadata.uid = "uid-" + name
        var status = PodStatus(phase: "Running")
        status.podIP = ip
        status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
        pod.status = status
        return pod
    }

    static func service(selector: [String: String]?, ports: [ServicePort]) -> BerthAPI.Service {
        BerthAPI.Service(metadata: ObjectMeta(name: "web", namespace: "default"), spec: ServiceSpec(selector: selector, ports: ports))
    }

    @Test func selectorMatchesAllLabelsAndEmptySelectsNothing() {
        #expect(EndpointsComputation.selects(["app": "web"], labels: ["app": "web", "tier": "x"]))
        #expect(!EndpointsComputation.selects(["app": "web", "tier": "y"], labels: ["app": "web", "tier": "x"]))
        #expect(!EndpointsComputation.selects(["app": "web"], labels: nil))
        #expect(!EndpointsComputation.selects([:], labels: ["app": "web"]))
    }

    @Test func namedTargetPortsResolvePerPod() {
        let byName = ServicePort(name: "http", port: 80, targetPort: .string("http"))
        let a = Self.pod("a", labels: [:], ip: "10.0.0.1", ready: true)
        let b = Self.pod("b", labels: [:], ip: "10.0.0.2", ready: true, ports: [ContainerPort(name: "http", containerPort: 9090)])
        let c = Self.pod("c", labels: [:], ip: "10.0.0.3", ready: true, ports: [])
        #expect(EndpointsComputation.resolveTargetPort(byName, in: a) == 8080)
        #expect(EndpointsComputation.resolveTargetPort(byName, in: b) == 9090)
        #expect(EndpointsComputation.resolveTargetPort(byName, in: c) == nil)
        #expect(EndpointsComputation.resolveTargetPort(ServicePort(port: 80, targetPort: .int(81)), in: c) == 81)
        #expect(EndpointsComputation.resolveTargetPort(ServicePort(port: 80), in: c) == 80)
        var udp = byName
        udp.protocol = "UDP"
        #expect(EndpointsComputation.resolveTargetPort(udp, in: a) == nil, "a TCP container port does not serve a UDP service port")
    }

    @Test func readyAndNotReadyPodsAreSplitAndGroupedByPorts() {
        let svc = Self.service(selector: ["app": "web"], ports: [ServicePort(name: "http", port: 80, targetPort: .string("http"))])
        var terminating = Self.pod("t", labels: ["app": "web"], ip: "10.0.0.9", ready: true)
        terminating.metadata.deletionTimestamp = "2026-01-01T00:00:00Z"
        let pods = [
            Self.pod("b", labels: ["app": "web"], ip: "10.0.0.2", ready: true),
            Self.pod("a", labels: ["app": "web"], ip: "10.0.0.1", ready: true),
            Self.pod("n", labels: ["app": "web"], ip: "10.0.0.3", ready: false),
            Self.pod("other", labels: ["app": "db"], ip: "10.0.0.4", ready: true),
            Self.pod("noip", labels: ["app": "web"], ip: nil, ready: false),
            Self.pod("p9090", labels: ["app": "web"], ip: "10.0.0.5", ready: true, ports: [ContainerPort(name: "http", containerPort: 9090)]),
            Self.pod("noport", labels: ["app": "web"], ip: "10.0.0.6", ready: true, ports: []),
            terminating,
        ]
        let subsets = EndpointsComputation.subsets(for: svc, pods: pods)
        #expect(subsets.count == 2)
        let s8080 = subsets.first { $0.ports?.first?.port == 8080 }
        #expect(s8080?.addresses?.map(\.ip) == ["10.0.0.1", "10.0.0.2"])
        #expect(s8080?.notReadyAddresses?.map(\.ip) == ["10.0.0.3"])
        #expect(s8080?.addresses?.first?.targetRef?.name == "a")
        #expect(s8080?.addresses?.first?.targetRef?.uid == "uid-a")
        #expect(s8080?.ports?.first?.name == "http")
        let s9090 = subsets.first { $0.ports?.first?.port == 9090 }
        #expect(s9090?.addresses?.map(\.ip) == ["10.0.0.5"])
        #expect(s9090?.notReadyAddresses == nil)

        #expect(EndpointsComputation.subsets(for: Self.service(selector: nil, ports: []), pods: pods).isEmpty)
    }

    @Test func dataplaneEntryResolvesNamedPortsThroughEndpoints() {
        var svc = Self.service(selector: ["app": "web"], ports: [ServicePort(name: "http", port: 80, targetPort: .string("http"))])
        svc.spec.clusterIP = "10.96.0.10"
        let pods = [Self.pod("a", labels: ["app": "web"], ip: "10.0.0.1", ready: true),
                    Self.pod("n", labels: ["app": "web"], ip: "10.0.0.3", ready: false)]
        let endpoints = Endpoints(metadata: ObjectMeta(name: "web", namespace: "default"),
                                  subsets: EndpointsComputation.subsets(for: svc, pods: pods))
        let entry = EndpointsComputation.entry(for: svc, endpoints: endpoints)
        #expect(entry.clusterIP == "10.96.0.10")
        #expect(entry.ports == [ServicePortSpec(name: "http", protocol: "TCP", port: 80, targetPort: 8080)])
        #expect(entry.endpoints == [ServiceEndpoint(ip: "10.0.0.1", ready: true), ServiceEndpoint(ip: "10.0.0.3", ready: false)])
        svc.spec.clusterIP = "None"
        #expect(EndpointsComputation.entry(for: svc, endpoints: nil).clusterIP == nil)
    }
}

// MARK: - Allocation and sync over the real store

/// Real allocation (ServiceProxy's persisted IPAMs in a temp dir) with the
/// dataplane push recorded instead of written to nftables; the nftables side
/// is covered by the network root tests and the services end-to-end test.
actor RecordingNetworking: ServiceNetworking {
    let proxy: ServiceProxy
    private(set) var pushes: [[ServiceEntry]] = []
    private(set) var released: [String] = []

    init(dataDir: String) throws {
        var config = NetworkConfig.standard(dataDir: dataDir)
        config.serviceCIDR = try IPv4CIDR("10.201.0.0/24")
        proxy = try ServiceProxy(config: config)
    }

    func allocateClusterIP(namespace: String, name: String, requested: String?) async throws -> String {
        try await proxy.allocateClusterIP(namespace: namespace, name: name, requested: requested)
    }

    func allocateNodePort(namespace: String, name: String, port: String, requested: Int?) async throws -> Int {
        try await proxy.allocateNodePort(namespace: namespace, name: name, port: port, requested: requested)
    }

    func releaseService(namespace: String, name: String) async throws {
        released.append("\(namespace)/\(name)")
        try await proxy.releaseService(namespace: namespace, name: name)
    }

    func releaseNodePorts(namespace: String, name: String, keeping: Set<String>) async throws {
        try await proxy.releaseNodePorts(namespace: namespace, name: name, keeping: keeping)
    }

    func nodePortHolders() async throws -> [Int: String] { try await proxy.nodePortHolders() }

    func setServices(_ entries: [ServiceEntry]) async throws { pushes.append(entries) }
    var last: [ServiceEntry] { pushes.last ?? [] }
}

@Suite struct ServiceControllerStoreTests {
    @Test func allocatesKeepsEndpointsAndSyncsTheDataplane() async throws {
        let dir = NSTemporaryDirectory() + "berth-svc-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(start: Date())
        let store = try Store(dataDirectory: dir)
        let backend = StoreBackend(store: store)
        let runtime = FakeNodeRuntime(clock: clock)
        let transport = FakeProbeTransport()
        let networking = try RecordingNetworking(dataDir: dir)
        let orchestrator = Orchestrator(
            store: backend, runtime: runtime,
            configuration: OrchestratorConfiguration(nodeName: "node-1", dataDir: dir + "/data",
                                                     capacity: NodeCapacity(cpuMillis: 8000, memoryBytes: 16 << 30)),
            clock: clock, probeTransport: transport, serviceNetworking: networking)
        try await orchestrator.start()
        func step() async throws {
            clock.advance(by: 1)
            try await orchestrator.settle()
        }

        var svc = BerthAPI.Service(metadata: ObjectMeta(name: "web", namespace: "default"),
                                   spec: ServiceSpec(type: "NodePort", selector: ["app": "web"],
                                                     ports: [ServicePort(name: "http", port: 80, targetPort: .string("http"))]))
        _ = try await backend.create(svc)
        _ = try await backend.create(makeDeployment(replicas: 3, readinessDelay: 2))
        for _ in 0..<20 { try await step() }

        // Allocation written into the spec.
        svc = try #require(try await backend.get(BerthAPI.Service.self, namespace: "default", name: "web"))
        let ip = try #require(svc.spec.clusterIP)
        #expect(ip.hasPrefix("10.201.0."))
        #expect(svc.spec.clusterIPs == [ip])
        let nodePort = try #require(svc.spec.ports?.first?.nodePort)
        #expect((30000...32767).contains(nodePort))

        // Endpoints: 3 ready pods on the named port.
        var endpoints = try #require(try await backend.get(Endpoints.self, namespace: "default", name: "web"))
        #expect(endpoints.subsets?.count == 1)
        #expect(endpoints.subsets?.first?.addresses?.count == 3)
        #expect(endpoints.subsets?.first?.notReadyAddresses == nil)
        #expect(endpoints.subsets?.first?.ports == [EndpointPort(name: "http", port: 8080, protocol: "TCP")])
        #expect(endpoints.metadata.ownerReferences?.first?.uid == svc.metadata.uid)
        var entry = try #require(await networking.last.first { $0.name == "web" })
        #expect(entry.clusterIP == ip)
        #expect(entry.ports == [ServicePortSpec(name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: nodePort)])
        #expect(entry.endpoints.count == 3 && entry.endpoints.allSatisfy(\.ready))

        // Pods started after the Service see its environment variables.
        let env = try #require(await runtime.configs(named: "app").first?.env)
        #expect(env["WEB_SERVICE_HOST"] == ip)
        #expect(env["WEB_SERVICE_PORT"] == "80")
        #expect(env["WEB_PORT_80_TCP_ADDR"] == ip)

        // Readiness failing: the pods move to notReadyAddresses and the dataplane
        // stops sending them traffic within a few probe periods (1s here).
        await transport.set(port: 8080, healthy: false)
        for _ in 0..<5 { try await step() }
        endpoints = try #require(try await backend.get(Endpoints.self, namespace: "default", name: "web"))
        #expect(endpoints.subsets?.first?.addresses == nil)
        #expect(endpoints.subsets?.first?.notReadyAddresses?.count == 3)
        entry = try #require(await networking.last.first { $0.name == "web" })
        #expect(entry.endpoints.count == 3 && entry.endpoints.allSatisfy { !$0.ready })
        await transport.set(port: 8080, healthy: true)

        // A NodePort that another Service holds: a Warning event, no allocation.
        let clash = BerthAPI.Service(
            metadata: ObjectMeta(name: "clash", namespace: "default"),
            spec: ServiceSpec(type: "NodePort", selector: ["app": "web"],
                              ports: [ServicePort(port: 81, targetPort: .int(8080), nodePort: nodePort)]))
        _ = try await backend.create(clash)
        try await step()
        let events: [Event] = try await store.events(namespace: "default")
        let warning = events.first { $0.involvedObject.name == "clash" && $0.reason == "FailedAllocation" }
        #expect(warning?.type == "Warning")
        #expect(warning?.message.contains("\(nodePort)") == true)
        #expect(try await backend.get(BerthAPI.Service.self, namespace: "default", name: "clash")?.spec.clusterIP == nil)
        try await backend.delete(.service, namespace: "default", name: "clash")

        // Scale to 1: endpoints shrink.
        for _ in 0..<5 { try await step() }
        var deployment = try #require(try await backend.get(Deployment.self, namespace: "default", name: "web"))
        deployment.spec.replicas = 1
        _ = try await backend.update(deployment)
        for _ in 0..<40 { try await step() }
        endpoints = try #require(try await backend.get(Endpoints.self, namespace: "default", name: "web"))
        #expect(endpoints.subsets?.first?.addresses?.count == 1)
        #expect(await networking.last.first { $0.name == "web" }?.endpoints.count == 1)

        // Delete the Service: Endpoints go, the allocation is released, the dataplane forgets it.
        try await backend.delete(.service, namespace: "default", name: "web")
        try await step()
        #expect(try await backend.get(Endpoints.self, namespace: "default", name: "web") == nil)
        #expect(await networking.released.contains("default/web"))
        #expect(await networking.last.isEmpty)
        // The ClusterIP is free again: another Service may request it.
        #expect(try await networking.allocateClusterIP(namespace: "default", name: "again", requested: ip) == ip)
    }
}
