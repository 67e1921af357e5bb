import BerthAPI
import BerthStore
import Foundation

/// Waits for Deployments to finish rolling out, by polling their status in
/// the store (the orchestrator writes it). A rollout is done when the
/// controller has seen the latest spec (`observedGeneration ≥ generation`),
/// every replica is updated and available and no old replica is left. It
/// has failed when the controller says `Progressing=False
/// ProgressDeadlineExceeded`, when a pod of the new ReplicaSet crash-loops,
/// restarts `failureThreshold` times (a failing liveness probe restarts it)
/// or fails its readiness probe `failureThreshold` times in a row, or when
/// `timeout` passes. Looking at the new pods themselves finds a bad commit in
/// seconds instead of waiting out the progress deadline.
struct RolloutWatcher: Sendable {
    enum Verdict: Sendable, Equatable {
        case progressing
        case available
        case failed(String)
    }

    let store: Store
    let failureThreshold: Int
    let pollInterval: Duration

    init(store: Store, failureThreshold: Int, pollInterval: Duration = .milliseconds(250)) {
        self.store = store
        self.failureThreshold = failureThreshold
        self.pollInterval = pollInterval
    }

    /// Watches `deployments` until each is available or failed, the timeout
    /// passes, or `abandon()` says a newer commit is waiting (every
    /// still-progressing rollout is then `superseded`).
    func watch(
        _ deployments: [ObjectKey], timeout: Duration, rollback: Bool,
        abandon: @Sendable () async -> Bool
    ) async -> [RolloutOutcome] {
        var outcomes: [String: RolloutOutcome] = [:]
        var pending = deployments
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !pending.isEmpty {
            var still: [ObjectKey] = []
            let verdicts = (try? await checkAll(pending)) ?? [:]
            for key in pending {
                let verdict = verdicts[key] ?? .progressing
                switch verdict {
                case .progressing: still.append(key)
                case .available: outcomes[key.description] = RolloutOutcome(deployment: name(key), result: .available, rollback: rollback)
                case .failed(let reason): outcomes[key.description] = RolloutOutcome(deployment: name(key), result: .failed, reason: reason, rollback: rollback)
                }
            }
            pending = still
            if pending.isEmpty { break }
            if Task.isCancelled {
                for key in pending { outcomes[key.description] = RolloutOutcome(deployment: name(key), result: .interrupted, rollback: rollback) }
                break
            }
            if clock.now >= deadline {
                for key in pending {
                    outcomes[key.description] = RolloutOutcome(
                        deployment: name(key), result: .timedOut,
                        reason: "not available after \(DurationText.format(timeout)) (the source's rolloutTimeout)", rollback: rollback)
                }
                break
            }
            if await abandon() {
                for key in pending {
                    outcomes[key.description] = RolloutOutcome(deployment: name(key), result: .superseded, reason: "a newer commit arrived", rollback: rollback)
                }
                break
            }
            try? await Task.sleep(for: pollInterval)
        }
        return deployments.compactMap { outcomes[$0.description] }
    }

    private func name(_ key: ObjectKey) -> String { "\(key.namespace)/\(key.name)" }

    /// One look at every watched Deployment: one list of Deployments and one
    /// of ReplicaSets per namespace, whatever their number (a sync of 500
    /// Deployments must not read the ReplicaSets 500 times per poll).
    func checkAll(_ keys: [ObjectKey]) async throws -> [ObjectKey: Verdict] {
        var deployments: [ObjectKey: StoredObject] = [:]
        var replicaSets: [String: [StoredObject]] = [:]
        for namespace in Set(keys.map(\.namespace)) {
            for stored in try await store.list(.deployment, namespace: namespace).items { deployments[stored.key] = stored }
        }
        var result: [ObjectKey: Verdict] = [:]
        for key in keys {
            guard let stored = deployments[key] else { result[key] = .failed("the Deployment was deleted"); continue }
            result[key] = try await check(stored) { namespace in
                if let cached = replicaSets[namespace] { return cached }
                let listed = try await store.list(.replicaSet, namespace: namespace).items
                replicaSets[namespace] = listed
                return listed
            }
        }
        return result
    }

