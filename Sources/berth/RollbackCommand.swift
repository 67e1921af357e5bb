import ArgumentParser
import BerthAPI
import Foundation

/// `berth rollback SOURCE [--to ID|COMMIT]`: re-apply an earlier good sync
/// (from Berth's history, not git) and hold it until `berth sync --resume`.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Roll a source back to an earlier sync and pin it there.",
        discussion: "The pin shows in `berth status`; `berth sync SOURCE --resume` follows git again.")

    @Argument(help: "The source.")
    var source: String

    @Option(name: .long, help: "A sync id or commit from `berth history` (default: the one before the current).")
    var to: String?

    @OptionGroup var client: ClientOptions

    func run() async throws {
        var body: [String: JSONValue] = [:]
        if let to { body["to"] = .string(to) }
        let reply = try await client.client().send("POST", "/api/v1/sources/\(source)/rollback", body: .object(body))
        let commit = reply["pinnedCommit"]?.stringValue ?? ""
        print("\(source): pinned to sync #\(reply["pinnedSync"]?.intValue ?? 0) (\(ReconcilerCLI.short(commit))); sync #\(reply["sync"]?.intValue ?? 0) queued")
        print("run `berth sync \(source) --resume` to follow git again")
    }
}
