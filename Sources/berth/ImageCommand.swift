import ArgumentParser
import BerthAPI
import BerthRuntime
import Foundation

/// `berth image …`: the node's local image store.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage the local image store.",
        subcommands: [
            ImageListCommand.self, ImageImportCommand.self, ImageInspectCommand.self, ImageRemoveCommand.self,
            ImageTagCommand.self, ImagePruneCommand.self, ImagePullCommand.self, ImagePushCommand.self,
        ])
}

/// Where the store lives; shared by every `berth image` subcommand.
struct ImageStoreOptions: ParsableArguments {
    @Option(name: .long, help: "Berth's data directory (env BERTH_DATA_DIR, default /var/lib/berth).")
    var dataDir: String = ProcessInfo.processInfo.environment["BERTH_DATA_DIR"] ?? "/var/lib/berth"

    func open() throws -> ImageStore { try ImageStore(dataDir: dataDir) }
}

struct ImageImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an OCI image layout, a docker save archive, or a rootfs directory or tar.")

    @OptionGroup var store: ImageStoreOptions
    @Argument(help: "Directory or tar (plain, gzip or zstd).") var path: String
    @Option(name: .long, help: "Name the imported image (required to name a rootfs import).") var tag: String?
    @Option(name: .long, help: "Rootfs only: the image's Cmd, as a JSON array or space-separated words.") var cmd: String?
    @Option(name: .long, help: "Rootfs only: the image's Entrypoint, as a JSON array.") var entrypoint: String?
    @Option(name: .long, help: "Rootfs only: KEY=VALUE (repeatable).") var env: [String] = []
    @Option(name: .long, help: "Rootfs only: the working directory.") var workdir: String?
    @Option(name: .long, help: "Rootfs only: the user (name or uid[:gid]).") var user: String?
    @Option(name: .long, help: "Rootfs only: an exposed port, e.g. 80/tcp (repeatable).") var expose: [String] = []

    func run() async throws {
        let options = ImageImportOptions(
            tag: tag, cmd: try cmd.map(Self.parseCommand), entrypoint: try entrypoint.map(Self.parseCommand), env: env,
            workingDir: workdir, user: user, exposedPorts: expose.map { $0.contains("/") ? $0 : "\($0)/tcp" })
        let records = try await store.open().importImage(from: path, options: options)
        for record in records {
            let names = record.references.isEmpty ? "<none>" : record.references.joined(separator: ", ")
            print("imported \(record.digest) \(names)")
        }
    }

    /// `["sh","-c","x"]` as JSON, otherwise split on spaces (as `docker import --change CMD`).
    static func parseCommand(_ text: String) throws -> [String] {
        if text.hasPrefix("[") {
            guard let array = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
                throw BerthError(.invalidArgument, "\(text) is not a JSON array of strings")
            }
            return array
        }
        return text.split(separator: " ").map(String.init)
    }
}

struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images.", aliases: ["list"])

    @OptionGroup var store: ImageStoreOptions
    @Flag(name: .long, help: "Show full digests.") var noTrunc = false
    @Flag(name: .shortAndLong, help: "Only print image IDs.") var quiet = false

    func run() async throws {
        let records = try await store.open().list()
        var rows: [[String]] = []
        for record in records {
            let id = noTrunc ? record.digest : String(record.digest.dropFirst("sha256:".count).prefix(12))
            if quiet { print(id); continue }
            let created = record.created.map(ImageTable.relative) ?? "N/A"
            let size = ImageTable.bytes(record.size)
            if record.references.isEmpty {
                rows.append(["<none>", "<none>", id, created, size])
            }
            for name in record.references {
                guard let reference = try? ImageReference(parsing: name) else { continue }
                rows.append([reference.familiarName, reference.tag ?? "<none>", id, created, size])
            }
        }
        if !quiet { print(ImageTable.render(header: ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows: rows)) }
    }
}

struct ImageInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show an image's manifest, config and layers as JSON.")

    @OptionGroup var store: ImageStoreOptions
    @Argument(help: "Name, digest or ID prefix.") var reference: String

    func run() async throws {
        let details = try await store.open().inspect(reference)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode([details]), as: UTF8.self))
    }
}

struct ImageRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an image name, and the image with its last name.", aliases: ["rmi"])

    @OptionGroup var store: ImageStoreOptions
    @Flag(name: .shortAndLong, help: "Remove an image by ID even if it has several names.") var force = false
    @Argument(help: "Names, digests or ID prefixes.") var references: [String]

    func run() async throws {
        let images = try store.open()
        for reference in references {
            let removal = try await images.remove(reference, force: force)
            for name in removal.untagged { print("Untagged: \(name)") }
            if let deleted = removal.deleted { print("Deleted: \(deleted)") }
        }
    }
}

struct ImageTagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image another name.")

    @OptionGroup var store: ImageStoreOptions
    @Argument(help: "Existing name, digest or ID prefix.") var source: String
    @Argument(help: "New name.") var target: String

    func run() async throws {
        try await store.open().tag(source, as: target)
    }
}

struct ImagePruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove unnamed images, unused blobs and unpacked layers no container uses.")

    @OptionGroup var store: ImageStoreOptions

    func run() async throws {
        let report = try await store.open().prune()
        for digest in report.deletedImages { print("Deleted: \(digest)") }
        print("Removed \(report.deletedBlobs) blobs and \(report.deletedLayers) unpacked layers; reclaimed \(ImageTable.bytes(report.reclaimedBlobBytes)) of blobs")
    }
}

/// Docker-style table formatting.
enum ImageTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }

    /// "5 minutes ago", "2 days ago", as Docker prints CREATED.
    static func relative(_ date: Date) -> String {
        let seconds = max(0, Int(Date().timeIntervalSince(date)))
        let units: [(Int, String)] = [(365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"), (3600, "hour"), (60, "minute")]
        for (size, name) in units where seconds >= size {
            let count = seconds / size
            return "\(count) \(name)\(count == 1 ? "" : "s") ago"
        }
        return seconds < 2 ? "Less than a second ago" : "\(seconds) seconds ago"
    }

    /// Decimal units, as Docker prints SIZE.
    static func bytes(_ count: Int64) -> String {
        let value = Double(count)
        if value < 1000 { return "\(count)B" }
        for (size, unit) in [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")] where value >= size {
            let scaled = value / size
            let digits = scaled < 10 ? 2 : scaled < 100 ? 1 : 0
            return String(format: "%.\(digits)f", scaled) + unit
        }
        return "\(count)B"
    }
}
