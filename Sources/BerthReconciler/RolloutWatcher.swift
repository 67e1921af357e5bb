import BerthAPI
import BerthStore
import Foundation

/// Waits for Deployments to finish rolling out, by polling their status in
/// the store (the orchestrator writes it). A rollout is done when the
/// controller has seen the latest spec (`observedGeneration ≥ generation`),
/// every replica is updated and available and no old replica is left. It
/// has failed when the controller says `Progressing=False
/// ProgressDeadlineExceeded`, when a pod of the new ReplicaSet crash-loops or
/// restarts `failureThreshold` times, or when `timeout` passes.
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
            for key in pending {
                let verdict = (try? await check(key)) ?? .progressing
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

    /// One look at one Deployment.
    func check(_ key: ObjectKey) async throws -> Verdict {
        guard let stored = try await store.get(key) else { return .failed("the Deployment was deleted") }
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
        if let podFailure = try await newPodFailure(stored) { return .failed(podFailure) }
        return Self.verdict(deployment: deployment, generation: stored.generation)
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
    /// crash-loop or restarted `failureThreshold` times.
    func newPodFailure(_ deployment: StoredObject) async throws -> String? {
        let namespace = deployment.key.namespace
        let revision = deployment.annotations[WellKnown.revisionAnnotation]
        let replicaSets = try await store.list(.replicaSet, namespace: namespace).items.filter { rs in
            rs.ownerReferences.contains { $0.uid == deployment.uid }
        }
        guard let newest = replicaSets.first(where: { revision != nil && $0.annotations[WellKnown.revisionAnnotation] == revision })
                ?? replicaSets.max(by: { (Int($0.annotations[WellKnown.revisionAnnotation] ?? "") ?? 0) < (Int($1.annotations[WellKnown.revisionAnnotation] ?? "") ?? 0) })
        else { return nil }
        let pods = try await store.dependents(ofUID: newest.uid).filter { $0.key.kind == "Pod" }
        for pod in pods {
            let statuses = (pod.object["status"]?["containerStatuses"]?.arrayValue ?? [])
                + (pod.object["status"]?["initContainerStatuses"]?.arrayValue ?? [])
            for container in statuses {
                let restarts = container["restartCount"]?.intValue ?? 0
                let waiting = container["state"]?["waiting"]?["reason"]?.stringValue
                let name = container["name"]?.stringValue ?? "?"
                if restarts >= failureThreshold {
                    return "pod \(pod.key.name): container \(name) restarted \(restarts) times (failureThreshold \(failureThreshold))"
                }
                if waiting == "CrashLoopBackOff" && restarts > 0 {
                    return "pod \(pod.key.name): container \(name) is in CrashLoopBackOff"
                }
            }
        }
        return nil
    }
}
