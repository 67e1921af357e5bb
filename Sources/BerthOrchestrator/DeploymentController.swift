import BerthAPI
import Foundation
import Logging

/// Kubernetes' deployment controller: owns ReplicaSets named
/// `<deployment>-<pod-template-hash>` and moves them one step at a time
/// toward the Deployment's spec — RollingUpdate within maxSurge and
/// maxUnavailable, Recreate, proportional scaling of a rollout in flight,
/// pause, revision history and the Available/Progressing conditions.
///
/// Each `reconcile` reads the current state and makes at most one kind of
/// change (scale up the new set, scale down old ones, write status), so a
/// crash anywhere is followed by a pass that converges.
public struct DeploymentController: Sendable {
    let store: any OrchestratorStore
    let clock: any OrchestratorClock
    let logger: Logger

    public init(store: any OrchestratorStore, clock: any OrchestratorClock, logger: Logger = Logger(label: "berth.deployment")) {
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    typealias Util = DeploymentUtil

    public func reconcile(namespace: String, name: String) async throws -> ReconcileResult {
        guard let deployment = try await store.get(Deployment.self, namespace: namespace, name: name),
              !deployment.isTerminating else { return .done }
        let sets = try await replicaSets(for: deployment)

        if deployment.spec.paused == true {
            return try await sync(deployment, sets)
        }
        if isScalingEvent(deployment, sets) {
            return try await sync(deployment, sets)
        }
        if Util.isRecreate(deployment) {
            return try await rolloutRecreate(deployment, sets)
        }
        return try await rolloutRolling(deployment, sets)
    }

    // MARK: - Owned ReplicaSets

    /// The ReplicaSets this Deployment controls, adopting orphans its
    /// selector matches (as `ClaimReplicaSets`).
    func replicaSets(for deployment: Deployment) async throws -> [ReplicaSet] {
        var owned = try await store.list(ReplicaSet.self, namespace: deployment.namespace, controlledBy: deployment.uid)
        for var rs in try await store.listUncontrolled(ReplicaSet.self, namespace: deployment.namespace) {
            guard !rs.isTerminating, deployment.spec.selector.matches(rs.metadata.labels ?? [:]) else { continue }
            rs.metadata.ownerReferences = (rs.metadata.ownerReferences ?? []) + [ownerReference(deployment)]
            owned.append(try await store.update(rs))
        }
        return owned
    }

    func ownerReference(_ deployment: Deployment) -> OwnerReference {
        OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: deployment.name, uid: deployment.uid)
    }

    /// Splits into the set whose template equals the Deployment's (the
    /// newest such, as `FindNewReplicaSet`) and the others.
    func split(_ deployment: Deployment, _ sets: [ReplicaSet]) -> (new: ReplicaSet?, old: [ReplicaSet]) {
        let sorted = sets.sorted(by: Util.byCreation)
        let new = sorted.first { Util.equalIgnoreHash($0.spec.template, deployment.spec.template) }
        return (new, sorted.filter { $0.metadata.uid != new?.metadata.uid })
    }

    // MARK: - New ReplicaSet and revisions

