import ArgumentParser
import BerthAPI
import BerthReconciler
import Foundation

/// `berth drift [SOURCE] [--ref REF] [--offline] [-o text|json]`: what
/// differs between git and the live objects. Exit 0: no drift, 1: drift,
/// 2: error.
struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift", abstract: "Compare git with the live objects (exit 0 no drift, 1 drift, 2 error).")

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "The source; default: every source.")
    var source: String?

    @Option(name: .long, help: "Compare with this ref instead of the source's.")
    var ref: String?

    @Flag(name: .long, help: "Do not fetch; use the last fetched commit.")
    var offline = false

    @Option(name: .shortAndLong, help: "text or json.")
    var output: Format = .text

    @OptionGroup var client: ClientOptions

    func run() async throws {
        do {
            let api = client.client()
            var names: [String]
            if let source {
                names = [source]
            } else {
                names = try await api.get("/api/v1/sources").arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            }
            var query: [String: String] = [:]
            if let ref { query["ref"] = ref }
            if offline { query["offline"] = "true" }
            var drifted = false
            var reports: [JSONValue] = []
            for name in names {
                let value = try await api.get("/api/v1/sources/\(name)/drift", query: query)
                let report = try ReconcilerCLI.decode(DriftReport.self, value)
                drifted = drifted || report.hasDrift
                if output == .json { reports.append(value) } else { print(report.render(color: ReconcilerCLI.useColor), terminator: "") }
            }
            if output == .json { ReconcilerCLI.printJSON(source == nil ? .array(reports) : reports.first ?? .null) }
            if drifted { throw ExitCode(1) }
        } catch let error as BerthError {
            ReconcilerCLI.printError("error: \(error)")
            throw ExitCode(2)
        }
    }
}
