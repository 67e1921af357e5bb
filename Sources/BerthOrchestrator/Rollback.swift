import BerthAPI
import Foundation

extension DeploymentController {
    /// `kubectl rollout undo`: the template of the ReplicaSet at
    /// `toRevision` (nil or 0: the previous revision), without its
    /// pod-template-hash label, becomes the Deployment's template. The
    /// controller then finds that set as the new one and gives it the next
    /// revision. Returns the revision rolled back to.
    @discardableResult
    public func rollback(name: String, namespace: String, toRevision: Int?) async throws -> Int {
        guard var deployment = try await store.get(Deployment.self, namespace: namespace, name: name) else {
            throw BerthError(.notFound, "deployment \(namespace)/\(name) not found", object: "Deployment/\(namespace)/\(name)")
        }
        let sets = try await replicaSets(for: deployment)
        let revisions = Set(sets.map(DeploymentUtil.revision)).sorted()
        let target: Int
        if let toRevision, toRevision != 0 {
            target = toRevision
        } else {
            guard revisions.count >= 2 else {
                throw BerthError(.notFound, "no previous revision of deployment \(namespace)/\(name) to roll back to",
                                 hint: "a deployment needs at least two revisions", object: "Deployment/\(namespace)/\(name)")
            }
            target = revisions[revisions.count - 2]
        }
        guard let rs = sets.first(where: { DeploymentUtil.revision($0) == target }) else {
            throw BerthError(.notFound, "revision \(target) of deployment \(namespace)/\(name) not found",
                             hint: "known revisions: \(revisions.map(String.init).joined(separator: ", "))",
                             object: "Deployment/\(namespace)/\(name)")
        }
        let template = DeploymentUtil.templateIgnoringHash(rs.spec.template)
        if template == DeploymentUtil.templateIgnoringHash(deployment.spec.template) { return target }
        deployment.spec.template = template
        _ = try await store.update(deployment)
        await store.recordEvent(involving: deployment.objectReference, reason: "DeploymentRollback",
                                message: "Rolled back deployment \"\(name)\" to revision \(target)", type: "Normal")
        return target
    }
}
