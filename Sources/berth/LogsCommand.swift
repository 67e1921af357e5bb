import ArgumentParser
import BerthAPI
import BerthRuntime
import Foundation

/// `berth logs NAME`: kubectl's `logs POD [-c C]` and docker's `logs C` in
/// one verb. A name that is a local container (name or id prefix, as
/// `berth ps` shows) is read straight from the data dir, daemonless;
/// anything else — or `pod/NAME`, or `-c` — is a pod, read through the API.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a pod's or a container's log.")

    @Argument(help: "Pod name (or pod/NAME), or a container name or id prefix from `berth ps`.")
    var name: String

    @Option(name: [.short, .long], help: "Container in the pod (needed when the pod has several).")
    var container: String?

    @Flag(name: [.short, .long], help: "Keep streaming new output.")
    var follow = false

    @Flag(name: [.short, .long], help: "Show timestamps (local containers).")
    var timestamps = false

    @Option(name: .long, help: "Only the last N lines.")
    var tail: Int?

    @OptionGroup var namespace: NamespaceOptions

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let explicitPod = name.hasPrefix("pod/") || name.hasPrefix("pods/") || container != nil
        if !explicitPod, let manager = localManager(), let id = try? await manager.resolve(name) {
            try await streamLocal(manager: manager, id: id)
            return
        }
        let podName = name.hasPrefix("pod/") ? String(name.dropFirst(4)) : (name.hasPrefix("pods/") ? String(name.dropFirst(5)) : name)
        var query: [String: String] = [:]
        if let container { query["container"] = container }
        if let tail { query["tailLines"] = String(tail) }
        if follow { query["follow"] = "true" }
        let path = ResourceKind.pod.objectPath(namespace: namespace.effective, name: podName) + "/log"
        let api = client.client()
        for try await chunk in try api.stream(path, query: query) {
            FileHandle.standardOutput.write(chunk)
        }
    }

    private func localManager() -> ContainerManager? {
        let dataDir = client.dataDir ?? ProcessInfo.processInfo.environment["BERTH_DATA_DIR"] ?? "/var/lib/berth"
        guard FileManager.default.fileExists(atPath: dataDir + "/containers") else { return nil }
        return try? ContainerManager(dataDir: dataDir, images: ContainerCLI.imageResolver(dataDir: dataDir))
    }

    private func streamLocal(manager: ContainerManager, id: String) async throws {
        var printed = 0
        var first = true
        while true {
            let lines = try await manager.logs(id)
            var fresh = Array(lines.dropFirst(printed))
            if first, let tail, fresh.count > tail { fresh = Array(fresh.suffix(tail)) }
            first = false
            for line in fresh { write(line) }
            printed = lines.count
            guard follow, await manager.record(id)?.phase == .running else {
                if follow {  // lines written between the check and the exit
                    for line in try await manager.logs(id).dropFirst(printed) { write(line) }
                }
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func write(_ line: LogLine) {
        let text = (timestamps ? line.time + " " : "") + line.text + "\n"
        (line.stream == "stderr" ? FileHandle.standardError : FileHandle.standardOutput).write(Data(text.utf8))
    }
}