    /// One look at one Deployment.
    func check(_ key: ObjectKey) async throws -> Verdict {
        guard let stored = try await store.get(key) else { return .failed("the Deployment was deleted") }
        return try await check(stored) { namespace in try await store.list(.replicaSet, namespace: namespace).items }
    }

    private func check(_ stored: StoredObject, replicaSets: (String) async throws -> [StoredObject]) async throws -> Verdict {
        let deployment = stored.object
        let status = deployment["status"]
        // A status written before the controller saw this spec says nothing about it.
        guard let observed = status?["observedGeneration"]?.intValue, Int64(observed) >= stored.generation else { return .progressing }
        let conditions = status?["conditions"]?.arrayValue ?? []
        if let progressing = conditions.first(where: { $0["type"]?.stringValue == "Progressing" }),
           progressing["status"]?.stringValue == "False",
           progressing["reason"]?.stringValue == "ProgressDeadlineExceeded" {
            return .failed("ProgressDeadlineExceeded: \(progressing["message"]?.stringValue ?? "the rollout made no progress")")
        }
        let verdict = Self.verdict(deployment: deployment, generation: stored.generation)
        // Only a rollout still under way can fail through its new pods.
        guard verdict == .progressing else { return verdict }
        if let podFailure = try await newPodFailure(stored, replicaSets: try await replicaSets(stored.key.namespace)) { return .failed(podFailure) }
        return verdict
    }

    /// The status part of the decision, pure.
    static func verdict(deployment: JSONValue, generation: Int64) -> Verdict {
        let status = deployment["status"]
        let wanted = deployment["spec"]?["replicas"]?.intValue ?? 1
        guard let observed = status?["observedGeneration"]?.intValue, Int64(observed) >= generation else { return .progressing }
        let updated = status?["updatedReplicas"]?.intValue ?? 0
        let available = status?["availableReplicas"]?.intValue ?? 0
        let total = status?["replicas"]?.intValue ?? 0
        guard updated >= wanted, available >= wanted, total <= wanted else { return .progressing }
        if wanted > 0 {
            let conditions = status?["conditions"]?.arrayValue ?? []
            let availableCondition = conditions.first { $0["type"]?.stringValue == "Available" }
            if let availableCondition, availableCondition["status"]?.stringValue != "True" { return .progressing }
        }
        return .available
    }

    /// A pod of the Deployment's newest ReplicaSet whose containers
    /// crash-loop, restarted `failureThreshold` times, or keep failing their
    /// readiness probe.
    func newPodFailure(_ deployment: StoredObject, replicaSets all: [StoredObject]) async throws -> String? {
        let namespace = deployment.key.namespace
        let revision = deployment.annotations[WellKnown.revisionAnnotation]
        let replicaSets = all.filter { rs in
            rs.ownerReferences.contains { $0.uid == deployment.uid }
        }
        guard let newest = replicaSets.first(where: { revision != nil && $0.annotations[WellKnown.revisionAnnotation] == revision })
                ?? replicaSets.max(by: { (Int($0.annotations[WellKnown.revisionAnnotation] ?? "") ?? 0) < (Int($1.annotations[WellKnown.revisionAnnotation] ?? "") ?? 0) })
        else { return nil }
        let pods = try await store.dependents(ofUID: newest.uid).filter { $0.key.kind == "Pod" && $0.deletionTimestamp == nil }
        let now = Date()
        for pod in pods {
            if let failure = Self.restartFailure(pod: pod.object, name: pod.key.name, failureThreshold: failureThreshold) { return failure }
            // Only a pod that has been unready for long enough costs an events query.
            guard let suspect = Self.readinessSuspect(pod: pod.object, now: now, failureThreshold: failureThreshold) else { continue }
            let failed = try await store.events(namespace: namespace, involving: pod.key).filter {
                $0.reason == "Unhealthy" && $0.message.hasPrefix("Readiness probe failed") && $0.involvedObject.uid == pod.uid
            }
            guard let last = failed.max(by: { $0.lastTimestamp < $1.lastTimestamp }) else { continue }
            let failures = max(suspect.failures, failed.reduce(0) { $0 + $1.count })
            return "pod \(pod.key.name): container \(suspect.container) failed its readiness probe \(failures) times in a row "
                + "(failureThreshold \(suspect.threshold)): \(last.message.dropFirst("Readiness probe failed: ".count))"
        }
        return nil
    }