    /// `getAllReplicaSetsAndSyncRevision`: finds (or, if `create`, makes) the
    /// new ReplicaSet and keeps the revision annotations in step.
    func newAndOld(_ deployment: inout Deployment, _ sets: [ReplicaSet], create: Bool) async throws -> (ReplicaSet?, [ReplicaSet]) {
        let (existing, old) = split(deployment, sets)
        let maxOld = Util.maxRevision(old)
        let newRevision = String(maxOld + 1)
        let now = clock.now()

        if var rs = existing {
            // A rolled-back-to set gets the next revision.
            if Util.revision(rs) < maxOld + 1 || rs.spec.minReadySeconds != deployment.spec.minReadySeconds {
                rs.metadata.annotations = rs.metadata.annotations ?? [:]
                if Util.revision(rs) < maxOld + 1 { rs.metadata.annotations?[WellKnown.revisionAnnotation] = newRevision }
                rs.spec.minReadySeconds = deployment.spec.minReadySeconds
                rs = try await store.update(rs)
            }
            var needsStatus = try await setDeploymentRevision(&deployment, Util.revision(rs))
            if Util.condition(deployment.status?.conditions, "Progressing") == nil {
                var status = deployment.status ?? DeploymentStatus()
                Util.setCondition(&status.conditions, Util.makeCondition(
                    "Progressing", true, reason: "FoundNewReplicaSet", message: "Found new replica set \"\(rs.name)\"", now: now))
                deployment.status = status
                needsStatus = true
            }
            if needsStatus { deployment = try await store.updateStatus(deployment) }
            return (rs, old)
        }
        guard create else { return (nil, old) }

        // Create the new ReplicaSet `<deployment>-<hash>`.
        let collisionCount = deployment.status?.collisionCount
        let hash = PodTemplateHash.compute(deployment.spec.template, collisionCount: collisionCount)
        var template = deployment.spec.template
        var templateMeta = template.metadata ?? TemplateMeta()
        templateMeta.labels = (templateMeta.labels ?? [:]).merging([WellKnown.podTemplateHashLabel: hash]) { $1 }
        template.metadata = templateMeta
        var selector = deployment.spec.selector
        selector.matchLabels = (selector.matchLabels ?? [:]).merging([WellKnown.podTemplateHashLabel: hash]) { $1 }
        let desired = Util.replicas(deployment)
        var meta = ObjectMeta(name: "\(deployment.name)-\(hash)", namespace: deployment.namespace,
                              labels: templateMeta.labels,
                              annotations: [
                                  WellKnown.revisionAnnotation: newRevision,
                                  Util.desiredReplicasAnnotation: String(desired),
                                  Util.maxReplicasAnnotation: String(desired + Util.maxSurge(deployment)),
                              ])
        meta.ownerReferences = [ownerReference(deployment)]
        var spec = ReplicaSetSpec(replicas: 0, selector: selector, template: template)
        spec.minReadySeconds = deployment.spec.minReadySeconds
        var rs = ReplicaSet(metadata: meta, spec: spec)
        rs.spec.replicas = newReplicaSetReplicas(deployment, sets, nil)

        do {
            rs = try await store.create(rs)
        } catch let error as BerthError where error.code == .alreadyExists {
            // Same name: ours with an equal template → use it; otherwise a hash collision.
            if let found = try await store.get(ReplicaSet.self, namespace: deployment.namespace, name: rs.name),
               found.controllerRef?.uid == deployment.uid,
               Util.equalIgnoreHash(found.spec.template, deployment.spec.template) {
                return (found, old)
            }
            var status = deployment.status ?? DeploymentStatus()
            status.collisionCount = (status.collisionCount ?? 0) + 1
            deployment.status = status
            deployment = try await store.updateStatus(deployment)
            throw BerthError(.conflict, "hash collision for ReplicaSet \(rs.name); collisionCount is now \(status.collisionCount ?? 0)",
                             object: "Deployment/\(deployment.namespace)/\(deployment.name)")
        }
        Trace.mark("deployment \(deployment.name): created \(rs.name) with \(Util.replicas(rs))")
        if Util.replicas(rs) > 0 {
            await store.recordEvent(involving: deployment.objectReference, reason: "ScalingReplicaSet",
                                    message: "Scaled up replica set \(rs.name) from 0 to \(Util.replicas(rs))", type: "Normal")
        }
        _ = try await setDeploymentRevision(&deployment, Util.revision(rs))
        var status = deployment.status ?? DeploymentStatus()
        Util.setCondition(&status.conditions, Util.makeCondition(
            "Progressing", true, reason: "NewReplicaSetCreated", message: "Created new replica set \"\(rs.name)\"", now: now))
        deployment.status = status
        deployment = try await store.updateStatus(deployment)
        return (rs, old)
    }

    /// Writes the revision annotation on the Deployment; true if its status
    /// must be written too (the update returns a fresh resourceVersion).
    private func setDeploymentRevision(_ deployment: inout Deployment, _ revision: Int) async throws -> Bool {
        let text = String(revision)
        guard deployment.metadata.annotations?[WellKnown.revisionAnnotation] != text else { return false }
        let status = deployment.status
        deployment.metadata.annotations = (deployment.metadata.annotations ?? [:]).merging([WellKnown.revisionAnnotation: text]) { $1 }
        deployment = try await store.update(deployment)
        let changed = deployment.status != status
        deployment.status = status
        return changed
    }

    /// `NewRSNewReplicas`.
    func newReplicaSetReplicas(_ deployment: Deployment, _ all: [ReplicaSet], _ new: ReplicaSet?) -> Int {
        let desired = Util.replicas(deployment)
        let current = new.map(Util.replicas) ?? 0
        if Util.isRecreate(deployment) { return desired }
        let maxTotal = desired + Util.maxSurge(deployment)
        let podCount = Util.activeCount(all)
        if podCount >= maxTotal { return current }
        let scaleUp = min(maxTotal - podCount, desired - current)
        return current + max(0, scaleUp)
    }

