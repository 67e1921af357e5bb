import BerthAPI
import BerthRuntime
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// The namespace and name a work queue holds (the kind is the queue's).
public struct ObjectName: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}

/// Everything the orchestrator needs to know about its node.
public struct OrchestratorConfiguration: Sendable {
    /// The node this process runs pods on.
    public var nodeName: String
    /// Per-pod directories (volumes) live under `<dataDir>/pods/<uid>`.
    public var dataDir: String
    /// nil: detect from /proc and Berth's own cgroup.
    public var capacity: NodeCapacity?
    /// Further nodes that only exist for scheduling (simulation): pods bound
    /// to them are never run.
    public var extraNodes: [Node]
    /// How often everything is reconciled even without changes.
    public var resyncInterval: TimeInterval
    /// Parallel workers of the kubelet queue (sandbox and container starts
    /// are slow; probes, pulls and terminations run outside these workers).
    /// Enough for a rolling update's wave (maxSurge + maxUnavailable pods)
    /// to start at once.
    public var kubeletWorkers: Int

    public init(nodeName: String = ProcessInfo.processInfo.hostName, dataDir: String, capacity: NodeCapacity? = nil,
                extraNodes: [Node] = [], resyncInterval: TimeInterval = 30, kubeletWorkers: Int = 8) {
        self.nodeName = nodeName
        self.dataDir = dataDir
        self.capacity = capacity
        self.extraNodes = extraNodes
        self.resyncInterval = resyncInterval
        self.kubeletWorkers = kubeletWorkers
    }
}

/// The embedded control plane and kubelet: the Deployment and ReplicaSet
/// controllers, the scheduler, the kubelet for the local node and the
/// garbage collector, each over its own work queue, fed by the store's
/// change feed and a periodic resync.
///
/// Run it as a swift-service-lifecycle `Service` (`berth serve` adds it to
/// its ServiceGroup). Tests drive it without tasks: `settle()` processes
/// every ready key until all queues are idle, and a `ManualClock` moves time.
public final class Orchestrator: ServiceLifecycle.Service, Sendable {
    public let store: any OrchestratorStore
    public let runtime: any NodeRuntime
    public let clock: any OrchestratorClock
    public let configuration: OrchestratorConfiguration
    public let deployments: DeploymentController
    public let replicaSets: ReplicaSetController
    public let scheduler: Scheduler
    public let kubelet: Kubelet
    public let garbageCollector: GarbageCollector
    public let services: ServiceController
    let logger: Logger

    let deploymentQueue: WorkQueue<ObjectName>
    let replicaSetQueue: WorkQueue<ObjectName>
    let schedulerQueue: WorkQueue<ObjectName>
    let kubeletQueue: WorkQueue<ObjectName>
    let serviceQueue: WorkQueue<ObjectName>

    public init(store: any OrchestratorStore, runtime: any NodeRuntime, configuration: OrchestratorConfiguration,
                clock: any OrchestratorClock = SystemClock(), probeTransport: any ProbeTransport = SocketProbeTransport(),
                serviceNetworking: (any ServiceNetworking)? = nil, logger: Logger = Logger(label: "berth.orchestrator")) {
        self.store = store
        self.runtime = runtime
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        let node = configuration.nodeName
        deployments = DeploymentController(store: store, clock: clock, logger: logger)
        replicaSets = ReplicaSetController(store: store, clock: clock, localNodeName: node, logger: logger)
        scheduler = Scheduler(store: store, clock: clock, localNodeName: node)
        kubelet = Kubelet(store: store, runtime: runtime, clock: clock, transport: probeTransport, nodeName: node,
                          dataDir: configuration.dataDir, logger: logger)
        garbageCollector = GarbageCollector(store: store, clock: clock, localNodeName: node)
        deploymentQueue = WorkQueue(clock: clock)
        replicaSetQueue = WorkQueue(clock: clock)
        schedulerQueue = WorkQueue(clock: clock)
        kubeletQueue = WorkQueue(clock: clock)
        services = ServiceController(store: store, networking: serviceNetworking, logger: logger)
        serviceQueue = WorkQueue(clock: clock)
    }

    // MARK: - Start-up

    /// Registers the nodes and adopts the runtime's live containers. Called
    /// by `run()`; tests call it directly.
    public func start() async throws {
        await connectKubelet()
        try await registerNodes()
        try await kubelet.recover()
    }

    /// Lets the kubelet's own tasks (probe workers, terminations, pulls)
    /// enqueue their pod.
    func connectKubelet() async {
        await kubelet.setEnqueue { [kubeletQueue] key, delay in
            if delay > 0 { await kubeletQueue.addAfter(key, delay: delay) } else { await kubeletQueue.add(key) }
        }
    }

