import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

final class ValueTests: XCTestCase {
    func testCanonicalTypeOrder() {
        let ordered: [BSON?] = [
            .minKey, nil, .null, .double(-.infinity), .int32(-1), .int64(0), .double(0.5), .int32(1), .string(""), .string("a"),
            .string("b"), .document([:]), .document(["a": 1]), .array([]), .array([1]),
            .binary(BSONBinary(subtype: 0, data: [1])), .objectId(ObjectId("000000000000000000000001")!), .bool(false), .bool(true),
            .date(-1), .date(0), .timestamp(BSONTimestamp(t: 1, i: 1)), .regex(BSONRegex(pattern: "a", options: "")), .maxKey,
        ]
        for (i, a) in ordered.enumerated() {
            for (j, b) in ordered.enumerated() {
                let expected = i < j ? -1 : (i > j ? 1 : 0)
                XCTAssertEqual(BSONOrder.compare(a, b), expected, "\(show(a)) vs \(show(b))")
            }
        }
    }

    func testNumbersCompareByValueAcrossTypes() {
        XCTAssertEqual(BSONOrder.compare(.int32(1), .double(1.0)), 0)
        XCTAssertEqual(BSONOrder.compare(.int64(1), .int32(1)), 0)
        XCTAssertEqual(BSONOrder.compare(.double(-0.0), .int32(0)), 0)
        XCTAssertEqual(BSONOrder.compare(.double(.nan), .double(-.infinity)), -1)
        XCTAssertEqual(BSONOrder.compare(.double(.nan), .double(.nan)), 0)
        // int64 vs double exactly: 2^53 + 1 is not 2^53
        XCTAssertEqual(BSONOrder.compare(.int64(9_007_199_254_740_993), .double(9_007_199_254_740_992)), 1)
        XCTAssertEqual(BSONOrder.compare(.int64(Int64.max), .double(9.223372036854775807e18)), -1)
        XCTAssertEqual(BSONOrder.compare(.decimal128(Decimal128("2.5")!), .double(2.5)), 0)
        XCTAssertEqual(BSONOrder.compare(.decimal128(Decimal128("3")!), .int32(2)), 1)
    }

    func testStringsCompareByUTF8Bytes() {
        XCTAssertEqual(BSONOrder.compare("Z", "a"), -1)  // 'Z' (0x5A) < 'a'
        XCTAssertEqual(BSONOrder.compare("é", "z"), 1)  // 0xC3 > 'z'
        // precomposed é vs e + combining accent: different in MongoDB (Swift's == says equal)
        XCTAssertNotEqual(BSONOrder.compare("\u{E9}", "e\u{301}"), 0)
        XCTAssertEqual(BSONOrder.compare(.symbol("a"), .string("a")), 0)
    }

    func testDocumentsCompareFieldByField() {
        // canonical type of the value first, then name
        XCTAssertEqual(BSONOrder.compare(["b": 1], ["a": "x"]), -1)
        XCTAssertEqual(BSONOrder.compare(["a": 1], ["b": 1]), -1)
        XCTAssertEqual(BSONOrder.compare(["a": 1], ["a": 1, "b": 0]), -1)
        XCTAssertEqual(BSONOrder.compare(["a": 1, "b": 2], ["a": 1.0, "b": 2]), 0)
        XCTAssertEqual(BSONOrder.compare(["a": 1, "b": 2], ["b": 2, "a": 1]), -1)
    }

    func testGroupKeyEquality() {
        let keys: [GroupKey] = [GroupKey(.int32(1)), GroupKey(.double(1.0)), GroupKey(.int64(1)), GroupKey(.decimal128(Decimal128("1")!))]
        XCTAssertEqual(Set(keys).count, 1)
        XCTAssertEqual(GroupKey(.double(-0.0)), GroupKey(.int32(0)))
        XCTAssertEqual(Set([GroupKey(.double(-0.0)), GroupKey(.int32(0))]).count, 1)
        XCTAssertEqual(Set([GroupKey(.double(.nan)), GroupKey(.double(-.nan))]).count, 1)
        XCTAssertNotEqual(GroupKey(nil), GroupKey(.null))
        XCTAssertEqual(GroupKey(nil), GroupKey(.undefined))
        XCTAssertEqual(Set([GroupKey(["a": 1, "b": [1, 2.0]]), GroupKey(["a": 1.0, "b": [1, 2]])]).count, 1)
        XCTAssertEqual(Set([GroupKey(["a": 1, "b": 2]), GroupKey(["b": 2, "a": 1])]).count, 2)
        XCTAssertEqual(Set([GroupKey(.int64(9_007_199_254_740_993)), GroupKey(.double(9_007_199_254_740_992))]).count, 2)
        XCTAssertEqual(Set([GroupKey("é"), GroupKey("e\u{301}")]).count, 2)
    }

    func testDoubleDoubleSummationIsExactForIntegersAndCompensatedForDoubles() {
        var s = DoubleDoubleSum()
        for _ in 0..<10 { s.addDouble(0.1) }
        XCTAssertEqual(s.double, 1.0)  // a naive sum gives 0.9999999999999999
        var l = DoubleDoubleSum()
        l.addLong(Int64.max); l.addLong(1); l.addLong(-1)
        XCTAssertTrue(l.fitsLong)
        XCTAssertEqual(l.long, Int64.max)
        l.addLong(1)
        XCTAssertFalse(l.fitsLong)
    }

    func testSumStateTypes() throws {
        var s = SumState()
        XCTAssertEqual(s.result, .int32(0))
        try s.add(.int32(Int32.max)); try s.add(.int32(1))
        XCTAssertEqual(s.result, .int64(2_147_483_648))  // widest int32 but the total does not fit
        try s.add(.int32(-2))
        XCTAssertEqual(s.result, .int32(2_147_483_646))  // fits again: int32
        var l = SumState()
        try l.add(.int64(1)); try l.add(.int32(1))
        XCTAssertEqual(l.result, .int64(2))
        try l.add(.int64(Int64.max))
        XCTAssertEqual(l.result, .double(9.223372036854775808e18))
        var d = SumState()
        try d.add(.int32(1)); try d.add(.double(2))
        XCTAssertEqual(d.result, .double(3))
        try d.add("x"); try d.add(nil); try d.add(.null)
        XCTAssertEqual(d.result, .double(3))
        try d.add(.decimal128(Decimal128("1.5")!))
        // mongod: decimal total + Decimal128(3.0, 34 digits) = 1.5 + 3
        XCTAssertEqual(d.result, .decimal128(Decimal128("4.5")!))
    }
}
