import BerthAPI
import Foundation
import Testing

@testable import BerthGit

/// A repository of a realistic size (600 manifests in 60 directories): everything is read,
/// and a fetch with nothing new is cheap. Prints the timings it measures.
@Suite struct LibGit2SourceScaleTests {
    @Test func readsSixHundredManifestsAndRefetchesQuickly() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let repo = try GitFixture(at: temp.appending("upstream"))
        for dir in 0..<60 {
            for file in 0..<10 {
                try repo.write("apps/app\(dir)/m\(file).yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\(dir)-m\(file)\n")
            }
        }
        let sha = try repo.commit("many")
        let git = LibGit2Source(dataDirectory: temp.appending("data"))
        let clock = ContinuousClock()

        let start = clock.now
        let checkout = try await git.checkout(GitRemote(url: repo.path), subpath: "apps")
        let cold = clock.now - start
        #expect(checkout.commit.id.hex == sha)
        #expect(checkout.files.count == 600)
        #expect(checkout.files.first?.path == "apps/app0/m0.yaml")

        let again = clock.now
        let second = try await git.checkout(GitRemote(url: repo.path), subpath: "apps")
        let warm = clock.now - again
        #expect(second.files == checkout.files)
        print("BerthGit scale: clone+read 600 files \(cold), refetch+read \(warm)")
        #expect(warm < .seconds(10))
    }
}
