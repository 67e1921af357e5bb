import ArgumentParser
import BerthAPI
import BerthReconciler
import Foundation

/// `berth status`: each source's deployed commit, last result, pin and drift.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show every source: commit, last result, pinned?, drift.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Option(name: .shortAndLong, help: "table or json.")
    var output: Format = .table

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let value = try await client.client().get("/api/v1/sources")
        if output == .json { ReconcilerCLI.printJSON(value); return }
        let sources = try ReconcilerCLI.decode([SourceStatus].self, value)
        if sources.isEmpty {
            print("no sources (start `berth serve` with --config berth.yaml or --repo URL)")
            return
        }
        var table = Table(headers: ["SOURCE", "REF", "COMMIT", "LAST SYNC", "RESULT", "PINNED", "DRIFT", "FAILED COMMIT"])
        for source in sources {
            table.rows.append([
                source.name, source.ref, ReconcilerCLI.short(source.deployedCommit),
                source.lastSync.map { "#\($0) \(ReconcilerCLI.time(source.lastSyncTime))" } ?? "-",
                (source.syncing ? "syncing; " : "") + (source.lastResult ?? "-"),
                source.pinned ? "yes (#\(source.pinnedSync ?? 0) \(ReconcilerCLI.short(source.pinnedCommit)))" : "no",
                String(source.driftCount), ReconcilerCLI.short(source.failedCommit),
            ])
        }
        print(table.render())
    }
}
