import ArgumentParser
import BerthAPI
import Foundation

/// `berth scale deployment/NAME --replicas N`, through the `scale`
/// subresource.
struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Set the replicas of a Deployment or ReplicaSet.")

    @Argument(help: "deployment/NAME (or KIND NAME).")
    var target: String

    @Argument(help: "Name, when KIND is given separately.")
    var name: String?

    @Option(name: .long, help: "The new number of replicas.")
    var replicas: Int

    @OptionGroup var namespace: NamespaceOptions

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let (kind, name) = try parseKindAndName(target, self.name)
        guard kind == .deployment || kind == .replicaSet else {
            throw ValidationError("only deployments and replicasets can be scaled")
        }
        guard replicas >= 0 else { throw ValidationError("--replicas must be >= 0") }
        _ = try await client.client().send(
            "PATCH", kind.objectPath(namespace: namespace.effective, name: name) + "/scale",
            body: ["spec": ["replicas": .int(replicas)]], contentType: "application/merge-patch+json")
        print("\(kind.cliQualifiedName)/\(name) scaled")
    }
}
