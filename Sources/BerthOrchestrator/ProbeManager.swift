import BerthAPI
import Foundation
import Logging

/// The kubelet's prober manager: one worker task per container probe
/// (startup, liveness, readiness), each on its own timer (initialDelaySeconds,
/// periodSeconds) with Kubernetes' consecutive success and failure
/// thresholds. Workers run independently of the kubelet's reconcile
/// workers, so slow pulls or terminations never delay another pod's probes.
/// Results go to a cache that the reconcile reads; a changed result
/// enqueues the pod for a status update.
///
/// Workers sleep on the injected clock. `isBusy()` tells whether any worker
/// is due or probing, so that `Orchestrator.settle()` stays deterministic
/// under a `ManualClock`.
actor ProbeManager {
    enum Kind: String, Sendable, CaseIterable {
        case startup, liveness, readiness
    }

    /// The cached result of one probe, as the kubelet's results manager
    /// keeps it.
    struct Result: Sendable, Equatable {
        /// nil until the first threshold is reached (Kubernetes' "unknown").
        var success: Bool?
        var consecutiveSuccesses = 0
        var consecutiveFailures = 0
        /// When `success` last changed: the instant the probe that flipped
        /// it returned (the kubelet dates the Ready transition from it).
        var since: Date?
    }

    struct Key: Hashable, Sendable {
        var podUID: String
        var container: String
        var kind: Kind
    }

    private enum Phase { case sleeping(Date), running }

    private struct Worker {
        var containerID: String
        var task: Task<Void, Never>
        var phase: Phase
    }

    let clock: any OrchestratorClock
    let prober: Prober
    let logger: Logger
    let onChange: @Sendable (ObjectName) async -> Void
    let onUnhealthy: @Sendable (ObjectReference, Kind, String) async -> Void
    /// How long after a container's start a probe without an initial delay
    /// first runs. Kubernetes runs it at the worker's next tick, anywhere in
    /// the first period; at the very start the process has often not bound
    /// its port yet, and that failed probe costs a whole period. A few tens
    /// of milliseconds later it usually has.
    let firstProbeDelay: TimeInterval
    private var workers: [Key: Worker] = [:]
    private var results: [Key: Result] = [:]

    init(clock: any OrchestratorClock, prober: Prober, logger: Logger = Logger(label: "berth.kubelet"),
         onChange: @escaping @Sendable (ObjectName) async -> Void,
         onUnhealthy: @escaping @Sendable (ObjectReference, Kind, String) async -> Void,
         firstProbeDelay: TimeInterval = 0) {
        self.clock = clock
        self.firstProbeDelay = firstProbeDelay
        self.prober = prober
        self.logger = logger
        self.onChange = onChange
        self.onUnhealthy = onUnhealthy
    }

    // MARK: - What the reconcile asks

    /// Starts a worker for each probe the container declares, unless one is
    /// already running for this container instance; workers of a previous
    /// instance (restarted container) are replaced and their results dropped.
    func ensureWorkers(pod: Pod, container: Container, containerID: String, startedAt: Date, host: String) {
        let podUID = pod.uid
        let name = ObjectName(namespace: pod.namespace, name: pod.name)
        let reference = pod.objectReference
        let probes: [(Kind, Probe?)] = [(.startup, container.startupProbe), (.liveness, container.livenessProbe),
                                        (.readiness, container.readinessProbe)]
        for (kind, probe) in probes {
            guard let probe else { continue }
            let key = Key(podUID: podUID, container: container.name, kind: kind)
            if let existing = workers[key] {
                if existing.containerID == containerID { continue }
                existing.task.cancel()
                workers[key] = nil
                results[key] = nil
            }
            let initialDelay = TimeInterval(probe.initialDelaySeconds ?? 0)
            let first = startedAt.addingTimeInterval(initialDelay > 0 ? initialDelay : firstProbeDelay)
            let task = Task { [weak self] in
                guard let self else { return }
                await self.work(key, pod: name, reference: reference, probe: probe, container: container, containerID: containerID,
                                 host: host, first: first)
            }
            workers[key] = Worker(containerID: containerID, task: task, phase: .sleeping(first))
        }
    }

    /// The cached result for a container instance, nil when there is no
    /// worker for it (no such probe, or a different instance).
    func result(podUID: String, container: String, containerID: String, kind: Kind) -> Result? {
        let key = Key(podUID: podUID, container: container, kind: kind)
        guard workers[key]?.containerID == containerID else { return nil }
        return results[key]
    }

    /// Seeds a result (restart recovery: a Ready pod stays Ready).
    func seed(podUID: String, container: String, kind: Kind, success: Bool) {
        results[Key(podUID: podUID, container: container, kind: kind)] =
            Result(success: success, consecutiveSuccesses: success ? 1 : 0, consecutiveFailures: 0)
    }

    /// Stops every worker of a container (it exited) or of a pod.
    func stop(podUID: String, container: String? = nil) {
        for key in workers.keys where key.podUID == podUID && (container == nil || key.container == container) {
            workers[key]?.task.cancel()
            workers[key] = nil
            results[key] = nil
        }
        if container == nil { results = results.filter { $0.key.podUID != podUID } }
    }

    /// True while a worker is due (its wake-up time has passed) or probing.
    func isBusy() -> Bool {
        let now = clock.now()
        return workers.values.contains { worker in
            switch worker.phase {
            case .running: return true
            case .sleeping(let at): return at <= now && !worker.task.isCancelled
            }
        }
    }

    // MARK: - The worker

    private func work(_ key: Key, pod: ObjectName, reference: ObjectReference, probe: Probe, container: Container, containerID: String,
                      host: String, first: Date) async {
        let period = TimeInterval(max(1, probe.periodSeconds ?? 10))
        var next = first
        while !Task.isCancelled {
            setPhase(key, containerID, .sleeping(next))
            do { try await clock.sleep(until: next) } catch { break }
            if Task.isCancelled { break }
            next = clock.now().addingTimeInterval(period)
            // A startup probe holds back the others; a finished startup
            // probe, or a failed liveness probe, waits for a new instance.
            if key.kind != .startup, !startupSucceeded(key, containerID) { continue }
            if key.kind == .startup, results[key]?.success != nil { break }
            if key.kind == .liveness, results[key]?.success == false { break }
            setPhase(key, containerID, .running)
            let outcome = await prober.run(probe, container: container, containerID: containerID, host: host)
            guard !Task.isCancelled, workers[key]?.containerID == containerID else { break }
            let changed = await record(key, outcome, probe: probe, reference: reference)
            // Busy until the pod is enqueued, so that settle() finds the
            // key queued once this worker counts as idle.
            if changed {
                Trace.mark("probe \(pod.name): \(key.kind.rawValue) now \(outcome.succeeded ? "succeeds" : "fails")")
                logger.debug("kubelet: \(key.kind.rawValue) probe of \(pod)/\(key.container) now \(outcome.succeeded ? "succeeds" : "fails")")
                await onChange(pod)
            }
        }
        setPhase(key, containerID, .sleeping(.distantFuture))
    }

    private func setPhase(_ key: Key, _ containerID: String, _ phase: Phase) {
        guard workers[key]?.containerID == containerID else { return }
        workers[key]?.phase = phase
    }

    private func startupSucceeded(_ key: Key, _ containerID: String) -> Bool {
        let startup = Key(podUID: key.podUID, container: key.container, kind: .startup)
        guard workers[startup]?.containerID == containerID else { return true }
        return results[startup]?.success == true
    }

    /// Applies one outcome with the thresholds; returns whether the result
    /// flipped.
    private func record(_ key: Key, _ outcome: ProbeOutcome, probe: Probe, reference: ObjectReference) async -> Bool {
        var result = results[key] ?? Result()
        let before = result.success
        if outcome.succeeded {
            result.consecutiveSuccesses += 1
            result.consecutiveFailures = 0
            let threshold = key.kind == .readiness ? max(1, probe.successThreshold ?? 1) : 1
            if result.consecutiveSuccesses >= threshold { result.success = true }
        } else {
            result.consecutiveFailures += 1
            result.consecutiveSuccesses = 0
            if result.consecutiveFailures >= max(1, probe.failureThreshold ?? 3) { result.success = false }
        }
        if result.success != before { result.since = clock.now() }
        results[key] = result
        if case .failure(let message) = outcome {
            // Readiness reports its first failure and failures while Ready,
            // as before; startup and liveness every failure.
            if key.kind != .readiness || before == true || result.consecutiveFailures == 1 {
                await onUnhealthy(reference, key.kind, message)
            }
        }
        return result.success != before
    }
}
