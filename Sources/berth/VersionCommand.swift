import ArgumentParser
import BerthAPI

enum BerthVersion {
    static let current = "0.1.0"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print Berth's version and the API versions it serves.")

    func run() throws {
        print("berth \(BerthVersion.current)")
        let kinds = ResourceKind.manifestKinds.map { "\($0.apiVersion) \($0.rawValue)" }
        print("manifest kinds: \(kinds.joined(separator: ", "))")
    }
}
