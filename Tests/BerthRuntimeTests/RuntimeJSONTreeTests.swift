import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// The hand-written `JSONTreeCodable` forms of the files a container start
/// reads and writes must give exactly what their Codable forms give through
/// RuntimeJSON: the same text, the same values, the same inputs accepted and
/// rejected. They exist only to skip the runtime's conformance scans.
@Suite struct RuntimeJSONTreeTests {
    typealias F = JSONTreeFixtures
    typealias T = ImageTestSupport

    // MARK: - The Codable path, as RuntimeJSON took it before

    /// Constrained to `Encodable` only, so overload resolution picks the Codable path.
    static func codableText<V: Encodable>(_ value: V) throws -> Data { try RuntimeJSON.encode(value) }
    static func codableValue<V: Decodable>(_ type: V.Type, _ data: Data) throws -> V { try RuntimeJSON.decode(type, from: data) }

    /// Both ways agree on `value`: tree, text, and decoding of either's output.
    static func expectAgreement<V: JSONTreeCodable & Equatable>(_ value: V, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let codableTree = try JSONValue(encoding: value)
        #expect(value.jsonTree == codableTree, sourceLocation: sourceLocation)
        let text = RuntimeJSON.encode(value)
        let codable = try codableText(value)
        #expect(text == codable, "\(String(decoding: text, as: UTF8.self)) vs \(String(decoding: codable, as: UTF8.self))", sourceLocation: sourceLocation)
        #expect(RuntimeJSON.encodeBytes(value) == [UInt8](codable), sourceLocation: sourceLocation)
        #expect(try V(jsonTree: codableTree) == value, sourceLocation: sourceLocation)
        #expect(try codableTree.decode(V.self) == value, sourceLocation: sourceLocation)
        #expect(try RuntimeJSON.decode(V.self, from: codable) == value, sourceLocation: sourceLocation)
        #expect(try codableValue(V.self, text) == value, sourceLocation: sourceLocation)
        // Pretty-printed, as files written by older builds (JSONEncoder) are.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        #expect(try RuntimeJSON.decode(V.self, from: encoder.encode(value)) == value, sourceLocation: sourceLocation)
    }

    static func expectComplete(_ value: Any, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let gaps = F.gaps(in: value)
        #expect(gaps.isEmpty, "the full fixture leaves fields untested: \(gaps)", sourceLocation: sourceLocation)
    }

