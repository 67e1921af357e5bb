import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// Helpers shared by the image tests: temp dirs, running tools, and a small
/// Python program that crafts tars (benign and malicious) and OCI layouts.
enum ImageTestSupport {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A fresh directory under /tmp, removed by `cleanup`.
    static func makeTempDir(_ tag: String = "img") throws -> String {
        let path = "/tmp/berth-\(tag)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func cleanup(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs a program; throws with its stderr if it fails. Returns stdout.
    @discardableResult
    static func run(_ arguments: [String], input: Data? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BerthError(.internal, "\(arguments.joined(separator: " ")) failed: \(String(decoding: stderr, as: UTF8.self))")
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    /// Builds the busybox test image (scripts/build-test-image.sh) as an OCI
    /// layout; returns its manifest digest.
    /// When scripts/test-setup/images.sh built it already (`make test`), the
    /// prebuilt layout is copied instead.
    static func buildBusybox(into dir: String, compression: String = "gzip", name: String = "docker.io/library/busybox:latest") throws -> String {
        let prebuilt = ProcessInfo.processInfo.environment[compression == "zstd" ? "BERTH_TEST_BUSYBOX_ZSTD" : "BERTH_TEST_BUSYBOX_OCI"]
        if let prebuilt, compression != "none", name == "docker.io/library/busybox:latest",
           FileManager.default.fileExists(atPath: prebuilt + "/index.json") {
            try run(["cp", "-a", prebuilt, dir])
            let index = try JSONDecoder().decode(OCIIndex.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/index.json")))
            return try #require(index.manifests.first).digest.description
        }
        return try run(["bash", "\(repoRoot)/scripts/build-test-image.sh", dir, "--compression", compression, "--name", name])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Crafted tars

    /// One tar entry for the Python crafter. `type`: file, dir, symlink, hardlink, fifo, char.
    struct Entry: Encodable {
        var name: String
        var type: String = "file"
        var data: String = ""
        var target: String = ""
        var mode: Int = 0o644
        var uid: Int = 0
        var gid: Int = 0
        var mtime: Int = 1_700_000_000
        var xattrs: [String: String] = [:]
        var major: Int = 0
        var minor: Int = 0

        static func file(_ name: String, _ data: String = "", mode: Int = 0o644, uid: Int = 0, gid: Int = 0) -> Entry {
            Entry(name: name, data: data, mode: mode, uid: uid, gid: gid)
        }
        static func dir(_ name: String, mode: Int = 0o755) -> Entry { Entry(name: name, type: "dir", mode: mode) }
        static func symlink(_ name: String, to target: String) -> Entry { Entry(name: name, type: "symlink", target: target, mode: 0o777) }
        static func hardlink(_ name: String, to target: String) -> Entry { Entry(name: name, type: "hardlink", target: target) }
    }

    /// Writes a tar with exactly these entries (no sanitizing: Python's
    /// tarfile writes whatever name it is given), compressed as asked.
    static func craftTar(_ entries: [Entry], to path: String, compression: String = "none") throws {
        let spec = try JSONEncoder().encode(entries)
        let specPath = path + ".json"
        try spec.write(to: URL(fileURLWithPath: specPath))
        defer { try? FileManager.default.removeItem(atPath: specPath) }
        try run(["python3", "-c", crafter, "tar", specPath, path, compression])
    }

    /// Writes an OCI layout with one image made of the given layer files
    /// (compressed tars), lowest first. `badDiffID` writes a wrong diff_id
    /// for the first layer (with all digests consistent otherwise).
    static func craftLayout(at dir: String, name: String, layers: [String], badDiffID: Bool = false) throws -> String {
        try run(["python3", "-c", crafter, "layout", dir, name, badDiffID ? "bad" : "good"] + layers)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes a `docker save` (pre-25, v1.2 layout) archive of an OCI layout
    /// made by `buildBusybox`: `<hex>.json`, `<id>/layer.tar` (uncompressed).
    static func craftDockerSave(fromLayout layout: String, to path: String, repoTags: [String]) throws {
        try run(["python3", "-c", crafter, "dockersave", layout, path, repoTags.joined(separator: ",")])
    }

    static let crafter = #"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

def decompress(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-q", "-d", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data

def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data

def make_tar(spec_path, out, how):
    entries = json.load(open(spec_path))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.mode, info.uid, info.gid, info.mtime = e["mode"], e["uid"], e["gid"], e["mtime"]
            if e["xattrs"]:
                info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            data = e["data"].encode()
            t = e["type"]
            if t == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE, "char": tarfile.CHRTYPE}[t]
            info.linkname = e["target"]
            info.devmajor, info.devminor = e["major"], e["minor"]
            tar.addfile(info)
    open(out, "wb").write(compress(raw.getvalue(), how))

def put(blobs, data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}

def media(data):
    if data[:2] == b"\x1f\x8b": return "application/vnd.oci.image.layer.v1.tar+gzip"
    if data[:4] == b"\x28\xb5\x2f\xfd": return "application/vnd.oci.image.layer.v1.tar+zstd"
    return "application/vnd.oci.image.layer.v1.tar"

def make_layout(out, name, bad, layers):
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    descs, diff_ids = [], []
    for path in layers:
        data = open(path, "rb").read()
        diff_ids.append("sha256:" + hashlib.sha256(decompress(data)).hexdigest())
        d = put(blobs, data); d["mediaType"] = media(data); descs.append(d)
    if bad == "bad":
        diff_ids[0] = "sha256:" + "0" * 64
    config = {"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
              "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    c = put(blobs, json.dumps(config).encode()); c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": descs}
    m = put(blobs, json.dumps(manifest).encode()); m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    m["annotations"] = {"io.containerd.image.name": name}
    json.dump({"schemaVersion": 2, "manifests": [m]}, open(os.path.join(out, "index.json"), "w"))
    json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
    print(m["digest"])

def docker_save(layout, out, tags):
    blob = lambda d: open(os.path.join(layout, "blobs", "sha256", d.split(":")[1]), "rb").read()
    index = json.load(open(os.path.join(layout, "index.json")))
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    config = blob(manifest["config"]["digest"])
    with tarfile.open(out, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name); info.size = len(data); tar.addfile(info, io.BytesIO(data))
        layer_paths = []
        for i, layer in enumerate(manifest["layers"]):
            data = decompress(blob(layer["digest"]))
            path = "%064x/layer.tar" % (i + 1)
            add(path, data)
            layer_paths.append(path)
        config_name = manifest["config"]["digest"].split(":")[1] + ".json"
        add(config_name, config)
        add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [t for t in tags.split(",") if t],
                                          "Layers": layer_paths}]).encode())

cmd = sys.argv[1]
if cmd == "tar": make_tar(sys.argv[2], sys.argv[3], sys.argv[4])
elif cmd == "layout": make_layout(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
elif cmd == "dockersave": docker_save(sys.argv[2], sys.argv[3], sys.argv[4])
"""#

    // MARK: - File checks

    static func lstat(_ path: String) -> stat? {
        var info = stat()
        return Glibc.lstat(path, &info) == 0 ? info : nil
    }

    static func xattr(_ path: String, _ name: String) -> String? {
        LayerXattr.get(path: path, name: name)
    }

    static func expectBerthError(_ code: BerthError.Code, _ body: () async throws -> Void) async -> BerthError? {
        do {
            try await body()
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

    /// Every entry below `dir`, relative, for "nothing else was written" checks.
    static func listTree(_ dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).sorted()
    }
}
