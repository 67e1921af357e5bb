import ArgumentParser
import BerthAPI
import BerthRuntime
import Foundation

/// `berth image push REF`: from the local store to the registry REF names.
struct ImagePushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Push an image from the local store to the registry its name points to.")

    @OptionGroup var store: ImageStoreOptions
    @OptionGroup var registry: RegistryOptions
    @Argument(help: "Local image name, e.g. 127.0.0.1:5000/app:v1 (tag it first with `berth image tag`).") var reference: String
    @Flag(name: .shortAndLong, help: "Print only the digest.") var quiet = false

    func run() async throws {
        let images = try store.open()
        let client = try registry.makeClient()
        let puller = ImagePuller(store: images, client: client)
        let quiet = self.quiet
        let result: PushResult
        do {
            result = try await puller.push(reference) { line in if !quiet { print(line) } }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        if quiet {
            print(result.digest)
        } else {
            print("Pushed \(result.reference): \(result.digest) (\(result.uploadedBlobs) blobs uploaded, \(ImageTable.bytes(result.uploadedBytes)); \(result.existingBlobs) already there)")
        }
    }
}