    // MARK: - Scaling

    /// Scales one ReplicaSet and stamps the desired/max annotations.
    @discardableResult
    func scale(_ rs: ReplicaSet, to count: Int, _ deployment: Deployment) async throws -> (Bool, ReplicaSet) {
        let desired = String(Util.replicas(deployment))
        let maxReplicas = String(Util.replicas(deployment) + Util.maxSurge(deployment))
        let current = Util.replicas(rs)
        let annotations = rs.metadata.annotations ?? [:]
        if current == count && annotations[Util.desiredReplicasAnnotation] == desired
            && annotations[Util.maxReplicasAnnotation] == maxReplicas {
            return (false, rs)
        }
        var copy = rs
        copy.spec.replicas = count
        copy.metadata.annotations = annotations.merging([
            Util.desiredReplicasAnnotation: desired, Util.maxReplicasAnnotation: maxReplicas,
        ]) { $1 }
        let updated = try await store.update(copy)
        Trace.mark("deployment \(deployment.name): scaled \(rs.name) \(current) -> \(count)")
        if current != count {
            let direction = count > current ? "up" : "down"
            await store.recordEvent(involving: deployment.objectReference, reason: "ScalingReplicaSet",
                                    message: "Scaled \(direction) replica set \(rs.name) from \(current) to \(count)", type: "Normal")
        }
        return (current != count, updated)
    }

    /// `isScalingEvent`: an active set's desired-replicas annotation differs.
    func isScalingEvent(_ deployment: Deployment, _ sets: [ReplicaSet]) -> Bool {
        let desired = String(Util.replicas(deployment))
        for rs in sets where Util.replicas(rs) > 0 {
            if let annotated = rs.metadata.annotations?[Util.desiredReplicasAnnotation], annotated != desired { return true }
        }
        return false
    }

    /// `sync`: scaling (proportionally, mid-rollout) and, when paused,
    /// history cleanup — without creating a new ReplicaSet.
    func sync(_ deployment: Deployment, _ sets: [ReplicaSet]) async throws -> ReconcileResult {
        var deployment = deployment
        var (new, old) = try await newAndOld(&deployment, sets, create: false)
        try await scaleForSync(deployment, &new, &old)
        if deployment.spec.paused == true {
            try await cleanup(deployment, old)
        }
        let all = old + (new.map { [$0] } ?? [])
        return try await syncStatus(deployment, all, new, progress: false)
    }

    /// `scale` of the Kubernetes controller: proportional scaling.
    func scaleForSync(_ deployment: Deployment, _ new: inout ReplicaSet?, _ old: inout [ReplicaSet]) async throws {
        let desired = Util.replicas(deployment)
        if let target = findActiveOrLatest(new, old) {
            if Util.replicas(target) == desired { return }
            let (_, updated) = try await scale(target, to: desired, deployment)
            if updated.metadata.uid == new?.metadata.uid { new = updated } else {
                old = old.map { $0.metadata.uid == updated.metadata.uid ? updated : $0 }
            }
            return
        }
        if let new, isSaturated(deployment, new) {
            for (index, rs) in old.enumerated() where Util.replicas(rs) > 0 {
                old[index] = try await scale(rs, to: 0, deployment).1
            }
            return
        }
        guard !Util.isRecreate(deployment) else { return }
        var active = (old + (new.map { [$0] } ?? [])).filter { Util.replicas($0) > 0 }
        let current = Util.activeCount(active)
        let allowed = desired > 0 ? desired + Util.maxSurge(deployment) : 0
        let toAdd = allowed - current
        guard toAdd != 0 else { return }
        active.sort { lhs, rhs in
            let l = Util.replicas(lhs), r = Util.replicas(rhs)
            if l != r { return l > r }
            // Bigger first; on a tie, newer first when growing, older first when shrinking.
            return toAdd > 0 ? Util.byCreation(rhs, lhs) : Util.byCreation(lhs, rhs)
        }
        var added = 0
        var sizes: [String: Int] = [:]
        for rs in active {
            let proportion = proportion(rs, deployment, toAdd: toAdd, added: added)
            sizes[rs.uid] = Util.replicas(rs) + proportion
            added += proportion
        }
        if let first = active.first {
            sizes[first.uid] = max(0, (sizes[first.uid] ?? 0) + toAdd - added)
        }
        for rs in active {
            let (_, updated) = try await scale(rs, to: sizes[rs.uid] ?? Util.replicas(rs), deployment)
            if updated.metadata.uid == new?.metadata.uid { new = updated } else {
                old = old.map { $0.metadata.uid == updated.metadata.uid ? updated : $0 }
            }
        }
    }

