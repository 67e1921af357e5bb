import BerthAPI
import BerthRuntime
import Foundation
import Logging

/// The kubelet's part for the local node: for each pod bound here, a
/// sandbox, init containers in order, then app containers; restarts per
/// restartPolicy with crash-loop backoff; startup, liveness and readiness
/// probes; graceful termination; and the pod status (phase, container
/// states, restartCount, Ready/ContainersReady/Initialized conditions).
///
/// Each `reconcile` polls the runtime once and moves every container one
/// step, then asks to be called again (the runtime has no event stream; like
/// the kubelet's PLEG, it relists about once a second). Probes run in
/// `ProbeManager` workers, and terminations, liveness kills and image pulls
/// run as their own tasks, so a reconcile never waits on them: it reads
/// their results and is enqueued again when they change or finish.
public actor Kubelet {
    let store: any OrchestratorStore
    let runtime: any NodeRuntime
    let clock: any OrchestratorClock
    let prober: Prober
    /// Probe workers, one per container probe, outside the reconcile.
    let probeWorkers: ProbeManager
    /// Who to tell that a pod needs another reconcile (the kubelet queue).
    let notifier = KubeletNotifier()
    /// Slow work running as its own task (terminations waiting out the
    /// grace period, liveness kills, image pulls), so it never holds a
    /// reconcile worker; each enqueues its pod when it ends.
    var inflight: Set<String> = []
    /// Finished image pulls not yet taken up by a reconcile, by pod UID and image.
    var pullResults: [String: Result<ImageSummary, any Error>] = [:]
    /// The last failed pull's message by pod/image, so that ImagePullBackOff
    /// keeps saying why (as the kubelet's `Back-off pulling image "x": …`).
    var pullErrors: [String: String] = [:]
    let nodeName: String
    let configBuilder: ContainerConfigBuilder
    let volumes: VolumePreparer
    let logger: Logger
    /// When a probe without an initial delay first runs after the start
    /// (see `ProbeManager.firstProbeDelay`); tests on a manual clock keep 0.
    static let firstProbeDelay: TimeInterval = 0.03
    /// How often a pod with running containers is looked at again.
    public var pollInterval: TimeInterval = 1

    var pods: [String: PodState] = [:]
    /// Reconcile passes under way that may start a sandbox or container,
    /// and when the last one ended (wall time; `awaitQuietStarts`).
    var startsInFlight = 0
    var lastStart = Date.distantPast
    /// Terminating pods waiting for the Services to stop sending to them, since when.
    var draining: [String: Date] = [:]
    var backoff = CrashLoopBackoff()
    /// Image pull backoff per pod and image (kubelet's image manager): a
    /// failed pull waits 10 s, doubling to 300 s, before the next attempt;
    /// in between the container is Waiting with ImagePullBackOff.
    var pullBackoff = CrashLoopBackoff()

    public init(store: any OrchestratorStore, runtime: any NodeRuntime, clock: any OrchestratorClock,
                transport: any ProbeTransport, nodeName: String, dataDir: String,
                logger: Logger = Logger(label: "berth.kubelet")) {
        self.store = store
        self.runtime = runtime
        self.clock = clock
        let prober = Prober(runtime: runtime, transport: transport)
        self.prober = prober
        let notifier = self.notifier
        self.probeWorkers = ProbeManager(clock: clock, prober: prober, logger: logger, onChange: { await notifier.notify($0) },
                                   onUnhealthy: { reference, kind, message in
            let what = switch kind {
            case .startup: "Startup"
            case .liveness: "Liveness"
            case .readiness: "Readiness"
            }
            await store.recordEvent(involving: reference, reason: "Unhealthy", message: "\(what) probe failed: \(message)",
                                    type: "Warning")
        }, firstProbeDelay: clock is SystemClock ? Self.firstProbeDelay : 0)
        self.nodeName = nodeName
        self.configBuilder = ContainerConfigBuilder(store: store)
        self.volumes = VolumePreparer(store: store, dataDir: dataDir)
        self.logger = logger
    }

    // MARK: - State kept in memory (rebuilt from the runtime on restart)

    struct ContainerRecord: Sendable {
        var id: String?
        /// Restart count: the attempt number of the current container.
        var attempt = 0
        var startedAt: Date?
        var running = false
        /// Exited and will not be restarted (policy), or init container done.
        var terminated: ContainerStatus.Terminated?
        var lastTerminated: ContainerStatus.Terminated?
        var waiting: ContainerStatus.Waiting? = ContainerStatus.Waiting(reason: "ContainerCreating")
        var started = false
        var ready = false
        /// When `ready` last turned true (the readiness probe's success, or
        /// the start when there is no probe): the Ready condition's
        /// lastTransitionTime.
        var readySince: Date?
        var imageID: String?

        /// A new container instance starts unprobed (its probe workers are new).
        mutating func resetProbes() {
            started = false
            ready = false
            readySince = nil
        }
    }

    struct PodState: Sendable {
        var sandboxID: String?
        var podIP: String?
        var volumes: [String: PreparedVolume]?
        var containers: [String: ContainerRecord] = [:]
        var initContainers: [String: ContainerRecord] = [:]
        var startTime: Date?
    }

    // MARK: - Reconcile

    /// Held on every pod this kubelet runs: a delete then only marks the pod
    /// (deletionTimestamp) and the kubelet removes the finalizer once the
    /// containers have stopped, which removes the pod.
    public static let finalizer = "berth.dev/kubelet"

    public func reconcile(namespace: String, name: String) async throws -> ReconcileResult {
        guard var pod = try await store.get(Pod.self, namespace: namespace, name: name),
              pod.spec.nodeName == nodeName else { return .done }
        Trace.mark("kubelet \(name): pass")
        if pod.isTerminating {
            // Wait (requeued, holding no worker) until no Endpoints sends to
            // the pod, then stop it; waiting out the grace period runs as its
            // own task so that it does not hold a reconcile worker either.
            if let wait = try await drainDelay(pod) { return .requeueAfter(wait) }
            draining[pod.uid] = nil
            let target = pod
            launch("terminate/\(pod.uid)", pod: pod) { kubelet in try await kubelet.terminate(target) }
            return .done
        }
        if !PodUtil.isTerminal(pod), !(pod.metadata.finalizers ?? []).contains(Self.finalizer) {
            pod.metadata.finalizers = (pod.metadata.finalizers ?? []) + [Self.finalizer]
            pod = try await store.update(pod)
        }
        if PodUtil.isTerminal(pod) {
            await probeWorkers.stop(podUID: pod.uid)
            if let sandbox = pods[pod.uid]?.sandboxID {
                try? await runtime.removeSandbox(id: sandbox)
                pods[pod.uid]?.sandboxID = nil
            }
            return .done
        }
        var state = pods[pod.uid] ?? PodState()
        defer { pods[pod.uid] = state }
        // A pass that may create a sandbox or start a container: torn-down
        // pods' sandboxes wait for these (see `awaitQuietStarts`).
        let starting = state.sandboxID == nil || pod.spec.containers.contains { state.containers[$0.name]?.running != true }
        if starting { startsInFlight += 1 }
        defer {
            if starting {
                startsInFlight -= 1
                lastStart = Date()
            }
        }
        let now = clock.now()
        if state.startTime == nil { state.startTime = Timestamp.parse(pod.status?.startTime) ?? now }
        var result = ReconcileResult.requeueAfter(pollInterval)

        // Sandbox.
        if state.sandboxID == nil {
            do {
                let began = ContinuousClock.now
                let sandbox = try await runtime.runSandbox(sandboxConfig(pod))
                logger.debug("kubelet: sandbox of pod \(pod.namespace)/\(pod.name) ready in \(Self.millis(since: began)) ms")
                state.sandboxID = sandbox.id
                state.podIP = sandbox.ip
                Trace.mark("kubelet \(pod.name): sandbox ready")
            } catch {
                await event(pod, "FailedCreatePodSandBox", "Failed to create pod sandbox: \(error)", warning: true)
                try await writeStatus(pod, state)
                throw error
            }
        }
        // Volumes.
        if state.volumes == nil {
            do {
                state.volumes = try await volumes.prepare(pod)
            } catch let error as ContainerConfigError {
                await event(pod, "FailedMount", error.message, warning: true)
                for container in pod.spec.containers {
                    state.containers[container.name, default: ContainerRecord()].waiting =
                        ContainerStatus.Waiting(reason: "ContainerCreating", message: error.message)
                }
                try await writeStatus(pod, state)
                return .requeueAfter(10)
            }
        }

        // Init containers, one at a time, in order.
        var initialized = true
        var podFailed = false
        for container in pod.spec.initContainers ?? [] {
            var record = state.initContainers[container.name] ?? ContainerRecord()
            if let terminated = record.terminated, terminated.exitCode == 0 { continue }
            initialized = false
            let step = try await stepContainer(pod, container, &record, &state, kind: "init")
            state.initContainers[container.name] = record
            result = result.merged(step)
            if let terminated = record.terminated, terminated.exitCode == 0 {
                initialized = true
                continue
            }
            if record.terminated != nil { podFailed = true }
            break
        }

        if initialized && !podFailed {
            for container in pod.spec.containers {
                var record = state.containers[container.name] ?? ContainerRecord()
                let step = try await stepContainer(pod, container, &record, &state, kind: "app")
                state.containers[container.name] = record
                result = result.merged(step)
            }
        }
        let phase = try await writeStatus(pod, state)
        if phase == "Succeeded" || phase == "Failed" {
            await probeWorkers.stop(podUID: pod.uid)
            if let sandbox = state.sandboxID { try? await runtime.removeSandbox(id: sandbox) }
            state.sandboxID = nil
            return .done
        }
        return result
    }

    // MARK: - One container, one step

    private func restartAllowed(_ pod: Pod, exitCode: Int, kind: String) -> Bool {
        switch pod.spec.restartPolicy ?? "Always" {
        case "Never": return false
        case "OnFailure": return exitCode != 0
        default: return kind == "init" ? exitCode != 0 : true
        }
    }

    private func stepContainer(_ pod: Pod, _ container: Container, _ record: inout ContainerRecord,
                               _ state: inout PodState, kind: String) async throws -> ReconcileResult {
        let now = clock.now()
        let key = "\(pod.uid)/\(container.name)"
        if record.terminated != nil { return .done }

        if let id = record.id {
            let status: ContainerRuntimeStatus
            do {
                status = try await runtime.containerStatus(id: id)
            } catch let error as BerthError where error.code == .notFound {
                // Removed behind our back: make a new one.
                record.id = nil
                record.running = false
                return try await createAndStart(pod, container, &record, &state, kind: kind)
            }
            record.imageID = status.imageDigest ?? record.imageID
            switch status.state {
            case .created:
                try await runtime.startContainer(id: id)
                record.running = true
                record.startedAt = now
                record.waiting = nil
                return .requeueAfter(pollInterval)
            case .running:
                if !record.running {
                    record.running = true
                    record.startedAt = record.startedAt ?? Timestamp.parse(status.startedAt) ?? now
                }
                record.waiting = nil
                if kind == "init" { return .requeueAfter(pollInterval) }
                return try await runProbes(pod, container, &record, state)
            case .exited:
                let finished = Timestamp.parse(status.finishedAt) ?? now
                if record.running || record.lastTerminated?.containerID != id {
                    var terminated = ContainerStatus.Terminated(exitCode: status.exitCode ?? 0,
                                                                reason: status.reason ?? ((status.exitCode ?? 0) == 0 ? "Completed" : "Error"))
                    terminated.message = status.message
                    terminated.startedAt = status.startedAt ?? record.startedAt.map(Timestamp.format)
                    terminated.finishedAt = Timestamp.format(finished)
                    terminated.containerID = id
                    record.lastTerminated = terminated
                    record.running = false
                    record.resetProbes()
                    await probeWorkers.stop(podUID: pod.uid, container: container.name)
                }
                let exitCode = status.exitCode ?? 0
                guard restartAllowed(pod, exitCode: exitCode, kind: kind) else {
                    record.terminated = record.lastTerminated
                    record.waiting = nil
                    return .done
                }
                if let until = backoff.backoffUntil(key, finishedAt: finished, now: now) {
                    let delay = Int(backoff.delay(key))
                    let message = "back-off \(Self.duration(delay)) restarting failed container=\(container.name) pod=\(pod.name)_\(pod.namespace)(\(pod.uid))"
                    if record.waiting?.reason != "CrashLoopBackOff" {
                        await event(pod, "BackOff", "Back-off restarting failed container \(container.name) in pod \(pod.name)", warning: true)
                    }
                    record.waiting = ContainerStatus.Waiting(reason: "CrashLoopBackOff", message: message)
                    return .requeueAfter(until.timeIntervalSince(now))
                }
                backoff.next(key, finishedAt: finished)
                try? await runtime.removeContainer(id: id)
                record.id = nil
                record.attempt += 1
                return try await createAndStart(pod, container, &record, &state, kind: kind)
            }
        }
        return try await createAndStart(pod, container, &record, &state, kind: kind)
    }

    private func createAndStart(_ pod: Pod, _ container: Container, _ record: inout ContainerRecord,
                                _ state: inout PodState, kind: String) async throws -> ReconcileResult {
        guard let sandboxID = state.sandboxID else { return .requeueAfter(pollInterval) }
        if let wait = try await ensureImage(pod, container, &record) { return wait }
        let config: ContainerConfig
        do {
            config = try await configBuilder.build(pod: pod, container: container, podIP: state.podIP,
                                                   volumes: state.volumes ?? [:], attempt: record.attempt, kind: kind)
        } catch let error as ContainerConfigError {
            if record.waiting?.reason != "CreateContainerConfigError" || record.waiting?.message != error.message {
                await event(pod, "Failed", "Error: \(error.message)", warning: true)
            }
            record.waiting = ContainerStatus.Waiting(reason: "CreateContainerConfigError", message: error.message)
            return .requeueAfter(5)
        }
        let began = ContinuousClock.now
        do {
            let id = try await runtime.createContainer(sandboxID: sandboxID, config: config)
            record.id = id
            do {
                try await runtime.startContainer(id: id)
            } catch {
                await event(pod, "Created", "Created container \(container.name)")
                throw error
            }
        } catch {
            record.waiting = ContainerStatus.Waiting(reason: "RunContainerError", message: "\(error)")
            await event(pod, "Failed", "Error: \(error)", warning: true)
            return .requeueAfter(5)
        }
        record.running = true
        record.startedAt = clock.now()
        record.waiting = nil
        record.resetProbes()
        Trace.mark("kubelet \(pod.name): container \(container.name) started")
        // The probe workers start now: a probe without an initial delay runs
        // right after the start, and its result enqueues the pod.
        if kind == "app" {
            await probeWorkers.ensureWorkers(pod: pod, container: container, containerID: record.id ?? "",
                                       startedAt: record.startedAt ?? clock.now(), host: state.podIP ?? "127.0.0.1")
        }
        // The events after the start (and the probes' start): their writes
        // stay off the path from create to a first probe.
        await event(pod, "Created", "Created container \(container.name)")
        await event(pod, "Started", "Started container \(container.name)")
        logger.debug("kubelet: container \(container.name) of pod \(pod.namespace)/\(pod.name) started in \(Self.millis(since: began)) ms")
        // A first probe that already answered (it runs at once and usually
        // takes milliseconds) goes into this pass's status write, instead
        // of a second pass and a second write.
        if kind == "app" { return try await runProbes(pod, container, &record, state) }
        return .requeueAfter(pollInterval)
    }

    /// Makes the container's image available, with Kubernetes' image-pull
    /// semantics: a failed pull leaves the container Waiting with
    /// ErrImagePull and the registry's message, the next passes show
    /// ImagePullBackOff until the backoff (10 s doubling to 5 min) allows
    /// another attempt. Returns nil when the image is there, else when to
    /// look again.
    private func ensureImage(_ pod: Pod, _ container: Container, _ record: inout ContainerRecord) async throws -> ReconcileResult? {
        let now = clock.now()
        let key = "\(pod.uid)/\(container.image)"
        let image = container.image
        if let until = pullBackoff.backoffSinceUpdate(key, now: now) {
            let backOff = "Back-off pulling image \"\(image)\""
            let message = pullErrors[key].map { "\(backOff): ErrImagePull: \($0)" } ?? backOff
            if record.waiting?.reason != "ImagePullBackOff" {
                await event(pod, "BackOff", backOff)
                await event(pod, "Failed", "Error: ImagePullBackOff", warning: true)
            }
            record.waiting = ContainerStatus.Waiting(reason: "ImagePullBackOff", message: message)
            return .requeueAfter(max(0.001, until.timeIntervalSince(now)))
        }
        let policy = Self.pullPolicy(container)
        let task = "pull/\(key)"
        if inflight.contains(task) {
            record.waiting = ContainerStatus.Waiting(reason: "ContainerCreating")
            return .requeueAfter(pollInterval)
        }
        var result = pullResults.removeValue(forKey: key)
        if result == nil, policy == "Never" || policy == "IfNotPresent" || Self.isPinned(image) {
            // An image already on the node needs no pull: a local lookup
            // (milliseconds) here instead of a task and another pass. A
            // digest names its content, so even Always has nothing to ask
            // the registry when that digest is present.
            do {
                result = .success(try await runtime.ensureImage(image, pullPolicy: "Never"))
            } catch {
                if policy == "Never" { result = .failure(error) }
            }
        }
        guard let pulled = result else {
            // A pull can take minutes: run it as its own task, which
            // enqueues the pod when it is done.
            let runtime = self.runtime
            launch(task, pod: pod) { kubelet in
                do {
                    let summary = try await runtime.ensureImage(image, pullPolicy: policy)
                    await kubelet.pulled(key, .success(summary))
                } catch {
                    await kubelet.pulled(key, .failure(error))
                }
            }
            record.waiting = ContainerStatus.Waiting(reason: "ContainerCreating")
            return .requeueAfter(pollInterval)
        }
        do {
            let summary = try pulled.get()
            record.imageID = summary.digest
            if let warning = summary.pullWarning {
                await event(pod, "PullFailedUsingLocal", warning, warning: true)
            }
            pullBackoff.reset(key)
            pullErrors[key] = nil
            return nil
        } catch let error as BerthError where error.code == .imageNotFound && policy == "Never" {
            let message = "Container image \"\(image)\" is not present with pull policy of Never"
            if record.waiting?.reason != "ErrImageNeverPull" {
                await event(pod, "ErrImageNeverPull", message, warning: true)
            }
            record.waiting = ContainerStatus.Waiting(reason: "ErrImageNeverPull", message: message)
            return .requeueAfter(10)
        } catch {
            let message = (error as? BerthError)?.message ?? "\(error)"
            pullBackoff.next(key, finishedAt: now)
            pullErrors[key] = message
            logger.warning("pulling \(image) for pod \(pod.namespace)/\(pod.name) failed: \(message)")
            await event(pod, "Failed", "Failed to pull image \"\(image)\": \(message)", warning: true)
            await event(pod, "Failed", "Error: ErrImagePull", warning: true)
            record.waiting = ContainerStatus.Waiting(reason: "ErrImagePull", message: message)
            // The next pass shows ImagePullBackOff until the backoff ends.
            return .requeueAfter(pollInterval)
        }
    }

    /// `name@sha256:…`: the reference fixes the content.
    static func isPinned(_ image: String) -> Bool {
        image.contains("@sha256:")
    }

    static func pullPolicy(_ container: Container) -> String {
        if let policy = container.imagePullPolicy { return policy }
        let lastPart = container.image.split(separator: "/").last ?? ""
        if container.image.contains("@") { return "IfNotPresent" }
        if !lastPart.contains(":") || lastPart.hasSuffix(":latest") { return "Always" }
        return "IfNotPresent"
    }

    /// Wall time for the debug log's step timings (diagnostics only; the
    /// controller logic uses the injected clock).
    static func millis(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    static func duration(_ seconds: Int) -> String {
        seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }

    // MARK: - Probes

    /// Reads the probe workers' results (the kubelet's results cache) and
    /// acts on them: a failed startup or liveness probe kills the container,
    /// readiness sets Ready. Never runs a probe itself.
    private func runProbes(_ pod: Pod, _ container: Container, _ record: inout ContainerRecord,
                           _ state: PodState) async throws -> ReconcileResult {
        guard let id = record.id else { return .requeueAfter(pollInterval) }
        await probeWorkers.ensureWorkers(pod: pod, container: container, containerID: id,
                                   startedAt: record.startedAt ?? clock.now(), host: state.podIP ?? "127.0.0.1")
        func result(_ kind: ProbeManager.Kind) async -> Bool? {
            await probeWorkers.result(podUID: pod.uid, container: container.name, containerID: id, kind: kind)?.success
        }
        if container.startupProbe != nil {
            switch await result(.startup) {
            case true?: record.started = true
            case false?:
                kill(pod, container, record, because: "failed startup probe")
                return .requeueAfter(pollInterval)
            case nil: record.started = false
            }
        } else {
            record.started = true
        }
        let liveness = container.livenessProbe == nil ? nil : await result(.liveness)
        if record.started, liveness == false {
            kill(pod, container, record, because: "failed liveness probe")
            record.ready = false
            record.readySince = nil
            return .requeueAfter(pollInterval)
        }
        let wasReady = record.ready
        if container.readinessProbe != nil {
            let readiness = await probeWorkers.result(podUID: pod.uid, container: container.name, containerID: id, kind: .readiness)
            record.ready = record.started && (readiness?.success ?? record.ready)
            if record.ready && !wasReady { record.readySince = readiness?.since ?? clock.now() }
        } else {
            record.ready = record.started
            if record.ready && !wasReady { record.readySince = clock.now() }
        }
        if !record.ready { record.readySince = nil }
        return .requeueAfter(pollInterval)
    }

    /// Stops the container with the pod's grace period as its own task;
    /// the next reconcile sees it exited and restarts it per policy.
    private func kill(_ pod: Pod, _ container: Container, _ record: ContainerRecord, because reason: String) {
        guard let id = record.id else { return }
        let runtime = self.runtime
        let grace = pod.spec.terminationGracePeriodSeconds ?? 30
        launch("kill/\(id)", pod: pod) { kubelet in
            await kubelet.event(pod, "Killing", "Container \(container.name) \(reason), will be restarted")
            try await runtime.stopContainer(id: id, gracePeriod: grace)
        }
    }

    // MARK: - Work outside the reconcile

    /// Runs `work` as its own task unless one with the same name is running,
    /// then enqueues the pod (after a second when it failed).
    func launch(_ name: String, pod: Pod, _ work: @escaping @Sendable (Kubelet) async throws -> Void) {
        guard inflight.insert(name).inserted else { return }
        let key = ObjectName(namespace: pod.namespace, name: pod.name)
        Task {
            var failed = false
            do { try await work(self) } catch {
                failed = true
                logger.warning("\(name) for pod \(key) failed: \(error)")
            }
            await self.finished(name, key, failed: failed)
        }
    }

    private func finished(_ name: String, _ key: ObjectName, failed: Bool) async {
        inflight.remove(name)
        await notifier.notify(key, after: failed ? 1 : 0)
    }

    func pulled(_ key: String, _ result: Result<ImageSummary, any Error>) {
        pullResults[key] = result
    }

    /// Tells whether probes or background tasks are still at work, so that
    /// `Orchestrator.settle()` can wait for them under a manual clock.
    public func hasBackgroundWork() async -> Bool {
        if !inflight.isEmpty { return true }
        return await probeWorkers.isBusy()
    }

    /// Sets who is told that a pod needs another reconcile.
    public func setEnqueue(_ handler: @escaping @Sendable (ObjectName, TimeInterval) async -> Void) async {
        await notifier.set(handler)
    }

    // MARK: - Termination

    /// When a terminating pod still serves: wait until no Endpoints lists
    /// its IP (the Service controller writes Endpoints and the dataplane in
    /// one reconcile) plus a short settle, so that a rolling update drops no
    /// request that the Service's proxy already sent to it. Capped in wall
    /// time (`drainLimit`) so a pod never waits on a Service controller that
    /// is not running. nil: stop it now.
    func drainDelay(_ pod: Pod) async throws -> TimeInterval? {
        guard let ip = pod.status?.podIP, !ip.isEmpty else { return nil }
        let now = Date()
        let started = draining[pod.uid] ?? now
        let elapsed = now.timeIntervalSince(started)
        if elapsed >= Self.drainLimit { return nil }
        let listed = try await store.list(Endpoints.self, namespace: pod.namespace).contains { endpoints in
            (endpoints.subsets ?? []).contains { ($0.addresses ?? []).contains { $0.ip == ip } }
        }
        if draining[pod.uid] == nil {
            // No Service sends to it: nothing to drain.
            guard listed else { return nil }
            draining[pod.uid] = now
        }
        if listed || elapsed < Self.drainSettle { return 0.1 }
        return nil
    }

    /// Lets pod starts go first: a stopped pod's sandbox is removed once no
    /// pass has been starting a sandbox or container for `startQuiet`, or
    /// after `startQuietLimit`. The runtime attaches and detaches pod
    /// networks one at a time (and deleting a veth waits for the kernel), so
    /// in a rolling update the old pods' teardowns would otherwise queue in
    /// front of the new pods' sandboxes. Nothing waits for the teardown:
    /// Available counts new ready pods, and the old pod object goes once
    /// it is done. Wall time, and only on the system clock: tests on a
    /// manual clock tear down at once.
    func awaitQuietStarts() async {
        guard clock is SystemClock else { return }
        let limit = Date().addingTimeInterval(Self.startQuietLimit)
        while Date() < limit, startsInFlight > 0 || Date().timeIntervalSince(lastStart) < Self.startQuiet {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    static let startQuiet: TimeInterval = 0.3
    static let startQuietLimit: TimeInterval = 5

    /// Longest a terminating pod waits for the Services to stop sending to it.
    static let drainLimit: TimeInterval = 3
    /// Time after the Endpoints dropped the pod for the proxy's rules to follow.
    static let drainSettle: TimeInterval = 0.5

    /// Stops every container with the pod's grace period, releases the
    /// sandbox and the pod's directories, then removes the pod object.
    func terminate(_ pod: Pod) async throws {
        let grace = pod.spec.terminationGracePeriodSeconds ?? 30
        var ids = Set<String>()
        var sandboxes = Set<String>()
        if let state = pods[pod.uid] {
            ids.formUnion(state.containers.values.compactMap(\.id))
            ids.formUnion(state.initContainers.values.compactMap(\.id))
            if let sandbox = state.sandboxID { sandboxes.insert(sandbox) }
        }
        // The records name every container this kubelet made for the pod
        // (recover() rebuilds them after a restart). Only a pod it holds no
        // sandbox for is looked up in the runtime's lists, which read every
        // container's and sandbox's state (costly during a rollout's
        // terminations).
        if sandboxes.isEmpty {
            for container in (try? await runtime.listContainers()) ?? [] where container.labels[RuntimeLabels.podUID] == pod.uid {
                if container.state != .exited { ids.insert(container.id) }
            }
            for sandbox in (try? await runtime.listSandboxes()) ?? [] where sandbox.podUID == pod.uid { sandboxes.insert(sandbox.id) }
        }
        if !ids.isEmpty { await event(pod, "Killing", "Stopping \(ids.count) container(s) with grace period \(grace)s") }
        let runtime = self.runtime
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask {
                    do { try await runtime.stopContainer(id: id, gracePeriod: grace) } catch let error as BerthError where error.code == .notFound {}
                }
            }
            try await group.waitForAll()
        }
        if !sandboxes.isEmpty { await awaitQuietStarts() }
        for sandbox in sandboxes {
            do { try await runtime.removeSandbox(id: sandbox) } catch let error as BerthError where error.code == .notFound {}
        }
        volumes.remove(pod.uid)
        pods[pod.uid] = nil
        forgetBackoffs(podUID: pod.uid)
        await probeWorkers.stop(podUID: pod.uid)
        do {
            if (pod.metadata.finalizers ?? []).contains(Self.finalizer) {
                // Dropping the last finalizer of a pod being deleted removes it.
                var copy = pod
                copy.metadata.finalizers = pod.metadata.finalizers?.filter { $0 != Self.finalizer }
                copy.metadata.resourceVersion = nil
                _ = try await store.update(copy)
            } else {
                try await store.delete(.pod, namespace: pod.namespace, name: pod.name)
            }
        } catch let error as BerthError where error.code == .notFound {}
    }

    /// Stops and removes what is left of a pod that is gone from the store
    /// (removed without the kubelet's finalizer, e.g. by a forced delete).
    public func cleanUpDeleted(podUID: String) async {
        var ids: [String] = []
        for container in (try? await runtime.listContainers()) ?? []
            where container.labels[RuntimeLabels.podUID] == podUID && container.state != .exited {
            ids.append(container.id)
        }
        for id in ids { try? await runtime.stopContainer(id: id, gracePeriod: 30) }
        for sandbox in (try? await runtime.listSandboxes()) ?? [] where sandbox.podUID == podUID {
            try? await runtime.removeSandbox(id: sandbox.id)
        }
        volumes.remove(podUID)
        pods[podUID] = nil
        forgetBackoffs(podUID: podUID)
        await probeWorkers.stop(podUID: podUID)
    }

    private func forgetBackoffs(podUID: String) {
        backoff.forget(prefix: podUID + "/")
        pullBackoff.forget(prefix: podUID + "/")
        pullResults = pullResults.filter { !$0.key.hasPrefix(podUID + "/") }
        pullErrors = pullErrors.filter { !$0.key.hasPrefix(podUID + "/") }
    }

    /// Removes sandboxes whose pod no longer exists (deleted while Berth was
    /// down, or force-deleted). Returns how many it removed.
    @discardableResult
    public func removeOrphanedSandboxes() async throws -> Int {
        let live = Set(try await store.list(Pod.self, namespace: nil).filter { $0.spec.nodeName == nodeName }.map(\.uid))
        var removed = 0
        for sandbox in try await runtime.listSandboxes() where !live.contains(sandbox.podUID) {
            for container in try await runtime.listContainers() where container.sandboxID == sandbox.id && container.state == .running {
                try? await runtime.stopContainer(id: container.id, gracePeriod: 30)
            }
            try? await runtime.removeSandbox(id: sandbox.id)
            pods[sandbox.podUID] = nil
            volumes.remove(sandbox.podUID)
            removed += 1
        }
        return removed
    }

    // MARK: - Restart recovery

    /// Matches the runtime's live sandboxes and containers back to the pods
    /// they belong to (by the labels Berth put on them), so that a restarted
    /// orchestrator adopts them instead of starting new ones. Readiness and
    /// startup state are taken over from the stored pod status, so a healthy
    /// pod stays Ready across the restart.
    public func recover() async throws {
        let stored = try await store.list(Pod.self, namespace: nil).filter { $0.spec.nodeName == nodeName }
        let byUID = Dictionary(stored.map { ($0.uid, $0) }, uniquingKeysWith: { first, _ in first })
        for sandbox in try await runtime.listSandboxes() where byUID[sandbox.podUID] != nil {
            var state = pods[sandbox.podUID] ?? PodState()
            state.sandboxID = sandbox.id
            state.podIP = sandbox.ip
            pods[sandbox.podUID] = state
        }
        var newest: [String: ContainerRuntimeStatus] = [:]
        for container in try await runtime.listContainers() {
            guard let uid = container.labels[RuntimeLabels.podUID], byUID[uid] != nil,
                  let name = container.labels[RuntimeLabels.containerName] else { continue }
            let key = "\(uid)/\(container.labels[RuntimeLabels.containerType] ?? "app")/\(name)"
            let attempt = Int(container.labels[RuntimeLabels.containerAttempt] ?? "") ?? 0
            if let existing = newest[key], (Int(existing.labels[RuntimeLabels.containerAttempt] ?? "") ?? 0) >= attempt { continue }
            newest[key] = container
        }
        for (_, container) in newest {
            guard let uid = container.labels[RuntimeLabels.podUID], let pod = byUID[uid],
                  let name = container.labels[RuntimeLabels.containerName] else { continue }
            let isInit = container.labels[RuntimeLabels.containerType] == "init"
            var state = pods[uid] ?? PodState()
            guard state.sandboxID == container.sandboxID else { continue }
            let storedStatus = (isInit ? pod.status?.initContainerStatuses : pod.status?.containerStatuses)?.first { $0.name == name }
            var record = ContainerRecord()
            record.id = container.id
            record.attempt = Int(container.labels[RuntimeLabels.containerAttempt] ?? "") ?? 0
            record.imageID = container.imageDigest
            record.lastTerminated = storedStatus?.lastState?.terminated
            if container.state == .running {
                record.running = true
                record.waiting = nil
                // The time this kubelet wrote (milliseconds) when it is this container's.
                let written = storedStatus?.containerID == "berth://\(container.id)" ? storedStatus?.state?.running?.startedAt : nil
                record.startedAt = Timestamp.parse(written) ?? Timestamp.parse(container.startedAt) ?? clock.now()
                record.started = storedStatus?.started ?? false
                record.ready = storedStatus?.ready ?? false
                if record.ready { await probeWorkers.seed(podUID: uid, container: name, kind: .readiness, success: true) }
                if record.started { await probeWorkers.seed(podUID: uid, container: name, kind: .startup, success: true) }
            } else if container.state == .exited, isInit, container.exitCode == 0 {
                var terminated = ContainerStatus.Terminated(exitCode: 0, reason: "Completed")
                terminated.containerID = container.id
                record.terminated = terminated
                record.waiting = nil
            }
            if isInit { state.initContainers[name] = record } else { state.containers[name] = record }
            state.startTime = Timestamp.parse(pod.status?.startTime)
            pods[uid] = state
        }
        // Adopted pods need their volumes map; their files are already written.
        for (uid, var state) in pods where state.volumes == nil {
            if let pod = byUID[uid], state.sandboxID != nil {
                state.volumes = (try? await volumes.prepare(pod)) ?? nil
                pods[uid] = state
            }
        }
    }

    // MARK: - Helpers

    func sandboxConfig(_ pod: Pod) -> SandboxConfig {
        var ports: [PortMapping] = []
        for container in pod.spec.containers {
            for port in container.ports ?? [] {
                if let hostPort = port.hostPort, hostPort > 0 {
                    ports.append(PortMapping(containerPort: port.containerPort, hostPort: hostPort,
                                             hostIP: port.hostIP ?? "127.0.0.1", protocol: port.protocol ?? "TCP"))
                }
            }
        }
        return SandboxConfig(
            podUID: pod.uid, podName: pod.name, namespace: pod.namespace, hostname: pod.spec.hostname ?? pod.name,
            portMappings: ports,
            labels: [RuntimeLabels.podUID: pod.uid, RuntimeLabels.podName: pod.name, RuntimeLabels.podNamespace: pod.namespace])
    }

    func event(_ pod: Pod, _ reason: String, _ message: String, warning: Bool = false) async {
        await store.recordEvent(involving: pod.objectReference, reason: reason, message: message, type: warning ? "Warning" : "Normal")
    }

    /// For tests and diagnostics: the restart count the kubelet tracks.
    public func restartCount(podUID: String, container: String) -> Int? {
        pods[podUID]?.containers[container]?.attempt
    }
}
