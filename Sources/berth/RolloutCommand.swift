import ArgumentParser
import BerthAPI
import Foundation

/// `berth rollout status|history|undo deployment/NAME`, with Kubernetes'
/// semantics: revisions are the ReplicaSets a Deployment owns, numbered by
/// their `deployment.kubernetes.io/revision` annotation; undo copies an old
/// ReplicaSet's pod template back into the Deployment, which starts an
/// ordinary rolling update.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout", abstract: "Watch, list or undo Deployment rollouts.",
        subcommands: [RolloutStatus.self, RolloutHistory.self, RolloutUndo.self])
}

/// What the rollout commands share: finding a Deployment and its ReplicaSets.
struct RolloutTarget {
    let api: APIClient
    let namespace: String
    let name: String

    init(_ target: String, name: String?, namespace: String, client: ClientOptions) throws {
        let (kind, parsedName) = try parseKindAndName(target, name)
        guard kind == .deployment else { throw ValidationError("rollout works on deployments: deployment/NAME") }
        self.api = client.client()
        self.namespace = namespace
        self.name = parsedName
    }

    var path: String { ResourceKind.deployment.objectPath(namespace: namespace, name: name) }

    func deployment() async throws -> JSONValue { try await api.get(path) }

    /// The Deployment's ReplicaSets (by controller owner uid), oldest revision first.
    func replicaSets(of deployment: JSONValue) async throws -> [(revision: Int, replicaSet: JSONValue)] {
        let uid = deployment.at("metadata", "uid")?.stringValue
        let list = try await api.get(ResourceKind.replicaSet.collectionPath(namespace: namespace))
        return (list["items"]?.arrayValue ?? []).filter { rs in
            (rs.at("metadata", "ownerReferences")?.arrayValue ?? []).contains { $0["uid"]?.stringValue == uid }
        }.compactMap { rs in
            guard let text = rs.at("metadata", "annotations", WellKnown.revisionAnnotation)?.stringValue, let revision = Int(text) else { return nil }
            return (revision, rs)
        }.sorted { $0.revision < $1.revision }
    }
}

struct RolloutStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Wait for a rollout to finish.")

    @Argument var target: String
    @Argument var name: String?
    @OptionGroup var namespace: NamespaceOptions
    @Option(name: .long, help: "Give up after this many seconds.") var timeout: Int = 300
    @Option(name: [.short, .long], help: "Keep watching until done (true) or report once (false).") var watch: Bool = true
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let target = try RolloutTarget(self.target, name: name, namespace: namespace.effective, client: client)
        let deadline = Date().addingTimeInterval(Double(timeout))
        var lastMessage = ""
        while true {
            let deployment = try await target.deployment()
            let (done, message) = Self.progress(deployment, name: target.name)
            if message != lastMessage {
                print(message)
                lastMessage = message
            }
            if done { return }
            if message.contains("exceeded its progress deadline") { throw ExitCode(1) }
            if !watch { return }
            if Date() > deadline {
                throw BerthError(.timeout, "timed out waiting for the rollout of deployment \"\(target.name)\"")
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// kubectl's rollout status logic.
    static func progress(_ deployment: JSONValue, name: String) -> (Bool, String) {
        let generation = deployment.at("metadata", "generation")?.intValue ?? 0
        let status = deployment["status"] ?? [:]
        guard let observed = status["observedGeneration"]?.intValue, observed >= generation else {
            return (false, "Waiting for deployment spec update to be observed...")
        }
        let conditions = status["conditions"]?.arrayValue ?? []
        if conditions.contains(where: { $0["type"] == "Progressing" && $0["reason"] == "ProgressDeadlineExceeded" }) {
            return (false, "error: deployment \"\(name)\" exceeded its progress deadline")
        }
        let desired = deployment.at("spec", "replicas")?.intValue ?? 1
        let updated = status["updatedReplicas"]?.intValue ?? 0
        let total = status["replicas"]?.intValue ?? 0
        let available = status["availableReplicas"]?.intValue ?? 0
        if updated < desired {
            return (false, "Waiting for deployment \"\(name)\" rollout to finish: \(updated) out of \(desired) new replicas have been updated...")
        }
        if total > updated {
            return (false, "Waiting for deployment \"\(name)\" rollout to finish: \(total - updated) old replicas are pending termination...")
        }
        if available < updated {
            return (false, "Waiting for deployment \"\(name)\" rollout to finish: \(available) of \(updated) updated replicas are available...")
        }
        return (true, "deployment \"\(name)\" successfully rolled out")
    }
}

struct RolloutHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List a Deployment's revisions.")

    @Argument var target: String
    @Argument var name: String?
    @OptionGroup var namespace: NamespaceOptions
    @Option(name: .long, help: "Show the pod template of one revision.") var revision: Int?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let target = try RolloutTarget(self.target, name: name, namespace: namespace.effective, client: client)
        let revisions = try await target.replicaSets(of: try await target.deployment())
        if let revision {
            guard let match = revisions.first(where: { $0.revision == revision }) else {
                throw BerthError(.notFound, "unable to find revision \(revision) of deployment \"\(target.name)\"")
            }
            print("deployment.apps/\(target.name) with revision #\(revision)")
            print(YAMLConversion.yaml(match.replicaSet.at("spec", "template") ?? [:]))
            return
        }
        print("deployment.apps/\(target.name)")
        var table = Table(headers: ["REVISION", "CHANGE-CAUSE"])
        for (revision, rs) in revisions {
            table.rows.append([String(revision), rs.at("metadata", "annotations", "kubernetes.io/change-cause")?.stringValue ?? "<none>"])
        }
        print(table.render())
    }
}

struct RolloutUndo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "undo", abstract: "Roll a Deployment back to an earlier revision.")

    @Argument var target: String
    @Argument var name: String?
    @OptionGroup var namespace: NamespaceOptions
    @Option(name: .long, help: "The revision to go back to (default: the previous one).") var toRevision: Int?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let target = try RolloutTarget(self.target, name: name, namespace: namespace.effective, client: client)
        var deployment = try await target.deployment()
        let revisions = try await target.replicaSets(of: deployment)
        let chosen: (revision: Int, replicaSet: JSONValue)?
        if let toRevision {
            chosen = revisions.first { $0.revision == toRevision }
        } else {
            chosen = revisions.count >= 2 ? revisions[revisions.count - 2] : nil
        }
        guard let chosen else {
            throw BerthError(
                .notFound,
                toRevision.map { "unable to find revision \($0) of deployment \"\(target.name)\"" }
                    ?? "no rollout history found for deployment \"\(target.name)\"",
                hint: "see `berth rollout history deployment/\(target.name)`")
        }
        guard var template = chosen.replicaSet.at("spec", "template") else {
            throw BerthError(.internal, "revision \(chosen.revision) has no pod template")
        }
        template["metadata"]?["labels"]?[WellKnown.podTemplateHashLabel] = nil
        if var labels = template["metadata"]?["labels"]?.objectValue {
            labels[WellKnown.podTemplateHashLabel] = nil
            template["metadata"]?["labels"] = .object(labels)
        }
        if deployment.at("spec", "template") == template {
            print("deployment.apps/\(target.name) skipped rollback (current template already matches revision \(chosen.revision))")
            return
        }
        deployment["spec"]?["template"] = template
        _ = try await target.api.send("PUT", target.path, body: deployment)
        print("deployment.apps/\(target.name) rolled back")
    }
}