    func registerNodes() async throws {
        let capacity = configuration.capacity ?? NodeCapacity.detect()
        for node in [capacity.node(named: configuration.nodeName)] + configuration.extraNodes {
            if var existing = try await store.get(Node.self, namespace: "", name: node.name) {
                if existing.status != node.status {
                    existing.status = node.status
                    _ = try await store.updateStatus(existing)
                }
            } else {
                let created = try await store.create(node)
                if created.status != node.status {
                    var copy = created
                    copy.status = node.status
                    _ = try await store.updateStatus(copy)
                }
            }
        }
    }

    // MARK: - Feeding the queues

    /// Puts every object on its controllers' queues (the periodic resync).
    public func enqueueAll() async throws {
        for deployment in try await store.list(Deployment.self, namespace: nil) {
            await deploymentQueue.add(ObjectName(namespace: deployment.namespace, name: deployment.name))
        }
        for rs in try await store.list(ReplicaSet.self, namespace: nil) {
            await replicaSetQueue.add(ObjectName(namespace: rs.namespace, name: rs.name))
        }
        for pod in try await store.list(Pod.self, namespace: nil) {
            let key = ObjectName(namespace: pod.namespace, name: pod.name)
            if pod.spec.nodeName?.isEmpty ?? true {
                await schedulerQueue.add(key)
            } else if pod.spec.nodeName == configuration.nodeName {
                await kubeletQueue.add(key)
            }
        }
        for service in try await store.list(BerthAPI.Service.self, namespace: nil) {
            await serviceQueue.add(ObjectName(namespace: service.namespace, name: service.name))
        }
        for known in await services.dataplane.knownNames() {
            await serviceQueue.add(ObjectName(namespace: known.namespace, name: known.name))
        }
        // Endpoints whose Service is gone are deleted by the Service's reconcile.
        for endpoints in try await store.list(Endpoints.self, namespace: nil) {
            await serviceQueue.add(ObjectName(namespace: endpoints.namespace, name: endpoints.name))
        }
    }

    /// Maps one change to the queues of the controllers it concerns.
    public func enqueue(_ change: ObjectChange) async {
        let key = ObjectName(namespace: change.namespace, name: change.name)
        switch change.kind {
        case .deployment:
            await deploymentQueue.add(key)
        case .replicaSet:
            await replicaSetQueue.add(key)
            for owner in change.ownerReferences where owner.kind == "Deployment" {
                await deploymentQueue.add(ObjectName(namespace: change.namespace, name: owner.name))
            }
        case .pod:
            if change.type == .deleted, let uid = change.uid {
                let kubelet = self.kubelet
                Task { await kubelet.cleanUpDeleted(podUID: uid) }
            }
            // A bound pod's changes (status writes, mostly) are not the
            // scheduler's: they would queue in front of pods to bind.
            if change.nodeName?.isEmpty ?? true { await schedulerQueue.add(key) }
            await kubeletQueue.add(key)
            for owner in change.ownerReferences where owner.kind == "ReplicaSet" {
                await replicaSetQueue.add(ObjectName(namespace: change.namespace, name: owner.name))
            }
            // Readiness or IP changes reach Endpoints and the dataplane at once.
            for service in (try? await store.list(BerthAPI.Service.self, namespace: change.namespace)) ?? [] {
                await serviceQueue.add(ObjectName(namespace: service.namespace, name: service.name))
            }
        case .service, .endpoints:
            await serviceQueue.add(key)
        case .node:
            // Room may have appeared: retry pods that did not fit.
            for pod in (try? await store.list(Pod.self, namespace: nil)) ?? [] where pod.spec.nodeName?.isEmpty ?? true {
                await schedulerQueue.add(ObjectName(namespace: pod.namespace, name: pod.name))
            }
        default:
            break
        }
    }

    // MARK: - Processing

    /// Processes one ready key of `queue`; false when none was ready.
    func processNext(_ queue: WorkQueue<ObjectName>, _ what: String,
                     _ handler: @Sendable (ObjectName) async throws -> ReconcileResult) async -> Bool {
        guard let key = await queue.tryGet() else { return false }
        await process(key, queue, what, handler)
        return true
    }

    func process(_ key: ObjectName, _ queue: WorkQueue<ObjectName>, _ what: String,
                 _ handler: @Sendable (ObjectName) async throws -> ReconcileResult) async {
        do {
            let result = try await handler(key)
            await queue.forget(key)
            if case .requeueAfter(let delay) = result { await queue.addAfter(key, delay: delay) }
        } catch {
            let delay = await queue.addRateLimited(key)
            let level: Logger.Level = (error as? BerthError)?.code == .conflict ? .debug : .warning
            logger.log(level: level, "\(what) \(key) failed, retrying in \(String(format: "%.3f", delay))s: \(error)")
        }
        await queue.done(key)
    }