    /// Restarts past the threshold, or CrashLoopBackOff. Pure.
    static func restartFailure(pod: JSONValue, name: String, failureThreshold: Int) -> String? {
        let statuses = (pod["status"]?["containerStatuses"]?.arrayValue ?? [])
            + (pod["status"]?["initContainerStatuses"]?.arrayValue ?? [])
        for container in statuses {
            let restarts = container["restartCount"]?.intValue ?? 0
            let waiting = container["state"]?["waiting"]?["reason"]?.stringValue
            let containerName = container["name"]?.stringValue ?? "?"
            if restarts >= failureThreshold {
                return "pod \(name): container \(containerName) restarted \(restarts) times (failureThreshold \(failureThreshold))"
            }
            if waiting == "CrashLoopBackOff" && restarts > 0 {
                return "pod \(name): container \(containerName) is in CrashLoopBackOff"
            }
        }
        return nil
    }

    struct ReadinessSuspect: Equatable {
        var container: String
        /// Probe runs since the container could first be probed (or since the pod last became unready), all failed.
        var failures: Int
        var threshold: Int
    }

    /// A running, unready container with a readiness probe whose probe has
    /// had at least `threshold` chances since its initial delay (or since
    /// the pod turned unready) without the pod becoming ready; `threshold`
    /// is the larger of the source's failureThreshold and the probe's own.
    /// Pure; the caller confirms with the kubelet's "Readiness probe failed"
    /// events, so a kubelet that is merely slow to probe is never blamed.
    static func readinessSuspect(pod: JSONValue, now: Date, failureThreshold: Int) -> ReadinessSuspect? {
        let status = pod["status"]
        guard status?["phase"]?.stringValue == "Running" else { return nil }
        let readyCondition = status?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }
        guard readyCondition?["status"]?.stringValue != "True" else { return nil }
        let specs = pod["spec"]?["containers"]?.arrayValue ?? []
        for container in status?["containerStatuses"]?.arrayValue ?? [] {
            guard container["ready"] != .bool(true),
                  let name = container["name"]?.stringValue,
                  let started = parseTime(container["state"]?["running"]?["startedAt"]?.stringValue),
                  let probe = specs.first(where: { $0["name"]?.stringValue == name })?["readinessProbe"],
                  probe.objectValue != nil else { continue }
            let period = Double(max(1, probe["periodSeconds"]?.intValue ?? 10))
            var since = started.addingTimeInterval(Double(probe["initialDelaySeconds"]?.intValue ?? 0))
            // Ready once, unready since: count from the turn.
            if let turned = parseTime(readyCondition?["lastTransitionTime"]?.stringValue), turned > since { since = turned }
            let failures = now >= since ? Int(now.timeIntervalSince(since) / period) : 0
            let threshold = max(failureThreshold, probe["failureThreshold"]?.intValue ?? 3)
            if failures >= threshold { return ReadinessSuspect(container: name, failures: failures, threshold: threshold) }
        }
        return nil
    }

    /// RFC 3339, with or without fractional seconds.
    static func parseTime(_ text: String?) -> Date? {
        guard let text else { return nil }
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
