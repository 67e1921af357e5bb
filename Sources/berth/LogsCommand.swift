import ArgumentParser
import BerthAPI
import Foundation

/// `berth logs POD [-c CONTAINER] [-f] [--tail N]`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a container's log.")

    @Argument(help: "Pod name (or pod/NAME).")
    var pod: String

    @Option(name: [.short, .long], help: "Container (needed when the pod has several).")
    var container: String?

    @Flag(name: [.short, .long], help: "Keep streaming new output.")
    var follow = false

    @Option(name: .long, help: "Only the last N lines.")
    var tail: Int?

    @OptionGroup var namespace: NamespaceOptions

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let name = pod.hasPrefix("pod/") ? String(pod.dropFirst(4)) : (pod.hasPrefix("pods/") ? String(pod.dropFirst(5)) : pod)
        var query: [String: String] = [:]
        if let container { query["container"] = container }
        if let tail { query["tailLines"] = String(tail) }
        if follow { query["follow"] = "true" }
        let path = ResourceKind.pod.objectPath(namespace: namespace.effective, name: name) + "/log"
        let api = client.client()
        for try await chunk in try api.stream(path, query: query) {
            FileHandle.standardOutput.write(chunk)
        }
    }
}
