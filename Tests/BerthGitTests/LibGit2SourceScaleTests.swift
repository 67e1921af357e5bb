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

    /// The webhook case: one file of 1,000 in one directory changes, another
    /// is renamed. The refetch reads the new contents and the new path, and
    /// leaves every other file as it was. Prints the step timings.
    @Test func oneChangedFileOfAThousandIsReadAfterARefetch() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let repo = try GitFixture(at: temp.appending("upstream"))
        for index in 0..<1000 {
            try repo.write("deploy/cm-\(index).yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-\(index)\ndata:\n  value: \"0\"\n")
        }
        try repo.commit("1000 files")
        let git = LibGit2Source(dataDirectory: temp.appending("data"))
        let remote = GitRemote(url: "file://" + repo.path)
        let before = try await git.checkout(remote, subpath: "deploy")
        #expect(before.files.count == 1000)

        try repo.write("deploy/cm-7.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-7\ndata:\n  value: \"1\"\n")
        try repo.git(["mv", "deploy/cm-8.yaml", "deploy/renamed.yaml"])
        let sha = try repo.commit("change one, rename one")
        let clock = ContinuousClock()
        let start = clock.now
        let mirror = try await git.fetch(remote)
        let fetched = clock.now
        let resolved = try await git.resolve(.head, in: mirror)
        let files = try await git.files(at: resolved.commit, subpath: "deploy", in: mirror)
        let read = clock.now
        print("BerthGit 1,000 files, one changed: fetch \(fetched - start), resolve+read \(read - fetched)")

        #expect(resolved.commit.hex == sha)
        #expect(files.count == 1000)
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0.contents) })
        #expect(byPath["deploy/cm-7.yaml"].map { String(decoding: $0, as: UTF8.self) }?.contains("value: \"1\"") == true)
        #expect(byPath["deploy/cm-8.yaml"] == nil)
        #expect(byPath["deploy/renamed.yaml"] == before.files.first { $0.path == "deploy/cm-8.yaml" }?.contents)
        let unchanged = before.files.filter { $0.path != "deploy/cm-7.yaml" && $0.path != "deploy/cm-8.yaml" }
        #expect(unchanged.allSatisfy { byPath[$0.path] == $0.contents })
    }
}
