import Foundation

/// A fresh directory under /tmp, removed by `remove()` (call it in a defer).
struct TempDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "berth-store-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    var dbPath: String { path + "/berth.db" }
}
