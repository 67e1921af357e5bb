import ArgumentParser
import BerthAPI
import BerthReconciler
import Foundation

typealias BerthReconcilerRecord = SyncRecord

/// `berth history [SOURCE] [--limit N] [-o table|json]`, and
/// `berth history show ID` for one sync's diff and events.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show the sync history (newest first), or one sync with `show ID`.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Argument(help: "SOURCE, or `show ID`.")
    var arguments: [String] = []

    @Option(name: .long, help: "How many syncs.")
    var limit: Int = 20

    @Option(name: .shortAndLong, help: "table or json.")
    var output: Format = .table

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let api = client.client()
        if arguments.first == "show" {
            guard arguments.count == 2, let id = Int(arguments[1]) else { throw ValidationError("usage: berth history show ID") }
            let value = try await api.get("/api/v1/syncs/\(id)")
            if output == .json { ReconcilerCLI.printJSON(value); return }
            print(Self.detail(try ReconcilerCLI.decode(SyncRecord.self, value)), terminator: "")
            return
        }
        guard arguments.count <= 1 else { throw ValidationError("usage: berth history [SOURCE]") }
        var query = ["limit": String(limit)]
        if let source = arguments.first { query["source"] = source }
        let value = try await api.get("/api/v1/syncs", query: query)
        if output == .json { ReconcilerCLI.printJSON(value); return }
        let records = try ReconcilerCLI.decode([SyncRecord].self, value)
        var table = Table(headers: ["ID", "SOURCE", "TRIGGER", "COMMIT", "STARTED", "DURATION", "PLAN", "RESULT", "MESSAGE"])
        for record in records {
            let plan = record.plan.map { "+\($0.creates) ~\($0.updates) -\($0.deletes)" } ?? "-"
            table.rows.append([
                String(record.id), record.source, record.triggers.map(\.rawValue).joined(separator: ","),
                ReconcilerCLI.short(record.commit?.sha), ReconcilerCLI.time(record.started ?? record.queued),
                ReconcilerCLI.seconds(record.duration), plan, record.resultText,
                String((record.commit?.message ?? "").prefix(40)),
            ])
        }
        print(records.isEmpty ? "no syncs yet" : table.render())
    }

    static func detail(_ record: SyncRecord) -> String {
        var out = "sync #\(record.id) of \(record.source)\n"
        out += "  result:    \(record.resultText)\n"
        if let reason = record.reason, record.result != .failed { out += "  reason:    \(reason)\n" }
        out += "  trigger:   \(record.triggers.map(\.rawValue).joined(separator: ", "))\(record.forced ? " (forced)" : "")\n"
        if let commit = record.commit {
            out += "  commit:    \(commit.sha)\n  author:    \(commit.author)\n  message:   \(commit.message)\n  committed: \(ReconcilerCLI.time(commit.time))\n"
        }
        if let deployed = record.deployedCommit, deployed != record.commit?.sha { out += "  deployed:  \(deployed)\n" }
        if let previous = record.previousCommit { out += "  previous:  \(previous)\n" }
        out += "  started:   \(ReconcilerCLI.time(record.started))  ended: \(ReconcilerCLI.time(record.ended))  duration: \(ReconcilerCLI.seconds(record.duration))\n"
        if let plan = record.plan { out += "  plan:      \(plan)\n" }
        if record.count > 1 { out += "  compacted: \(record.count) no-op syncs\n" }
        if !record.changes.isEmpty {
            out += "changes:\n"
            for change in record.changes {
                out += "  \(change.action) \(change.object)\n"
                for field in change.fields { out += "      \(field)\n" }
            }
        }
        if !record.rollouts.isEmpty {
            out += "rollouts:\n"
            for rollout in record.rollouts {
                out += "  \(rollout.rollback ? "(rollback) " : "")\(rollout.deployment): \(rollout.result.rawValue)\(rollout.reason.map { " — \($0)" } ?? "")\n"
            }
        }
        if !record.warnings.isEmpty {
            out += "warnings:\n"
            for warning in record.warnings { out += "  \(warning)\n" }
        }
        if !record.events.isEmpty {
            out += "events:\n"
            for event in record.events { out += "  \(event)\n" }
        }
        return out
    }
}
