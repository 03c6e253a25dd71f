import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

/// Decimal128 in the evaluator as mongod computes it (its source: evaluate_math.cpp,
/// value.cpp, compare_numbers.h, accumulator_sum.cpp): promotion, cohorts, exact comparison
/// with every numeric type, hashing consistent with it, conversions.
final class DecimalSemanticsTests: XCTestCase {
    func d(_ s: String) -> BSON { .decimal128(Decimal128.parse(s)!) }
    func dstr(_ v: BSON?) -> String {
        guard case .decimal128(let x)? = v else { return "not a decimal: \(String(describing: v))" }
        return x.description
    }
    func run(_ pipeline: String, _ docs: [Document]) throws -> [Document] {
        try PipelineExecutor(try Pipeline.parse(J(pipeline).arrayValue ?? [])).run(docs)
    }

    func testArithmeticPromotionAndCohorts() throws {
        let cases: [(String, String)] = [
            (#"{"$add": [{"$numberDecimal": "1.10"}, 1]}"#, "2.10"),
            (#"{"$add": [1, {"$numberDecimal": "1E+5"}]}"#, "100001"),
            (#"{"$add": [{"$numberDecimal": "1E+5"}]}"#, "100000"),  // 0E0 + 1E+5
            (#"{"$add": [{"$numberDecimal": "1"}, 0.1]}"#, "1.100000000000000"),  // 0.1 to 15 digits
            (#"{"$add": [0.5, 0.25, {"$numberDecimal": "1"}]}"#, "1.750000000000000"),  // 0.75 to 15 digits
            (#"{"$subtract": [{"$numberDecimal": "10.00"}, {"$numberLong": "3"}]}"#, "7.00"),
            (#"{"$multiply": [{"$numberDecimal": "1.5"}, 2, {"$numberDecimal": "0.10"}]}"#, "0.300"),
            (#"{"$multiply": [2.5, {"$numberDecimal": "2"}]}"#, "5.00000000000000"),
            (#"{"$divide": [1, {"$numberDecimal": "3"}]}"#, "0.3333333333333333333333333333333333"),
            (#"{"$divide": [{"$numberDecimal": "6.0"}, 2]}"#, "3.0"),
            (#"{"$mod": [{"$numberDecimal": "10.5"}, 3]}"#, "1.5"),
            (#"{"$mod": [{"$numberDecimal": "-7"}, {"$numberDecimal": "2.0"}]}"#, "-1.0"),
            (#"{"$abs": {"$numberDecimal": "-2.50"}}"#, "2.50"),
            (#"{"$ceil": {"$numberDecimal": "2.1"}}"#, "3"),
            (#"{"$floor": {"$numberDecimal": "-2.1"}}"#, "-3"),
            (#"{"$sqrt": {"$numberDecimal": "2"}}"#, "1.414213562373095048801688724209698"),
            (#"{"$sqrt": {"$numberDecimal": "1.00"}}"#, "1.0"),
            (#"{"$round": [{"$numberDecimal": "2.345"}, 2]}"#, "2.34"),
            (#"{"$round": [{"$numberDecimal": "2.355"}, 2]}"#, "2.36"),
            (#"{"$trunc": [{"$numberDecimal": "-2.359"}, 1]}"#, "-2.3"),
            (#"{"$round": [{"$numberDecimal": "1234.5"}, -2]}"#, "1.2E+3"),
            (#"{"$round": [{"$numberDecimal": "1.2345E+40"}, 0]}"#, "1.234500000000000000000000000000000E+40"),
            (#"{"$floor": {"$numberDecimal": "1E+40"}}"#, "NaN"),
            (#"{"$floor": {"$numberDecimal": "Infinity"}}"#, "NaN"),
            (#"{"$round": [{"$numberDecimal": "-Infinity"}, 1]}"#, "-Infinity"),
            (#"{"$toDecimal": 0.1}"#, "0.100000000000000"),
            (#"{"$toDecimal": {"$numberLong": "9007199254740993"}}"#, "9007199254740993"),
            (#"{"$toDecimal": "1.2345678901234567890123456789012345678"}"#, "1.234567890123456789012345678901235"),
            (#"{"$toDecimal": true}"#, "1"),
            (#"{"$toDecimal": {"$date": "1970-01-01T00:00:01Z"}}"#, "1000"),
        ]
        for (expr, want) in cases { XCTAssertEqual(dstr(try ev(expr)), want, expr) }
        XCTAssertEqual(try ev(#"{"$toInt": {"$numberDecimal": "-2.9"}}"#), .int32(-2))
        XCTAssertEqual(try ev(#"{"$toLong": {"$numberDecimal": "9007199254740993"}}"#), .int64(9007199254740993))
        XCTAssertEqual(try ev(#"{"$toDouble": {"$numberDecimal": "0.1"}}"#), .double(0.1))
        XCTAssertEqual(try ev(#"{"$toString": {"$numberDecimal": "1E+5"}}"#), .string("1E+5"))
        XCTAssertEqual(try ev(#"{"$toBool": {"$numberDecimal": "1E-400"}}"#), .bool(true))
        XCTAssertThrowsError(try ev(#"{"$toDouble": {"$numberDecimal": "1E+400"}}"#))
        XCTAssertThrowsError(try ev(#"{"$toInt": {"$numberDecimal": "3000000000"}}"#))
        XCTAssertThrowsError(try ev(#"{"$divide": [1, {"$numberDecimal": "0E+3"}]}"#))
        XCTAssertThrowsError(try ev(#"{"$sqrt": {"$numberDecimal": "-1"}}"#))
    }

    /// $exp $ln $log10 $log $pow on decimals (mongod's expression.cpp: decimal in, decimal out;
    /// $pow and $log decimal when either operand is; a decimal argument that is not > 0 falls
    /// through to the double code). Values from Python's decimal module (decimal128 context).
    func testTranscendentalOperators() throws {
        let cases: [(String, String)] = [
            (#"{"$exp": {"$numberDecimal": "1"}}"#, "2.718281828459045235360287471352662"),
            (#"{"$exp": {"$numberDecimal": "0"}}"#, "1"),
            (#"{"$exp": {"$numberDecimal": "-Infinity"}}"#, "0"),
            (#"{"$exp": {"$numberDecimal": "NaN"}}"#, "NaN"),
            (#"{"$exp": {"$numberDecimal": "20000"}}"#, "Infinity"),
            (#"{"$exp": {"$numberDecimal": "-20000"}}"#, "0E-6176"),
            (#"{"$ln": {"$numberDecimal": "10"}}"#, "2.302585092994045684017991454684364"),
            (#"{"$ln": {"$numberDecimal": "1.000"}}"#, "0"),
            (#"{"$ln": {"$numberDecimal": "Infinity"}}"#, "Infinity"),
            (#"{"$log10": {"$numberDecimal": "1000"}}"#, "3"),
            (#"{"$log10": {"$numberDecimal": "0.001"}}"#, "-3"),
            (#"{"$log10": {"$numberDecimal": "2"}}"#, "0.3010299956639811952137388947244930"),
            // $log is ln(x) / ln(b), each rounded: not log10 for a base of 10
            (#"{"$log": [{"$numberDecimal": "2"}, 10]}"#, "0.3010299956639811952137388947244931"),
            (#"{"$log": [{"$numberDecimal": "100"}, 10]}"#, "2"),
            (#"{"$log": [8, {"$numberDecimal": "2"}]}"#, "3.000000000000000000000000000000000"),
            // $pow: the 34-digit form (mongod adds 0E-6176 to bid128_pow's result)
            (#"{"$pow": [{"$numberDecimal": "2"}, 3]}"#, "8.000000000000000000000000000000000"),
            (#"{"$pow": [2, {"$numberDecimal": "0.5"}]}"#, "1.414213562373095048801688724209698"),
            (#"{"$pow": [{"$numberDecimal": "-2"}, 3]}"#, "-8.000000000000000000000000000000000"),
            (#"{"$pow": [10, {"$numberDecimal": "-2"}]}"#, "0.01000000000000000000000000000000000"),
            (#"{"$pow": [1.1, {"$numberDecimal": "2"}]}"#, "1.210000000000000000000000000000000"),  // 1.1 to 15 digits
            (#"{"$pow": [{"$numberDecimal": "-2"}, 0.5]}"#, "NaN"),
            (#"{"$pow": [{"$numberDecimal": "10"}, 7000]}"#, "Infinity"),
            (#"{"$pow": [{"$numberDecimal": "1E-6170"}, 2]}"#, "0E-6176"),
            (#"{"$pow": [{"$numberDecimal": "NaN"}, 0]}"#, "1.000000000000000000000000000000000"),  // IEEE pow(x, 0) = 1
        ]
        for (expr, want) in cases { XCTAssertEqual(dstr(try ev(expr)), want, expr) }
        // a decimal NaN argument of $ln/$log10/$log takes mongod's double path: a double NaN
        for expr in [#"{"$ln": {"$numberDecimal": "NaN"}}"#, #"{"$log10": {"$numberDecimal": "NaN"}}"#,
                     #"{"$log": [{"$numberDecimal": "NaN"}, 10]}"#, #"{"$log": [5, {"$numberDecimal": "NaN"}]}"#] {
            guard case .double(let x)? = try ev(expr) else { XCTFail(expr); continue }
            XCTAssertTrue(x.isNaN, expr)
        }
        XCTAssertEqual(try ev(#"{"$exp": 0}"#), .double(1))
        XCTAssertEqual(try ev(#"{"$pow": [null, {"$numberDecimal": "2"}]}"#), .null)
        let errors: [(String, String)] = [
            (#"{"$ln": {"$numberDecimal": "0"}}"#, "$ln's argument must be a positive number, but is 0"),
            (#"{"$ln": {"$numberDecimal": "-1E-400"}}"#, "$ln's argument must be a positive number, but is -0"),
            (#"{"$log10": {"$numberDecimal": "-Infinity"}}"#, "$log10's argument must be a positive number, but is -inf"),
            (#"{"$log": [{"$numberDecimal": "5"}, 1]}"#, "$log's base must be a positive number not equal to 1, but is 1"),
            // mongod's double checks after the decimal ones: 1E-400 is 0 as a double
            (#"{"$log": [{"$numberDecimal": "1E-400"}, {"$numberDecimal": "1"}]}"#, "$log's argument must be a positive number, but is 0"),
            (#"{"$pow": [{"$numberDecimal": "0"}, -1]}"#, "$pow cannot take a base of 0 and a negative exponent"),
            (#"{"$pow": [{"$numberDecimal": "-0"}, {"$numberDecimal": "-0"}]}"#, "$pow cannot take a base of 0 and a negative exponent"),  // isNegative: the sign bit
        ]
        for (expr, message) in errors {
            XCTAssertThrowsError(try ev(expr), expr) { XCTAssertEqual(($0 as? StrataError)?.message, message, expr) }
        }
    }

    func testExactComparisonAndEquality() throws {
        // 0.1 as a double is 0.1000000000000000055511151231257827...: above decimal 0.1
        XCTAssertEqual(BSONOrder.compare(d("0.1"), .double(0.1)), -1)
        XCTAssertEqual(BSONOrder.compare(d("0.1000000000000000055511151231257827021181583404541015625"), .double(0.1)), -1)  // rounded to 34 digits: below
        XCTAssertEqual(BSONOrder.compare(d("0.5"), .double(0.5)), 0)
        XCTAssertEqual(BSONOrder.compare(d("1.000000000000000000000000000000001"), .int32(1)), 1)
        XCTAssertEqual(BSONOrder.compare(d("9007199254740993"), .int64(9007199254740993)), 0)
        XCTAssertEqual(BSONOrder.compare(d("9007199254740993"), .double(9007199254740992)), 1)
        XCTAssertEqual(BSONOrder.compare(d("NaN"), .double(.nan)), 0)
        XCTAssertEqual(BSONOrder.compare(d("NaN"), d("-Infinity")), -1)
        XCTAssertEqual(BSONOrder.compare(d("-0E+5"), .int32(0)), 0)
        XCTAssertEqual(BSONOrder.compare(d("1E+400"), .double(.infinity)), -1)
        XCTAssertEqual(BSONOrder.compare(d("1.10"), d("1.1")), 0)
        // two decimals differing past the 16th digit are different (they were equal through Double)
        XCTAssertNotEqual(BSONOrder.compare(d("1.00000000000000000001"), d("1.00000000000000000002")), 0)
        // hashing agrees with equality
        let equal: [BSON] = [.int32(1), .int64(1), .double(1), d("1"), d("1.000"), d("1000E-3")]
        XCTAssertEqual(Set(equal.map { GroupKey($0) }).count, 1)
        XCTAssertEqual(Set([d("9007199254740993"), .int64(9007199254740993)].map { GroupKey($0) }).count, 1)
        XCTAssertEqual(Set([d("0.5"), .double(0.5), d("0.50")].map { GroupKey($0) }).count, 1)
        XCTAssertEqual(Set([d("0.1"), .double(0.1)].map { GroupKey($0) }).count, 2)
    }

    func testGroupSumAvgMinMaxInTheEvaluator() throws {
        let docs: [Document] = [
            ["k": d("1.0"), "v": d("0.10")], ["k": .int32(1), "v": d("0.20")], ["k": .double(1), "v": .int32(3)],
            ["k": d("2.00000000000000000001"), "v": d("1E+2")], ["k": d("2.00000000000000000002"), "v": .double(0.5)],
        ]
        let out = try run(#"[{"$group": {"_id": "$k", "s": {"$sum": "$v"}, "a": {"$avg": "$v"}, "mx": {"$max": "$v"}, "set": {"$addToSet": "$v"}}}, {"$sort": {"_id": 1}}]"#, docs)
        XCTAssertEqual(out.count, 3)
        XCTAssertEqual(dstr(out[0]["s"]), "3.30")  // 0E0 + 0.10 + 0.20, + Decimal128(3.0, 34 digits)
        XCTAssertEqual(dstr(out[0]["a"]), "1.10")  // 3.30 / 3
        XCTAssertEqual(out[0]["mx"], .int32(3))
        XCTAssertEqual(dstr(out[1]["s"]), "100")
        XCTAssertEqual(out[2]["s"], .double(0.5))
        let inOut = try run(#"[{"$match": {"$expr": {"$in": ["$k", [{"$numberDecimal": "1"}]]}}}]"#, docs)
        XCTAssertEqual(inOut.count, 3)
    }

    func testRemovableWindowSumAndAvg() throws {
        let docs: [Document] = [["_id": 1, "v": d("1.10")], ["_id": 2, "v": .int32(2)], ["_id": 3, "v": .double(0.5)]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"s": {"$sum": "$v", "window": {"documents": [-1, 0]}}, "a": {"$avg": "$v", "window": {"documents": [-1, 0]}}}}}]"#, docs)
        XCTAssertEqual(out.map { dstr($0["s"]) }.prefix(2), ["1.10", "3.10"])
        // the decimal left the window: mongod narrows the decimal total to a double
        XCTAssertEqual(out[2]["s"], .double(2.5))
        XCTAssertEqual(dstr(out[1]["a"]), "1.55")
        XCTAssertEqual(out[2]["a"], .double(1.25))
        // a date plus a decimal: rounded half to even (toLong raises no inexact flag)
        XCTAssertEqual(try ev(#"{"$add": [{"$date": "1970-01-01T00:00:00Z"}, {"$numberDecimal": "2.5"}]}"#), .date(2))
    }

    /// $expMovingAvg (mongod's AccumulatorExpMovingAvg: decimal arithmetic, a double result
    /// unless an input was a decimal). The first two cases are MongoDB's documentation
    /// examples (reference/operator/aggregation/expMovingAvg), whose printed outputs they match.
    func testExpMovingAvg() throws {
        let prices: [Document] = [("MDB", 18, 13.0), ("MDB", 19, 15.4), ("MDB", 20, 12.0), ("MDB", 21, 11.7),
                                   ("MSFT", 18, 82.0), ("MSFT", 19, 94.0), ("MSFT", 20, 112.0), ("MSFT", 21, 97.3)].enumerated().map { i, r in
            // the documentation's inserts: integral prices are shell numbers (doubles)
            ["_id": .int32(Int32(i)), "stock": .string(r.0), "date": .int32(Int32(r.1)), "price": .double(r.2)]
        }
        func ema(_ arg: String) throws -> [BSON?] {
            try run(#"[{"$setWindowFields": {"partitionBy": "$stock", "sortBy": {"date": 1}, "output": {"e": {"$expMovingAvg": \#(arg)}}}}, {"$sort": {"_id": 1}}]"#, prices).map { $0["e"] }
        }
        XCTAssertEqual(try ema(#"{"input": "$price", "N": 2}"#),
                       [13, 14.6, 12.866666666666667, 12.088888888888889, 82, 90, 104.66666666666667, 99.75555555555556].map { .double($0) })
        XCTAssertEqual(try ema(#"{"input": "$price", "alpha": 0.75}"#),
                       [13, 14.8, 12.7, 11.95, 82, 91, 106.75, 99.6625].map { .double($0) })
        // decimals: 1.5, then 2.25 × 0.3 + 1.5 × 0.7 = 1.725, then 4 × 0.3 + 1.725 × 0.7 = 2.4075;
        // non-numbers are skipped (null before the first number); an int before any decimal
        // gives a double
        let docs: [Document] = [["_id": 1, "v": "x"], ["_id": 2, "v": .null], ["_id": 3, "v": .int32(1)], ["_id": 4, "v": d("1.5")],
                                ["_id": 5, "v": d("2.25")], ["_id": 6], ["_id": 7, "v": d("4")]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"e": {"$expMovingAvg": {"input": "$v", "alpha": {"$numberDecimal": "0.3"}}}}}}]"#,
                          Array(docs[0...1] + docs[3...])).map { $0["e"] }
        XCTAssertEqual(Array(out[0...1]), [.null, .null])
        XCTAssertEqual(out[2...].map { dstr($0) }, ["1.5", "1.725", "1.725", "2.4075"])
        let mixed = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"e": {"$expMovingAvg": {"input": "$v", "N": 3}}}}}]"#, docs).map { $0["e"] }
        XCTAssertEqual(mixed[2], .double(1))
        // alpha = 2 / (3 + 1) = 0.5: 1.5 × 0.5 + 1 × 0.5
        XCTAssertEqual(dstr(mixed[3]), "1.25")
        let errors: [(String, String)] = [
            (#"{"sortBy": {"a": 1}, "output": {"e": {"$expMovingAvg": {"input": "$a", "N": 2}, "window": {"documents": [-1, 0]}}}}"#, "exactly one argument that is an object"),
            (#"{"sortBy": {"a": 1}, "output": {"e": {"$expMovingAvg": {"input": "$a"}}}}"#, "exactly two fields"),
            (#"{"output": {"e": {"$expMovingAvg": {"input": "$a", "N": 2}}}}"#, "requires an explicit 'sortBy'"),
            (#"{"sortBy": {"a": 1}, "output": {"e": {"$expMovingAvg": {"input": "$a", "N": 2.5}}}}"#, "use the 'alpha' argument instead"),
            (#"{"sortBy": {"a": 1}, "output": {"e": {"$expMovingAvg": {"input": "$a", "N": 0}}}}"#, "'N' must be greater than zero. Got 0"),
            (#"{"sortBy": {"a": 1}, "output": {"e": {"$expMovingAvg": {"input": "$a", "alpha": 1}}}}"#, "'alpha' must be between 0 and 1 (exclusive)"),
            (#"{"sortBy": {"a": 1}, "output": {"e": {"$expMovingAvg": {"input": "$a", "alpha": "x"}}}}"#, "'alpha' must be a number"),
            (#"{"sortBy": {"a": 1}, "output": {"e": {"$expMovingAvg": {"input": "$a", "M": 1}}}}"#, "Got unrecognized field"),
        ]
        for (spec, fragment) in errors {
            XCTAssertThrowsError(try run(#"[{"$setWindowFields": \#(spec)}]"#, [])) { e in
                XCTAssertEqual((e as? StrataError)?.kind, .badInput, spec)
                XCTAssertTrue((e as? StrataError)?.message.contains(fragment) == true, "\(e)")
            }
        }
    }

    /// `BSON.exactInt` of a decimal reads its coefficient and exponent, not its nearest double.
    func testExactIntOfDecimals() {
        let cases: [(String, Int64?)] = [
            ("9007199254740993", 9_007_199_254_740_993), ("9223372036854775807", .max), ("-9223372036854775808", .min),
            ("9223372036854775808", nil), ("-9223372036854775809", nil), ("1.0", 1), ("100E-2", 1), ("1.5", nil),
            ("1E+3", 1000), ("-0", 0), ("0E+6111", 0), ("0E-6176", 0), ("1E+19", nil), ("1E-6176", nil),
            ("9.999999999999999999999999999999999E+6144", nil), ("NaN", nil), ("Infinity", nil), ("-Infinity", nil),
            ("123456789012345678.0000000000000000", 123_456_789_012_345_678),
        ]
        for (text, want) in cases { XCTAssertEqual(d(text).exactInt, want, text) }
    }
}
