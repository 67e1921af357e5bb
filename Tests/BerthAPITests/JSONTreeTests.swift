import Foundation
import Testing
@testable import BerthAPI

/// The building blocks of the hand-written `JSONTreeCodable` conversions
/// must read and write scalars and collections exactly as TreeDecoder and
/// TreeEncoder (the Codable path they stand in for) do.
@Suite struct JSONTreeTests {
    static let samples: [JSONValue] = [
        .int(0), .int(-1), .int(255), .int(300), .int(Int(Int32.max) + 1), .int(Int.max), .int(Int.min),
        .double(2.0), .double(2.5), .double(-0.0), .double(1e19), .double(9_223_372_036_854_777_856),
        .string("1"), .bool(true), .null, .array([]), .object([:]),
    ]

    /// Both read `value` as the same `I`, or both refuse it.
    static func expectSameInteger<I: FixedWidthInteger & Decodable>(_ type: I.Type, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for value in samples {
            let mine = try? value.treeInteger(I.self)
            let theirs = try? TreeDecoder.decode(I.self, from: value)
            #expect(mine == theirs, "\(I.self) from \(value)", sourceLocation: sourceLocation)
        }
    }

    @Test func integersAreReadAsTreeDecoderReadsThem() throws {
        Self.expectSameInteger(Int.self)
        Self.expectSameInteger(Int32.self)
        Self.expectSameInteger(Int64.self)
        Self.expectSameInteger(UInt8.self)
        Self.expectSameInteger(UInt32.self)
        Self.expectSameInteger(UInt64.self)
        #expect(try JSONValue.double(2.0).treeInteger(Int.self) == 2)
        #expect(throws: JSONTreeError.self) { try JSONValue.double(2.5).treeInteger(Int.self) }
    }

    @Test func integersAreWrittenAsTreeEncoderWritesThem() throws {
        #expect(JSONValue.integer(Int64.min) == (try TreeEncoder.encode(Int64.min)))
        #expect(JSONValue.integer(Int32.min) == (try TreeEncoder.encode(Int32.min)))
        #expect(JSONValue.integer(UInt32.max) == (try TreeEncoder.encode(UInt32.max)))
        #expect(JSONValue.integer(UInt64(Int.max)) == (try TreeEncoder.encode(UInt64(Int.max))))
        #expect(JSONValue.integer(UInt64.max) == (try TreeEncoder.encode(UInt64.max)))
        #expect(JSONValue.integer(UInt64.max) == .double(18_446_744_073_709_551_616))
    }

    @Test func collectionsAreReadAsTreeDecoderReadsThem() throws {
        let arrays: [JSONValue] = [
            .array([]), .array([.string("a"), .string("b")]), .array([.string("a"), .null]), .array([.int(1)]),
            .string("a"), .null, .object(["0": .string("a")]),
        ]
        for value in arrays {
            #expect((try? value.treeStrings()) == (try? TreeDecoder.decode([String].self, from: value)), "\(value)")
        }
        let maps: [JSONValue] = [
            .object([:]), .object(["a": .string("1")]), .object(["a": .int(1)]), .object(["a": .null]), .array([]), .null,
        ]
        for value in maps {
            #expect((try? value.treeStringMap()) == (try? TreeDecoder.decode([String: String].self, from: value)), "\(value)")
        }
        #expect(JSONValue.strings(["a", "b"]) == (try TreeEncoder.encode(["a", "b"])))
        #expect(JSONValue.stringMap(["a": "1"]) == (try TreeEncoder.encode(["a": "1"])))
        #expect(JSONValue.stringMap([:]) == (try TreeEncoder.encode([String: String]())))
    }

    @Test func fieldsFollowTheOptionalRulesAndNameTheirPath() throws {
        let fields = try JSONTreeFields(.object(["s": .string("x"), "n": .null, "a": .array([.string("ok"), .bool(false)])]))
        #expect(try fields.string("s") == "x")
        #expect(try fields.optionalString("n") == nil)
        #expect(try fields.optionalString("missing") == nil)
        #expect(throws: JSONTreeError(path: "missing", "required field is missing")) { try fields.string("missing") }
        #expect(throws: JSONTreeError(path: "n", "expected a string, found null")) { try fields.string("n") }
        #expect(throws: JSONTreeError(path: "a[1]", "expected a string, found a boolean")) { try fields.optionalStrings("a") }
        #expect(throws: JSONTreeError("expected an object, found a string")) { try JSONTreeFields(.string("x")) }
        let nested = JSONTreeError("p").inField("c").inItem(2).inField("b").inItem(0).inField("a")
        #expect(nested.description == "a[0].b[2].c: p")
    }
}