    /// The hand-written and the Codable decoding of `tree` both give the
    /// same value, or both fail. Returns the hand-written error, if any.
    @discardableResult
    static func expectSameVerdict<V: JSONTreeCodable & Equatable>(
        _ type: V.Type, _ tree: JSONValue, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> (any Error)? {
        let hand = Result { try V(jsonTree: tree) }
        let codable = Result { try tree.decode(V.self) }
        switch (hand, codable) {
        case (.success(let mine), .success(let theirs)):
            #expect(mine == theirs, sourceLocation: sourceLocation)
            return nil
        case (.failure(let error), .failure):
            return error
        case (.success, .failure(let error)):
            Issue.record("accepted what Codable rejects (\(error)): \(JSONText.encode(tree))", sourceLocation: sourceLocation)
            return nil
        case (.failure(let error), .success):
            Issue.record("rejected what Codable accepts (\(error)): \(JSONText.encode(tree))", sourceLocation: sourceLocation)
            return error
        }
    }

    // MARK: - Agreement, type by type

    @Test func fullFixturesSetEveryField() {
        let fixtures: [Any] = [
            F.digestA, F.platform, F.descriptor, F.manifest, F.index, F.rootfs, F.history, F.imageConfig, F.image,
            F.mount, F.limits, F.cgroups, CapabilitySet.dockerDefault, F.spec, F.record, F.shimExit,
        ]
        for fixture in fixtures { Self.expectComplete(fixture) }
        // The check can fail: a minimal fixture has gaps, named by path.
        #expect(F.gaps(in: F.recordMinimal).contains(".spec.sandboxID"))
        #expect(F.gaps(in: F.recordMinimal).contains(".spec.layers (empty)"))
    }

    @Test func ociTypesAgreeWithCodable() throws {
        try Self.expectAgreement(F.digestA)
        try Self.expectAgreement(F.platform)
        try Self.expectAgreement(F.platformMinimal)
        try Self.expectAgreement(F.descriptor)
        try Self.expectAgreement(F.descriptorMinimal)
        try Self.expectAgreement(F.manifest)
        try Self.expectAgreement(F.manifestMinimal)
        try Self.expectAgreement(F.index)
        try Self.expectAgreement(F.indexMinimal)
    }

    @Test func imageConfigTypesAgreeWithCodable() throws {
        try Self.expectAgreement(F.rootfs)
        try Self.expectAgreement(F.rootfsMinimal)
        try Self.expectAgreement(F.history)
        try Self.expectAgreement(F.historyMinimal)
        try Self.expectAgreement(F.imageConfig)
        try Self.expectAgreement(F.imageConfigMinimal)
        try Self.expectAgreement(F.image)
        try Self.expectAgreement(F.imageMinimal)
        // ExposedPorts and Volumes are objects of empty objects.
        #expect(F.imageConfig.jsonTree["ExposedPorts"] == .object(["53/udp": .object([:]), "80/tcp": .object([:])]))
    }

    @Test func containerTypesAgreeWithCodable() throws {
        try Self.expectAgreement(F.mount)
        try Self.expectAgreement(F.limits)
        try Self.expectAgreement(F.limitsMinimal)
        try Self.expectAgreement(F.cgroups)
        try Self.expectAgreement(CapabilitySet.dockerDefault)
        try Self.expectAgreement(CapabilitySet.all)
        try Self.expectAgreement(F.spec)
        try Self.expectAgreement(F.specMinimal)
        try Self.expectAgreement(F.record)
        try Self.expectAgreement(F.recordMinimal)
        for phase in [ContainerRecord.Phase.created, .running, .stopped] { try Self.expectAgreement(phase) }
        try Self.expectAgreement(F.shimExit)
        try Self.expectAgreement(F.shimExitMinimal)
    }

    /// Integers at the edges of their types: TreeEncoder writes a UInt64
    /// above Int.max as a double, and both sides must then agree again.
    @Test func numbersAtTheEdgesAgree() throws {
        var record = F.record
        record.pid = Int32.min
        record.shimPid = Int32.max
        record.pidStartTime = UInt64(Int.max)
        record.exitCode = Int.min
        record.signal = Int.max
        record.spec.logMaxBytes = Int64.min
        record.spec.limits = ResourceLimits(memoryBytes: Int64.max, cpuMillis: 0, cpuRequestMillis: -1, pidsLimit: Int64.min)
        try Self.expectAgreement(record)
        // 2^63 + 2^11 is a UInt64 above Int.max that a double holds exactly.
        record.shimStartTime = (UInt64(1) << 63) + 2048
        try Self.expectAgreement(record)
        #expect(record.jsonTree["shimStartTime"] == .double(9_223_372_036_854_777_856))
        // UInt64.max is written as 2^64 (a double); neither side can read it back.
        let huge = CapabilitySet(mask: .max)
        #expect(huge.jsonTree == (try JSONValue(encoding: huge)))
        #expect(RuntimeJSON.encode(huge) == (try Self.codableText(huge)))
        Self.expectSameVerdict(CapabilitySet.self, huge.jsonTree)
        #expect(throws: JSONTreeError.self) { try CapabilitySet(jsonTree: huge.jsonTree) }
    }

    // MARK: - Accepted and rejected inputs

    @Test func containerRecordInputsAreJudgedAsCodableJudgesThem() throws {
        let full = F.record.jsonTree
        func variant(_ change: (inout JSONValue) -> Void) -> JSONValue { full.changed(change) }
        // Accepted: old files without autoRemove/tty, nulls, unknown keys, integral doubles.
        let old = variant { $0["spec"]?["autoRemove"] = nil; $0["spec"]?["tty"] = nil }
        #expect(Self.expectSameVerdict(ContainerRecord.self, old) == nil)
        #expect(try ContainerRecord(jsonTree: old).spec.autoRemove == nil)
        let accepted = [
            variant { $0["spec"]?["autoRemove"] = .null },
            variant { $0["cgroups"] = .null; $0["error"] = .null; $0["pid"] = .null },
            variant { $0["unknown"] = .object(["x": .array([])]); $0["spec"]?["alsoUnknown"] = .int(1) },
            variant { $0["exitCode"] = .double(3.0); $0["spec"]?["uid"] = .double(7) },
            variant { $0["pidStartTime"] = .double(1e10) },
            variant { $0["spec"]?["labels"] = .object([:]) },
        ]
        for tree in accepted {
            #expect(Self.expectSameVerdict(ContainerRecord.self, tree) == nil, "\(JSONText.encode(tree))")
        }
        let rejected = [
            variant { $0["exitCode"] = .double(3.5) },
            variant { $0["pid"] = .int(Int(Int32.max) + 1) },
            variant { $0["spec"]?["uid"] = .int(-1) },
            variant { $0["spec"]?["uid"] = .string("0") },
            variant { $0["spec"]?["argv"] = .string("sh") },
            variant { $0["spec"]?["argv"] = .array([.string("sh"), .int(1)]) },
            variant { $0["spec"]?["argv"] = .null },
            variant { $0["spec"]?["image"] = nil },
            variant { $0["spec"]?["additionalGids"] = .array([.int(1 << 32)]) },
            variant { $0["spec"]?["labels"] = .object(["a": .int(1)]) },
            variant { $0["spec"]?["mounts"] = .array([.object(["hostPath": .string("/a"), "containerPath": .string("/b")])]) },
            variant { $0["spec"]?["capabilities"] = .int(5) },
            variant { $0["phase"] = .string("paused") },
            variant { $0["oomKilled"] = .int(1) },
            variant { $0["isSandbox"] = nil },
            variant { $0["cgroups"]?["directories"] = .array([]) },
            .array([full]),
            .null,
        ]
        for tree in rejected {
            let error = Self.expectSameVerdict(ContainerRecord.self, tree)
            #expect(error is JSONTreeError, "\(String(describing: error))")
        }
    }

    @Test func ociInputsAreJudgedAsCodableJudgesThem() throws {
        let image = F.image.jsonTree
        func imageVariant(_ change: (inout JSONValue) -> Void) -> JSONValue { image.changed(change) }
        let acceptedImages = [
            imageVariant { $0["config"] = .null; $0["history"] = .null },
            imageVariant { $0["config"]?["ExposedPorts"] = .object(["80/tcp": .object(["ignored": .int(1)])]) },
            imageVariant { $0["config"]?["Volumes"] = .object([:]) },
            // Codable's EmptyObject reads no container: any value is taken.
            imageVariant { $0["config"]?["ExposedPorts"] = .object(["80/tcp": .null, "53/udp": .array([]), "1/sctp": .string("")]) },
            imageVariant { $0["config"]?["Env"] = .null },
            imageVariant { $0["rootfs"]?["extra"] = .bool(true) },
        ]
        for tree in acceptedImages {
            #expect(Self.expectSameVerdict(OCIImage.self, tree) == nil, "\(JSONText.encode(tree))")
        }
        let rejectedImages = [
            imageVariant { $0["config"]?["Volumes"] = .string("/data") },
            imageVariant { $0["config"]?["ExposedPorts"] = .array([.string("80/tcp")]) },
            imageVariant { $0["config"]?["Cmd"] = .string("sh") },
            imageVariant { $0["rootfs"]?["diff_ids"] = .array([.string("md5:abc")]) },
            imageVariant { $0["rootfs"]?["diff_ids"] = .array([.string("sha256:ABC")]) },
            imageVariant { $0["rootfs"] = nil },
            imageVariant { $0["history"] = .array([.object(["empty_layer": .string("true")])]) },
        ]
        for tree in rejectedImages {
            #expect(Self.expectSameVerdict(OCIImage.self, tree) is JSONTreeError, "\(JSONText.encode(tree))")
        }

        let index = F.index.jsonTree
        func indexVariant(_ change: (inout JSONValue) -> Void) -> JSONValue { index.changed(change) }
        #expect(Self.expectSameVerdict(OCIIndex.self, indexVariant { $0["mediaType"] = .null; $0["annotations"] = nil }) == nil)
        #expect(Self.expectSameVerdict(OCIIndex.self, indexVariant { $0["schemaVersion"] = .double(2) }) == nil)
        let rejectedIndexes = [
            indexVariant { $0["schemaVersion"] = nil },
            indexVariant { $0["manifests"] = .object([:]) },
            indexVariant { $0["manifests"] = .array([.object(["mediaType": .string("m"), "digest": .string("sha256:xyz"), "size": .int(1)])]) },
            indexVariant { $0["manifests"] = .array([.object(["mediaType": .string("m"), "digest": F.digestA.jsonTree, "size": .double(1.5)])]) },
            indexVariant { $0["manifests"] = .array([.object(["mediaType": .string("m"), "digest": F.digestA.jsonTree, "size": .int(1), "platform": .object(["os": .string("linux")])])]) },
        ]
        for tree in rejectedIndexes {
            #expect(Self.expectSameVerdict(OCIIndex.self, tree) is JSONTreeError, "\(JSONText.encode(tree))")
        }
    }

    /// What berth-shim (C, shim.c) writes, byte for byte in its format.
    @Test func shimExitFileAsTheShimWritesIt() throws {
        let text = #"{"exitCode":1,"signal":0,"oomKilled":false,"finishedAt":"2026-11-29T12:00:02.000000000Z","error":"exec \"x\": not found"}"#
        let exit = try RuntimeJSON.decode(ShimExit.self, from: Data(text.utf8))
        #expect(exit.exitCode == 1 && exit.error == #"exec "x": not found"#)
        #expect(try Self.codableValue(ShimExit.self, Data(text.utf8)).error == exit.error)
        #expect(Self.expectSameVerdict(ShimExit.self, try JSONText.decode(#"{"exitCode":1,"signal":0,"oomKilled":false}"#)) is JSONTreeError)
    }

    // MARK: - Errors

    @Test func errorsNameTheField() throws {
        func failure<V: JSONTreeCodable>(_ type: V.Type, _ tree: JSONValue) -> JSONTreeError? {
            do {
                _ = try V(jsonTree: tree)
                return nil
            } catch {
                return error as? JSONTreeError
            }
        }
        var tree = F.record.jsonTree
        tree["spec"]?["argv"] = .string("sh")
        #expect(failure(ContainerRecord.self, tree)?.description == "spec.argv: expected an array of strings, found a string")
        tree["spec"]?["argv"] = .array([.string("sh"), .int(1)])
        #expect(failure(ContainerRecord.self, tree)?.description == "spec.argv[1]: expected a string, found a number")
        tree = F.record.jsonTree
        tree["spec"]?["image"] = nil
        #expect(failure(ContainerRecord.self, tree)?.description == "spec.image: required field is missing")
        tree = F.record.jsonTree
        tree["spec"]?["mounts"] = .array([F.mount.jsonTree, .object(["hostPath": .string("/a"), "containerPath": .string("/b"), "readOnly": .null])])
        #expect(failure(ContainerRecord.self, tree)?.description == "spec.mounts[1].readOnly: expected a boolean, found null")
        tree = F.record.jsonTree
        tree["spec"]?["additionalGids"] = .array([.int(-5)])
        #expect(failure(ContainerRecord.self, tree)?.path == "spec.additionalGids[0]")
        // Values are never quoted: state.json holds env values, which may be secrets.
        tree = F.record.jsonTree
        tree["spec"]?["env"] = .array([.string("A=1"), .int(42)])
        #expect(failure(ContainerRecord.self, tree)?.description.contains("42") == false)

        var index = F.index.jsonTree
        index["manifests"] = .array([F.descriptor.jsonTree, F.descriptor.jsonTree.with("digest", .string("sha256:../../x"))])
        let digestError = try #require(failure(OCIIndex.self, index))
        #expect(digestError.path == "manifests[1].digest")
        #expect(digestError.problem.contains("invalid digest"))

        var image = F.image.jsonTree
        image["config"]?["ExposedPorts"] = .array([.string("80/tcp")])
        #expect(failure(OCIImage.self, image)?.description == "config.ExposedPorts: expected an object of empty objects, found an array")
        image = F.image.jsonTree
        image["history"] = .array([F.history.jsonTree, F.history.jsonTree.with("empty_layer", .string("true"))])
        #expect(failure(OCIImage.self, image)?.description == "history[1].empty_layer: expected a boolean, found a string")
        #expect(failure(OCIImage.self, .array([]))?.description == "expected an object, found an array")

        // The concrete call sites pick the hand-written overload (a
        // DecodingError would mean the Codable path ran).
        #expect(throws: JSONTreeError.self) { try RuntimeJSON.decode(ContainerRecord.self, from: Data(#"{"id":1}"#.utf8)) }
        #expect(throws: JSONText.SyntaxError.self) { try RuntimeJSON.decode(ContainerRecord.self, from: Data("{".utf8)) }
        #expect(throws: DecodingError.self) { try Self.codableValue(ContainerRecord.self, Data(#"{"id":1}"#.utf8)) }
    }

    /// The image store's own messages carry the path.
    @Test func imageStoreReportsTheFieldOfACorruptDocument() throws {
        let dir = try T.makeTempDir("jsontree")
        defer { T.cleanup(dir) }
        let engine = try ImageStoreEngine(root: dir)
        var manifest = F.manifest.jsonTree
        manifest["layers"] = .array([F.descriptor.jsonTree.with("size", .string("1"))])
        do {
            _ = try engine.decode(OCIManifest.self, Data(JSONText.encode(manifest).utf8), what: "image x: manifest")
            Issue.record("a corrupt manifest was accepted")
        } catch let error as BerthError {
            #expect(error.code == .imageCorrupt)
            #expect(error.message == "image x: manifest is not valid: layers[0].size: expected an integer, found a string", "\(error)")
        }
    }

    // MARK: - Files written by the real code paths

    /// An imported busybox: the store's index.json (written by JSONEncoder),
    /// the manifest and the config blob (written by the image build script),
    /// then a container created from it and its state.json, read back by a
    /// second manager as a new `berth` process would.
    @Test func realStoreAndStateFilesReadTheSameBothWays() async throws {
        let dir = try T.makeTempDir("jsontree")
        defer { T.cleanup(dir) }
        let digest = try T.buildBusybox(into: dir + "/layout")
        let store = try ImageStore(dataDir: dir + "/data")
        _ = try await store.importImage(from: dir + "/layout")
        let images = dir + "/data/images"

        func read(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
        func expectSame<V: JSONTreeCodable & Equatable>(_ type: V.Type, _ data: Data) throws -> V {
            let value = try RuntimeJSON.decode(V.self, from: data)
            #expect(value == (try Self.codableValue(V.self, data)))
            try Self.expectAgreement(value)
            return value
        }
        let index = try expectSame(OCIIndex.self, try read(images + "/index.json"))
        #expect(index.manifests.map(\.digest.description).contains(digest))
        let manifest = try expectSame(OCIManifest.self, try read(images + "/blobs/sha256/" + digest.dropFirst(7)))
        let image = try expectSame(OCIImage.self, try read(images + "/blobs/sha256/" + manifest.config.digest.hex))
        #expect(image.rootfs.diffIDs.count == manifest.layers.count)

        let containers = dir + "/containers"
        let manager = try ContainerManager(dataDir: containers, images: store, shimPath: "/bin/true")
        var options = ContainerOptions(image: "busybox", command: ["sh", "-c", "true"], env: ["A": "1"], labels: ["l": "v"])
        options.autoRemove = true
        options.tty = true
        let created = try await manager.create(options)
        let stateFile = containers + "/containers/" + created.id + "/state.json"
        let record = try expectSame(ContainerRecord.self, try read(stateFile))
        #expect(record == created)
        #expect(record.spec.autoRemove == true && record.spec.tty == true)
        let reloaded = try ContainerManager(dataDir: containers, images: store, shimPath: "/bin/true")
        #expect(await reloaded.record(created.id) == created)
    }
}

extension JSONValue {
    /// This tree after `change`.
    fileprivate func changed(_ change: (inout JSONValue) -> Void) -> JSONValue {
        var copy = self
        change(&copy)
        return copy
    }

    /// This object with `key` set to `value`.
    fileprivate func with(_ key: String, _ value: JSONValue) -> JSONValue {
        changed { $0[key] = value }
    }
}