    private func proportion(_ rs: ReplicaSet, _ deployment: Deployment, toAdd: Int, added: Int) -> Int {
        if Util.replicas(rs) == 0 || toAdd == 0 || toAdd == added { return 0 }
        let fraction = fractionFor(rs, deployment)
        let allowed = toAdd - added
        return toAdd > 0 ? min(fraction, allowed) : max(fraction, allowed)
    }

    private func fractionFor(_ rs: ReplicaSet, _ deployment: Deployment) -> Int {
        let desired = Util.replicas(deployment)
        if desired == 0 { return -Util.replicas(rs) }
        let total = desired + Util.maxSurge(deployment)
        let annotated = Int(rs.metadata.annotations?[Util.maxReplicasAnnotation] ?? "") ?? (deployment.status?.replicas ?? 0)
        guard annotated > 0 else { return 0 }
        let newSize = Double(Util.replicas(rs) * total) / Double(annotated)
        return Int(newSize.rounded()) - Util.replicas(rs)
    }

    func findActiveOrLatest(_ new: ReplicaSet?, _ old: [ReplicaSet]) -> ReplicaSet? {
        if new == nil && old.isEmpty { return nil }
        let sortedOld = old.sorted { Util.byCreation($1, $0) }
        let active = ((new.map { [$0] } ?? []) + sortedOld).filter { Util.replicas($0) > 0 }
        switch active.count {
        case 0: return new ?? sortedOld.first
        case 1: return active[0]
        default: return nil
        }
    }

    func isSaturated(_ deployment: Deployment, _ rs: ReplicaSet) -> Bool {
        let desired = Util.replicas(deployment)
        return Util.replicas(rs) == desired
            && rs.metadata.annotations?[Util.desiredReplicasAnnotation] == String(desired)
            && (rs.status?.availableReplicas ?? 0) == desired
    }

    // MARK: - RollingUpdate

    func rolloutRolling(_ deployment: Deployment, _ sets: [ReplicaSet]) async throws -> ReconcileResult {
        var deployment = deployment
        let (created, old) = try await newAndOld(&deployment, sets, create: true)
        guard var new = created else { return .done }
        var all = old + [new]

        // Scale up the new set.
        let desired = Util.replicas(deployment)
        if Util.replicas(new) != desired {
            let target = Util.replicas(new) > desired ? desired : newReplicaSetReplicas(deployment, all, new)
            let (scaled, updated) = try await scale(new, to: target, deployment)
            new = updated
            all = old + [new]
            if scaled { return try await syncStatus(deployment, all, new, progress: true) }
        }

        // Scale down old sets.
        let (scaledDown, oldAfter) = try await reconcileOld(deployment, all, old.filter { Util.replicas($0) > 0 }, new)
        if scaledDown {
            let merged = old.map { rs in oldAfter.first { $0.uid == rs.uid } ?? rs }
            return try await syncStatus(deployment, merged + [new], new, progress: true)
        }

        if isComplete(deployment, calculateStatus(deployment, all, new)) {
            try await cleanup(deployment, old)
        }
        return try await syncStatus(deployment, all, new, progress: true)
    }

    /// `reconcileOldReplicaSets`.
    func reconcileOld(_ deployment: Deployment, _ all: [ReplicaSet], _ oldActive: [ReplicaSet], _ new: ReplicaSet) async throws -> (Bool, [ReplicaSet]) {
        let oldCount = Util.activeCount(oldActive)
        if oldCount == 0 { return (false, oldActive) }
        let allCount = Util.activeCount(all)
        let minAvailable = Util.replicas(deployment) - Util.maxUnavailable(deployment)
        let newUnavailable = Util.replicas(new) - (new.status?.availableReplicas ?? 0)
        let maxScaledDown = allCount - minAvailable - newUnavailable
        if maxScaledDown <= 0 { return (false, oldActive) }

        // Unhealthy replicas first: they cost no availability.
        var sets = oldActive.sorted(by: Util.byCreation)
        var cleaned = 0
        for (index, rs) in sets.enumerated() {
            if cleaned >= maxScaledDown { break }
            let replicas = Util.replicas(rs)
            let available = rs.status?.availableReplicas ?? 0
            if replicas == 0 || replicas == available { continue }
            let count = min(maxScaledDown - cleaned, replicas - available)
            sets[index] = try await scale(rs, to: replicas - count, deployment).1
            cleaned += count
        }

        // Then healthy ones, down to minAvailable.
        let allAfter = sets + [new]
        let available = Util.availableCount(allAfter)
        var scaledDown = 0
        if available > minAvailable {
            let total = available - minAvailable
            for (index, rs) in sets.enumerated() {
                if scaledDown >= total { break }
                let replicas = Util.replicas(rs)
                if replicas == 0 { continue }
                let count = min(replicas, total - scaledDown)
                sets[index] = try await scale(rs, to: replicas - count, deployment).1
                scaledDown += count
            }
        }
        return (cleaned + scaledDown > 0, sets)
    }

