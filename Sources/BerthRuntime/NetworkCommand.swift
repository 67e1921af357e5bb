import BerthAPI
import Foundation

/// Runs `nft -f -` with a ruleset on stdin. nftables applies one file as one
/// transaction: either every change lands or none does, which is what makes
/// endpoint updates atomic.
enum NetworkCommand {
    static func nft(_ script: String, allowFailure: Bool = false) throws {
        let exe = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let exe else {
            throw BerthError(.runtime, "nft is not installed", hint: "install the nftables package")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-f", "-"]
        let input = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try? input.fileHandleForWriting.close()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 && !allowFailure {
            throw BerthError(.runtime, "nft rejected the ruleset: \(String(decoding: err, as: UTF8.self).prefix(2000))")
        }
    }

    /// Replaces a whole table in one transaction (create-if-missing, delete, add).
    static func replaceTable(_ name: String, body: String) throws {
        try nft("table ip \(name) {}\ndelete table ip \(name)\ntable ip \(name) {\n\(body)}\n")
    }

    static func deleteTable(_ name: String) throws {
        try nft("table ip \(name) {}\ndelete table ip \(name)\n")
    }

    static func writeSysctl(_ path: String, _ value: String) throws {
        do {
            try value.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw BerthError(.runtime, "cannot write \(value) to \(path)", cause: error)
        }
    }
}
