import ArgumentParser
import BerthAPI
import Foundation

/// `berth sync [SOURCE] [--force] [--resume]`: queue a sync through the API.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Sync a source (all sources without SOURCE) now.",
        discussion: """
            A commit whose rollout failed is not retried until a newer commit arrives;
            --force retries it. --resume ends a pin made by `berth rollback`.
            """)

    @Argument(help: "The source; default: every source.")
    var source: String?

    @Flag(name: .long, help: "Retry a commit that failed before.")
    var force = false

    @Flag(name: .long, help: "End a `berth rollback` pin and follow git again.")
    var resume = false

    @Flag(name: .long, help: "Wait until the sync has a result; exit 1 unless it succeeded or was a no-op.")
    var wait = false

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let api = client.client()
        var names: [String] = []
        if let source {
            names = [source]
        } else {
            let sources = try await api.get("/api/v1/sources")
            names = sources.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            if names.isEmpty { throw BerthError(.notFound, "berth serve has no sources", hint: "start it with --config or --repo") }
        }
        var ok = true
        for name in names {
            var body: [String: JSONValue] = [:]
            if force { body["force"] = true }
            if resume { body["resume"] = true }
            let reply = try await api.send("POST", "/api/v1/sources/\(name)/sync", body: .object(body))
            let id = reply["sync"]?.intValue ?? 0
            print("\(name): sync #\(id) queued\(force ? " (forced)" : "")\(resume ? " (resumed)" : "")")
            if wait {
                let result = try await Self.waitForResult(api: api, id: id)
                print("\(name): sync #\(id) \(result)")
                if !(result.hasPrefix("succeeded") || result.hasPrefix("no-op")) { ok = false }
            }
        }
        if !ok { throw ExitCode(1) }
    }

    static func waitForResult(api: APIClient, id: Int) async throws -> String {
        while true {
            if let record = try await api.getIfExists("/api/v1/syncs/\(id)") {
                if record["state"]?.stringValue == "finished" {
                    return (try? ReconcilerCLI.decode(BerthReconcilerRecord.self, record).resultText) ?? record["result"]?.stringValue ?? "finished"
                }
            } else {
                return "no-op (compacted)"
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }
}