    // MARK: - Recreate

    func rolloutRecreate(_ deployment: Deployment, _ sets: [ReplicaSet]) async throws -> ReconcileResult {
        var deployment = deployment
        var (new, old) = try await newAndOld(&deployment, sets, create: false)
        var scaledDown = false
        for (index, rs) in old.enumerated() where Util.replicas(rs) > 0 {
            let (scaled, updated) = try await scale(rs, to: 0, deployment)
            old[index] = updated
            scaledDown = scaledDown || scaled
        }
        if scaledDown {
            return try await syncStatus(deployment, old + (new.map { [$0] } ?? []), new, progress: true)
        }
        if try await oldPodsRunning(deployment, new, old) {
            let result = try await syncStatus(deployment, old + (new.map { [$0] } ?? []), new, progress: true)
            return result.merged(.requeueAfter(1))
        }
        if new == nil {
            (new, old) = try await newAndOld(&deployment, sets, create: true)
        }
        guard var newSet = new else { return .done }
        if isComplete(deployment, calculateStatus(deployment, old + [newSet], newSet)) {
            try await cleanup(deployment, old)
        }
        newSet = try await scale(newSet, to: Util.replicas(deployment), deployment).1
        return try await syncStatus(deployment, old + [newSet], newSet, progress: true)
    }

    /// True while any pod of an old set still exists and is not finished.
    func oldPodsRunning(_ deployment: Deployment, _ new: ReplicaSet?, _ old: [ReplicaSet]) async throws -> Bool {
        if Util.actualCount(old) > 0 { return true }
        let oldUIDs = Set(old.map(\.uid))
        for pod in try await store.list(Pod.self, namespace: deployment.namespace) {
            guard let owner = pod.controllerRef?.uid, oldUIDs.contains(owner) else { continue }
            let phase = pod.status?.phase
            if phase == "Succeeded" || phase == "Failed" { continue }
            return true
        }
        return false
    }

    // MARK: - History

    /// `cleanupDeployment`: deletes the oldest old sets with no replicas
    /// beyond revisionHistoryLimit.
    func cleanup(_ deployment: Deployment, _ old: [ReplicaSet]) async throws {
        let limit = deployment.spec.revisionHistoryLimit ?? Util.defaultRevisionHistoryLimit
        let cleanable = old.filter { !$0.isTerminating }
        let diff = cleanable.count - limit
        guard diff > 0 else { return }
        let sorted = cleanable.sorted { lhs, rhs in
            let l = Util.revision(lhs), r = Util.revision(rhs)
            return l != r ? l < r : Util.byCreation(lhs, rhs)
        }
        for rs in sorted.prefix(diff) {
            if (rs.status?.replicas ?? 0) != 0 || Util.replicas(rs) != 0 { continue }
            if (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0) { continue }
            logger.debug("deleting old replica set", metadata: ["rs": "\(rs.name)"])
            try await store.delete(.replicaSet, namespace: rs.namespace, name: rs.name)
        }
    }

    // MARK: - Status