    var handlers: [(WorkQueue<ObjectName>, String, @Sendable (ObjectName) async throws -> ReconcileResult)] {
        let deployments = self.deployments, replicaSets = self.replicaSets, scheduler = self.scheduler, kubelet = self.kubelet
        let services = self.services
        return [
            (deploymentQueue, "deployment", { try await deployments.reconcile(namespace: $0.namespace, name: $0.name) }),
            (replicaSetQueue, "replicaset", { try await replicaSets.reconcile(namespace: $0.namespace, name: $0.name) }),
            (schedulerQueue, "scheduler", { [kubeletQueue, nodeName = configuration.nodeName] key in
                let decision = try await scheduler.schedule(namespace: key.namespace, name: key.name)
                switch decision {
                case .unschedulable: return .requeueAfter(10)
                case .bound(let node):
                    // Hand the pod to the kubelet at once rather than waiting for the feed.
                    if node == nodeName { await kubeletQueue.add(key) }
                    return .done
                case .skipped: return .done
                }
            }),
            (kubeletQueue, "kubelet", { try await kubelet.reconcile(namespace: $0.namespace, name: $0.name) }),
            (serviceQueue, "service", { try await services.reconcile(namespace: $0.namespace, name: $0.name) }),
        ]
    }

    /// For tests and `berth` one-shot use: resync, collect garbage and
    /// process every ready key until all queues are idle. Keys requeued for
    /// later stay queued until the clock reaches them. Returns how many
    /// reconciles ran.
    @discardableResult
    public func settle(maxReconciles: Int = 100_000) async throws -> Int {
        try await enqueueAll()
        try await garbageCollector.collect()
        await connectKubelet()
        var count = 0
        var progressed = true
        while progressed && count < maxReconciles {
            progressed = false
            for (queue, what, handler) in handlers {
                while count < maxReconciles, await processNext(queue, what, handler) {
                    count += 1
                    progressed = true
                }
            }
            // Probe workers and the kubelet's own tasks (terminations,
            // pulls) run outside the queues: wait for them, then process
            // what they enqueued.
            if await kubelet.hasBackgroundWork() {
                while await kubelet.hasBackgroundWork() { try await Task.sleep(for: .milliseconds(1)) }
                progressed = true
            }
        }
        return count
    }

    /// `kubectl rollout undo`; see `DeploymentController.rollback`.
    @discardableResult
    public func rollbackDeployment(name: String, namespace: String, toRevision: Int?) async throws -> Int {
        let revision = try await deployments.rollback(name: name, namespace: namespace, toRevision: toRevision)
        await deploymentQueue.add(ObjectName(namespace: namespace, name: name))
        return revision
    }

    // MARK: - Service

    /// Runs until cancelled or gracefully shut down. Shutting down leaves
    /// containers running: the next start adopts them.
    public func run() async throws {
        try await start()
        try await cancelWhenGracefulShutdown {
            try await self.runLoops()
        }
        for (queue, _, _) in handlers { await queue.shutDown() }
    }

    private func runLoops() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Change feed.
            group.addTask {
                for await change in await self.store.changes() {
                    await self.enqueue(change)
                }
            }
            // Resync and garbage collection.
            group.addTask {
                while !Task.isCancelled {
                    do {
                        try await self.enqueueAll()
                        try await self.garbageCollector.collect()
                        try await self.kubelet.removeOrphanedSandboxes()
                    } catch {
                        self.logger.warning("resync failed: \(error)")
                    }
                    try await self.clock.sleep(until: self.clock.now().addingTimeInterval(self.configuration.resyncInterval))
                }
            }
            // Workers.
            for (queue, what, handler) in handlers {
                let workers = what == "kubelet" ? max(1, configuration.kubeletWorkers) : 1
                for _ in 0..<workers {
                    group.addTask {
                        while !Task.isCancelled {
                            let deadline = self.clock.now().addingTimeInterval(1)
                            if let key = await queue.get(deadline: deadline) {
                                await self.process(key, queue, what, handler)
                            }
                        }
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

// MARK: - Wiring into `berth serve`

extension Orchestrator {
    /// The orchestrator over BerthStore, as `berth serve` adds it to its
    /// ServiceGroup: `services: { store, _ in [Orchestrator.serving(store: store, runtime: runtime, dataDirectory: dir)] }`.
    /// Pod directories (volumes) go under `<dataDirectory>/orchestrator`.
    public static func serving(store: Store, runtime: any NodeRuntime, dataDirectory: String,
                               nodeName: String = ProcessInfo.processInfo.hostName, extraNodes: [Node] = [],
                               serviceNetworking: (any ServiceNetworking)? = nil,
                               logger: Logger = Logger(label: "berth.orchestrator")) -> Orchestrator {
        Orchestrator(store: StoreBackend(store: store, logger: logger), runtime: runtime,
                     configuration: OrchestratorConfiguration(nodeName: nodeName, dataDir: dataDirectory + "/orchestrator",
                                                              extraNodes: extraNodes),
                     serviceNetworking: serviceNetworking, logger: logger)
    }
}
