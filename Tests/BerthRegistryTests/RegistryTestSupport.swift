import AsyncHTTPClient
import BerthAPI
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import BerthRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Temp dirs, processes, ports and test images for the real-registry tests.
enum RegistryTestSupport {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func makeTempDir(_ tag: String) throws -> String {
        let path = "/tmp/berth-\(tag)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func cleanup(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs a program (found on PATH); throws with its stderr on failure; returns stdout.
    @discardableResult
    static func run(_ arguments: [String], input: Data? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        if let input { inp.fileHandleForWriting.write(input) }
        try? inp.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BerthError(.internal, "\(arguments.joined(separator: " ")) failed: \(String(decoding: stderr, as: UTF8.self))")
        }
        return stdout
    }

    static func runText(_ arguments: [String]) throws -> String {
        String(decoding: try run(arguments), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The busybox test image as an OCI layout (scripts/build-test-image.sh); returns the manifest digest.
    static func buildBusybox(into dir: String, compression: String = "gzip", name: String = "docker.io/library/busybox:latest") throws -> String {
        try runText(["bash", "\(repoRoot)/scripts/build-test-image.sh", dir, "--compression", compression, "--name", name])
    }

    /// `skopeo copy oci:LAYOUT docker://REGISTRY/REPO:TAG` over plain HTTP.
    static func skopeoPush(layout: String, layoutRef: String? = nil, to destination: String, credential: RegistryCredential?, all: Bool = false) throws {
        var arguments = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
        if all { arguments.append("--all") }
        if let credential { arguments += ["--dest-creds", "\(credential.username):\(credential.password)"] }
        arguments += ["oci:\(layout)\(layoutRef.map { ":\($0)" } ?? "")", "docker://\(destination)"]
        try run(arguments)
    }

    /// An OCI layout whose `multi` entry is an index: the busybox image for
    /// linux/amd64 and a one-file image for linux/arm64/v8. Returns the
    /// digests (index, amd64 manifest, arm64 manifest).
    static func buildMultiPlatform(into dir: String) throws -> (index: String, amd64: String, arm64: String) {
        _ = try buildBusybox(into: dir)
        let output = try runText(["python3", "-c", multiPlatformScript, dir])
        let parts = output.split(separator: " ").map(String.init)
        return (parts[0], parts[1], parts[2])
    }

    static let multiPlatformScript = #"""
import gzip, hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
blobs = os.path.join(out, "blobs", "sha256")
def put(data, media):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}
index = json.load(open(os.path.join(out, "index.json")))
amd64 = dict(index["manifests"][0]); amd64.pop("annotations", None)
amd64["platform"] = {"architecture": "amd64", "os": "linux"}
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as tar:
    data = b"arm64 image\n"
    info = tarfile.TarInfo("arm64.txt"); info.size = len(data); info.mtime = 1704067200
    tar.addfile(info, io.BytesIO(data))
layer_tar = raw.getvalue()
layer = put(gzip.compress(layer_tar, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
config = {"architecture": "arm64", "variant": "v8", "os": "linux", "config": {"Cmd": ["sh"]},
          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]}}
c = put(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
m = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": [layer]}).encode(),
        "application/vnd.oci.image.manifest.v1+json")
m["platform"] = {"architecture": "arm64", "os": "linux", "variant": "v8"}
idx = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [amd64, m]}).encode(),
          "application/vnd.oci.image.index.v1+json")
idx["annotations"] = {"org.opencontainers.image.ref.name": "multi"}
json.dump({"schemaVersion": 2, "manifests": [idx]}, open(os.path.join(out, "index.json"), "w"))
print(idx["digest"], amd64["digest"], m["digest"])
"""#

    static func expectBerthError<T>(_ code: BerthError.Code, _ body: () async throws -> T) async -> BerthError? {
        do {
            _ = try await body()
            Issue.record("expected a BerthError(.\(code)), got success")
            return nil
        } catch let error as BerthError {
            #expect(error.code == code, "\(error)")
            return error
        } catch {
            Issue.record("expected a BerthError(.\(code)), got \(error)")
            return nil
        }
    }

    static func files(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }
}

/// An HTTP client for test proxies (no redirects followed).
final class TestHTTPClient: Sendable {
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    /// Forwards `request` to `base` and buffers the answer.
    func forward(_ request: TestHTTPServer.Request, to base: String, dropAuthorization: Bool = false) async -> TestHTTPServer.Response {
        var outgoing = HTTPClientRequest(url: base + request.uri)
        outgoing.method = request.method
        for (name, value) in request.headers where !["host", "content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
            if dropAuthorization, name.lowercased() == "authorization" { continue }
            outgoing.headers.add(name: name, value: value)
        }
        if request.body.readableBytes > 0 || [.PUT, .POST, .PATCH].contains(request.method) { outgoing.body = .bytes(request.body) }
        do {
            let response = try await client.execute(outgoing, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 512 << 20)
            var headers = response.headers
            if request.method != .HEAD { headers.remove(name: "Content-Length") }
            headers.remove(name: "Transfer-Encoding")
            headers.remove(name: "Connection")
            return TestHTTPServer.Response(status: response.status, headers: headers, body: body)
        } catch {
            return .text(.badGateway, "proxy error: \(error)")
        }
    }

    func shutdown() async { try? await client.shutdown() }
}
