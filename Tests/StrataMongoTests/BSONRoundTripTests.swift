import StrataBSON
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

final class BSONRoundTripTests: XCTestCase {
    static let everyType: Document = [
        "double": .double(0.1), "negZero": .double(-0.0), "string": "Zoë 日本",
        "emptyString": "", "nulInString": .string("a\u{0}b"),
        "doc": ["b": 1, "a": ["z": true]],
        "array": [1, "two", .double(3.5), [], [:]],
        "binary": .binary(BSONBinary(subtype: 4, data: Array(0..<16))),
        "oid": .objectId(ObjectId("5f1a2b3c4d5e6f7081920a1b")!),
        "bool": false, "date": .date(-315_619_200_000), "null": .null,
        "regex": .regex(BSONRegex(pattern: "^a.c$", options: "i")),
        "int32": .int32(-7), "int64": .int64(12_345_678_901),
        "timestamp": .timestamp(BSONTimestamp(t: 42, i: 7)),
        "decimal": .decimal128(Decimal128("1.10")!),
        "min": .minKey, "max": .maxKey, "code": .javascript("function(){}"),
    ]

    func testExtendedJSONRoundTripKeepsTypesAndOrder() throws {
        for mode in [ExtendedJSON.Mode.canonical, .relaxed] {
            let text = ExtendedJSON.string(Self.everyType, mode: mode)
            let back = try ExtendedJSON.parseDocument(text)
            XCTAssertEqual(back, Self.everyType, "mode \(mode): \(text)")
            XCTAssertEqual(back.keys, Self.everyType.keys)
        }
    }

    func testRelaxedParsingFollowsTheDatasetContract() throws {
        let d = try ExtendedJSON.parseDocument(#"{"a": 1, "b": 12345678901, "c": 86.0, "d": {"$date": "2020-01-01T00:00:00Z"}, "e": 1e3}"#)
        XCTAssertEqual(d["a"], .int32(1))
        XCTAssertEqual(d["b"], .int64(12_345_678_901))
        XCTAssertEqual(d["c"], .double(86))
        XCTAssertEqual(d["d"], .date(1_577_836_800_000))
        XCTAssertEqual(d["e"], .double(1000))
    }

    func testMalformedJSONIsAnError() {
        XCTAssertThrowsError(try ExtendedJSON.parseDocument(#"{"a": }"#))
        XCTAssertThrowsError(try ExtendedJSON.parseDocument("not json"))
    }

    func testValuesRoundTripThroughTheServer() throws {
        let db = try TestServer.freshDatabase("bson_roundtrip")
        let coll = db.collection("values")
        var doc = Self.everyType
        doc.insert("_id", 1, at: 0)
        try coll.insertOne(doc)
        let back = try XCTUnwrap(try coll.findOne(["_id": 1]))
        XCTAssertEqual(back, doc)
    }

    func testDecimal128Text() throws {
        XCTAssertEqual(Decimal128("1.10")?.description, "1.10")
        XCTAssertEqual(Decimal128("-Infinity")?.doubleValue, -.infinity)
        XCTAssertNil(Decimal128("abc"))
    }
}
