import ArgumentParser
import BerthAPI
import Foundation

/// `berth delete KIND NAME...` or `berth delete KIND/NAME`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete objects (dependents go with them, as in Kubernetes).")

    @Argument(help: "KIND NAME... or KIND/NAME.")
    var arguments: [String]

    @OptionGroup var namespace: NamespaceOptions

    @Option(name: .long, help: "background (default), foreground or orphan.")
    var cascade: String = "background"

    @OptionGroup var client: ClientOptions

    func run() async throws {
        guard let first = arguments.first else { throw ValidationError("name the objects to delete: KIND NAME") }
        var targets: [(ResourceKind, String)] = []
        if first.contains("/") {
            targets = try arguments.map { try parseKindAndName($0, nil) }
        } else {
            guard arguments.count >= 2 else { throw ValidationError("expected KIND NAME or KIND/NAME") }
            guard let kind = ResourceKind(cliName: first) else { throw ValidationError("unknown resource type \(first)") }
            targets = arguments.dropFirst().map { (kind, $0) }
        }
        let policy = cascade.prefix(1).uppercased() + cascade.dropFirst().lowercased()
        let api = client.client()
        for (kind, name) in targets {
            _ = try await api.send(
                "DELETE", kind.objectPath(namespace: namespace.effective, name: name), query: ["propagationPolicy": policy])
            print("\(kind.cliQualifiedName) \"\(name)\" deleted")
        }
    }
}