    func calculateStatus(_ deployment: Deployment, _ all: [ReplicaSet], _ new: ReplicaSet?) -> DeploymentStatus {
        var status = deployment.status ?? DeploymentStatus()
        let available = Util.availableCount(all)
        let total = Util.actualCount(all)
        status.observedGeneration = deployment.metadata.generation
        status.replicas = total
        status.updatedReplicas = new?.status?.replicas ?? 0
        status.readyReplicas = Util.readyCount(all)
        status.availableReplicas = available
        // As Kubernetes: the sum of the sets' desired replicas minus the available ones.
        status.unavailableReplicas = max(0, Util.activeCount(all) - available)
        let now = clock.now()
        if available >= Util.replicas(deployment) - Util.maxUnavailable(deployment) {
            Util.setCondition(&status.conditions, Util.makeCondition(
                "Available", true, reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", now: now))
        } else {
            Util.setCondition(&status.conditions, Util.makeCondition(
                "Available", false, reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", now: now))
        }
        return status
    }

    /// `DeploymentComplete`.
    func isComplete(_ deployment: Deployment, _ status: DeploymentStatus) -> Bool {
        let desired = Util.replicas(deployment)
        return status.updatedReplicas == desired && status.replicas == desired && status.availableReplicas == desired
            && (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0)
    }

    /// `syncRolloutStatus` (progress: true) or `syncDeploymentStatus`.
    func syncStatus(_ deployment: Deployment, _ all: [ReplicaSet], _ new: ReplicaSet?, progress: Bool) async throws -> ReconcileResult {
        var status = calculateStatus(deployment, all, new)
        let now = clock.now()
        let deadline = deployment.spec.progressDeadlineSeconds ?? Util.defaultProgressDeadlineSeconds
        var result = ReconcileResult.done
        let current = Util.condition(status.conditions, "Progressing")
        let completeRecorded = status.replicas == status.updatedReplicas && current?.reason == "NewReplicaSetAvailable"

        if deployment.spec.paused == true {
            // Pausing stops the deadline clock (`checkPausedConditions`).
            if current?.reason != "DeploymentPaused" {
                var cond = Util.makeCondition("Progressing", false, reason: "DeploymentPaused", message: "Deployment is paused", now: now)
                cond.status = "Unknown"
                replaceCondition(&status.conditions, cond)
            }
        } else if current?.reason == "DeploymentPaused" {
            var cond = Util.makeCondition("Progressing", false, reason: "DeploymentResumed", message: "Deployment is resumed", now: now)
            cond.status = "Unknown"
            replaceCondition(&status.conditions, cond)
        } else if progress && !completeRecorded, let newName = new?.name {
            let previous = deployment.status ?? DeploymentStatus()
            if isComplete(deployment, status) {
                var cond = Util.makeCondition("Progressing", true, reason: "NewReplicaSetAvailable",
                                              message: "ReplicaSet \"\(newName)\" has successfully progressed.", now: now)
                if current?.status == "True" { cond.lastTransitionTime = current?.lastTransitionTime }
                replaceCondition(&status.conditions, cond)
            } else if (status.updatedReplicas ?? 0) > (previous.updatedReplicas ?? 0)
                        || (status.replicas ?? 0) < (previous.replicas ?? 0)
                        || (status.readyReplicas ?? 0) > (previous.readyReplicas ?? 0)
                        || (status.availableReplicas ?? 0) > (previous.availableReplicas ?? 0) {
                var cond = Util.makeCondition("Progressing", true, reason: "ReplicaSetUpdated",
                                              message: "ReplicaSet \"\(newName)\" is progressing.", now: now)
                if current?.status == "True" { cond.lastTransitionTime = current?.lastTransitionTime }
                replaceCondition(&status.conditions, cond)
            } else if let current, current.reason != "NewReplicaSetAvailable" {
                let since = Timestamp.parse(current.lastUpdateTime) ?? now
                if current.reason == "ProgressDeadlineExceeded" {
                    // stays timed out until something progresses
                } else if now.timeIntervalSince(since) > TimeInterval(deadline) {
                    replaceCondition(&status.conditions, Util.makeCondition(
                        "Progressing", false, reason: "ProgressDeadlineExceeded",
                        message: "ReplicaSet \"\(newName)\" has timed out progressing.", now: now))
                    await store.recordEvent(involving: deployment.objectReference, reason: "ProgressDeadlineExceeded",
                                            message: "Deployment \"\(deployment.name)\" has timed out progressing.", type: "Warning")
                } else {
                    result = .requeueAfter(max(1, since.addingTimeInterval(TimeInterval(deadline)).timeIntervalSince(now) + 1))
                }
            }
        }
        if status != deployment.status {
            var copy = deployment
            copy.status = status
            _ = try await store.updateStatus(copy)
        }
        // Poll while a rollout is under way: availability is time-based.
        if status.replicas != status.availableReplicas || status.updatedReplicas != Util.replicas(deployment) {
            result = result.merged(.requeueAfter(5))
        }
        return result
    }

    private func replaceCondition(_ conditions: inout [Condition]?, _ condition: Condition) {
        var list = conditions ?? []
        list.removeAll { $0.type == condition.type }
        list.append(condition)
        conditions = list
    }
}
