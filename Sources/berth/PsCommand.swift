import ArgumentParser
import BerthRuntime

struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.")

    @OptionGroup var global: ContainerGlobalOptions
    @Flag(name: .shortAndLong, help: "Show all containers (default shows just running).") var all = false
    @Flag(name: .shortAndLong, help: "Only print ids.") var quiet = false

    func run() async throws {
        let records = await try global.manager().list().filter { all || $0.phase == .running }
        if quiet {
            records.forEach { print($0.shortID) }
            return
        }
        let rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"]] + records.map { r in
            let command = r.spec.argv.joined(separator: " ")
            return [r.shortID, r.spec.image, "\"" + String(command.prefix(20)) + "\"",
                    ContainerCLI.age(r.createdAt) + " ago", ContainerCLI.status(r), r.name]
        }
        let widths = (0..<6).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 3, withPad: " ", startingAt: 0) }
                .joined().trimmingCharacters(in: .whitespaces))
        }
    }
}
