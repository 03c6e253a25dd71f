import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures

@testable import StrataEvaluator
import XCTest

/// Decimal128 in the window functions, range windows, `$densify` and `$bucketAuto`
/// granularity, as mongod computes them (window_function_integral.cpp,
/// window_function_covariance.cpp, partition_iterator.cpp's decimalAdd,
/// document_source_densify.cpp, granularity_rounder_*.cpp). The expected values are worked
/// by hand and their decimal arithmetic (cohorts included) checked with Python's `decimal`
/// module in decimal128's context; none was run against mongod.
final class DecimalWindowTests: XCTestCase {
    func d(_ s: String) -> BSON { .decimal128(Decimal128.parse(s)!) }
    func dstr(_ v: BSON?) -> String {
        guard case .decimal128(let x)? = v else { return "not a decimal: \(String(describing: v))" }
        return x.description
    }
    /// `_id.min` / `_id.max` of a `$bucketAuto` output document.
    func bound(_ doc: Document?, _ key: String) -> BSON? { doc?.value(atPath: ["_id", key]) }
    func run(_ pipeline: String, _ docs: [Document]) throws -> [Document] {
        try PipelineExecutor(try Pipeline.parse(J(pipeline).arrayValue ?? [])).run(docs)
    }

    /// Trapezoids by `$subtract`/`$add`/`$multiply`/`$divide` (÷ the double 2.0, which a
    /// decimal division reads as 2.00000000000000), summed by a removable `$sum`.
    func testIntegralOverDecimals() throws {
        let docs: [Document] = [["x": 0, "y": d("1.1")], ["x": 1, "y": d("2.2")], ["x": 3, "y": d("0.5")]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"all": {"$integral": {"input": "$y"}}, "run": {"$integral": {"input": "$y"}, "window": {"documents": ["unbounded", "current"]}}, "sl": {"$integral": {"input": "$y"}, "window": {"documents": [-1, 0]}}}}}]"#, docs)
        // (1.1 + 2.2) × 1 / 2 = 1.65; (2.2 + 0.5) × 2 / 2 = 2.7
        XCTAssertEqual(out.map { dstr($0["all"]) }, ["4.35", "4.35", "4.35"])
        XCTAssertEqual(out[0]["run"], .int32(0))  // one point: an empty sum
        XCTAssertEqual(out[1...].map { dstr($0["run"]) }, ["1.65", "4.35"])
        // the sliding window removes 1.65 from 4.35: the decimal sum keeps its cohort
        XCTAssertEqual(out[0]["sl"], .int32(0))
        XCTAssertEqual(out[1...].map { dstr($0["sl"]) }, ["1.65", "2.70"])
        // dates with an outputUnit: (1 + 3) × 1000 ms / 2 = 2E+3, ÷ 1000 = 2
        let dates: [Document] = [["t": .date(0), "y": d("1")], ["t": .date(1000), "y": d("3")]]
        let byDate = try run(#"[{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"i": {"$integral": {"input": "$y", "unit": "second"}}}}}]"#, dates)
        XCTAssertEqual(byDate.map { dstr($0["i"]) }, ["2", "2"])
        // a decimal NaN counts as a NaN point: the result is the double NaN, as for doubles
        let nan = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"i": {"$integral": {"input": "$y"}}}}}]"#,
                          docs + [["x": 4, "y": d("NaN")]])
        for o in nan { XCTAssertTrue(o["i"]?.doubleValue?.isNaN == true, "\(String(describing: o["i"]))") }
    }

    /// Welford's co-moments in decimal (means by removable `$avg`), the sum divided in
    /// decimal by the count.
    func testCovarianceOverDecimals() throws {
        let docs: [Document] = [["_id": 1, "x": d("1"), "y": d("2")], ["_id": 2, "x": d("2"), "y": d("3")], ["_id": 3, "x": d("4"), "y": d("7")]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"p": {"$covariancePop": ["$x", "$y"]}, "s": {"$covarianceSamp": ["$x", "$y"]}, "rp": {"$covariancePop": ["$x", "$y"], "window": {"documents": [-1, 0]}}}}}]"#, docs)
        // co-moments 1 × 0.5 + 2.5 × 3 = 8.0; the exact covariances are 8/3 and 4
        XCTAssertEqual(out.map { dstr($0["p"]) }, Array(repeating: "2.666666666666666666666666666666667", count: 3))
        XCTAssertEqual(out.map { dstr($0["s"]) }, Array(repeating: "4.0", count: 3))
        // one pair: 0.0 (a double); (1,2),(2,3): 0.5 / 2; then (4,7) is added (8.0) and
        // (1,2) removed: mean x 3, mean y 4, (1 − 3) × (2 − 4) = 4; 8.0 − 4 = 4.0, ÷ 2
        XCTAssertEqual(out[0]["rp"], .double(0))
        XCTAssertEqual(dstr(out[1]["rp"]), "0.25")
        XCTAssertEqual(dstr(out[2]["rp"]), "2.0")
        // a non-finite pair with a decimal in it goes into the sum as a decimal infinity / NaN
        let inf = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"p": {"$covariancePop": ["$x", "$y"]}}}}]"#,
                          [["_id": 1, "x": 1, "y": 1], ["_id": 2, "x": 2, "y": 3], ["_id": 3, "x": d("Infinity"), "y": 2]])
        XCTAssertEqual(inf.map { dstr($0["p"]) }, Array(repeating: "Infinity", count: 3))
        let nan = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"p": {"$covariancePop": ["$x", "$y"]}}}}]"#,
                          [["_id": 1, "x": 1, "y": 1], ["_id": 2, "x": 2, "y": 3], ["_id": 3, "x": d("-Infinity"), "y": .double(.infinity)]])
        XCTAssertEqual(nan.map { dstr($0["p"]) }, Array(repeating: "NaN", count: 3))
        // a decimal far beyond the double range is finite for mongod (Value::isInfinite)
        let big = try run(#"[{"$setWindowFields": {"sortBy": {"_id": 1}, "output": {"p": {"$covarianceSamp": ["$x", "$y"]}}}}]"#,
                          [["_id": 1, "x": d("1E+400"), "y": 1], ["_id": 2, "x": d("3E+400"), "y": 3]])
        // mean 2E+400 after two; co-moment (3E+400 − 1E+400) × (3 − 2) = 2E+400, ÷ 1
        XCTAssertEqual(Decimal128.compare(Decimal128.parse(dstr(big[1]["p"]))!, Decimal128.parse("2E+400")!), 0)
    }

    /// Range windows: the bounds are `base + delta` added in decimal128 (34 digits, ties to
    /// even) and compared exactly with the sortBy values; decimal bounds and sortBy values.
    func testRangeWindowsWithDecimals() throws {
        // sorted: 0.1, 0.3 (decimal), 0.30000000000000004 (double), 1.0
        let docs: [Document] = [["x": d("0.1")], ["x": 0.30000000000000004], ["x": d("0.3")], ["x": d("1.0")]]
        let out = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"range": [0, {"$numberDecimal": "0.2"}]}}}}}]"#, docs)
        // the double's own window starts at its 15-digit decimal 0.300000000000000, which the
        // decimal 0.3 (sorted before it) equals
        XCTAssertEqual(out.map { $0["n"] }, [2, 2, 2, 1])
        // 1 + 9.6E-34 rounds to 1.000000000000000000000000000000001, which the second value
        // equals: decimal128's rounding, not the exact sum, decides the window
        let tight = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"range": ["current", {"$numberDecimal": "9.6E-34"}]}}}}}]"#,
                            [["x": d("1")], ["x": d("1.000000000000000000000000000000001")], ["x": d("1.000000000000000000000000000000003")]])
        XCTAssertEqual(tight.map { $0["n"] }, [2, 1, 1])
        // decimal bounds over ints; a negative decimal lower bound
        let ints = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"s": {"$sum": "$x", "window": {"range": [{"$numberDecimal": "-1.5"}, 0]}}}}}]"#,
                           [1, 2, 3, 4].map { ["x": .int32($0)] })
        XCTAssertEqual(ints.map { $0["s"] }, [1, 3, 5, 7])
        // $derivative over a decimal sortBy
        let der = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"r": {"$derivative": {"input": "$y"}, "window": {"range": [-2, 0]}}}}}]"#,
                          [["x": d("1"), "y": d("2")], ["x": d("3"), "y": d("7")]])
        XCTAssertEqual(der[0]["r"], .null)
        XCTAssertEqual(dstr(der[1]["r"]), "2.5")
        // bounds still checked in order, decimals included
        XCTAssertThrowsError(try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"range": [{"$numberDecimal": "0.5"}, {"$numberDecimal": "0.25"}]}}}}}]"#, docs)) {
            XCTAssertEqual(($0 as? StrataError)?.kind, .badInput)
        }
        // integral decimal document bounds are integers
        let byDocs = try run(#"[{"$setWindowFields": {"sortBy": {"x": 1}, "output": {"n": {"$sum": 1, "window": {"documents": [{"$numberDecimal": "-1"}, {"$numberDecimal": "0"}]}}}}}]"#, docs)
        XCTAssertEqual(byDocs.map { $0["n"] }, [1, 2, 2, 2])
    }

    /// `$densify` with a decimal step: the grid is built by `$add` in decimal, the step
    /// check by `$subtract` and `$mod` (remainder read as a double).
    func testDensifyWithDecimals() throws {
        let full = try run(#"[{"$densify": {"field": "v", "range": {"step": {"$numberDecimal": "0.25"}, "bounds": "full"}}}]"#,
                           [["v": d("0")], ["v": d("1")]])
        XCTAssertEqual(full.map { dstr($0["v"]) }, ["0", "0.25", "0.50", "0.75", "1"])
        // explicit decimal bounds (all three the same type), a document off the grid; mongod
        // starts from (lower − step) + step (processFirstDocForExplicitRange), hence 0.0
        let explicit = try run(#"[{"$densify": {"field": "v", "range": {"step": {"$numberDecimal": "0.5"}, "bounds": [{"$numberDecimal": "0"}, {"$numberDecimal": "2"}]}}}]"#,
                               [["v": d("0.7")], ["v": d("1.0")]])
        XCTAssertEqual(explicit.map { dstr($0["v"]) }, ["0.0", "0.5", "0.7", "1.0", "1.5"])
        // an int step over decimal values: the grid is decimal (0.5 + 1)
        let mixed = try run(#"[{"$densify": {"field": "v", "range": {"step": 1, "bounds": "full"}}}]"#, [["v": d("0.5")], ["v": d("2.5")]])
        XCTAssertEqual(mixed.map { dstr($0["v"]) }, ["0.5", "1.5", "2.5"])
        // the same pipeline on doubles gives the same grid
        let doubles = try run(#"[{"$densify": {"field": "v", "range": {"step": 0.5, "bounds": [0.0, 2.0]}}}]"#, [["v": 0.7], ["v": 1.0]])
        XCTAssertEqual(doubles.map { $0["v"] }, [0.0, 0.5, 0.7, 1.0, 1.5])
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": {"$numberDecimal": "0.5"}, "bounds": [0, 2]}}}]"#, [])) {
            XCTAssertTrue("\($0)".contains("same type"))
        }
        XCTAssertThrowsError(try run(#"[{"$densify": {"field": "v", "range": {"step": {"$numberDecimal": "-0.5"}, "bounds": "full"}}}]"#, [])) {
            XCTAssertTrue("\($0)".contains("strictly positive"))
        }
    }

    /// Granularity on decimals: the preferred series as 15-digit decimals scaled by a decimal
    /// multiplier, powers of two as `$pow(2, decimal k)`.
    func testBucketAutoGranularityOnDecimals() throws {
        let docs: [Document] = ["1", "2", "3", "5", "7", "9", "12", "20", "33"].map { ["v": d($0)] }
        let r5 = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R5"}}]"#, docs)
        // the doubles give [0.63, 10], [10, 40] (StageTests); decimals carry the cohorts
        XCTAssertEqual(r5.map { dstr(bound($0, "min")) }, ["0.630000000000000", "10.0000000000000"])
        XCTAssertEqual(r5.map { dstr(bound($0, "max")) }, ["10.0000000000000", "40.0000000000000"])
        let r = try XCTUnwrap(GranularityRounder("R5")), e6 = try XCTUnwrap(GranularityRounder("E6"))
        XCTAssertEqual(dstr(try r.roundUp(d("50"))), "63.0000000000000")
        XCTAssertEqual(dstr(try r.roundDown(d("50"))), "40.0000000000000")
        XCTAssertEqual(dstr(try r.roundUp(d("63"))), "100.0000000000000")
        XCTAssertEqual(dstr(try r.roundUp(d("0.5"))), "0.630000000000000")
        XCTAssertEqual(dstr(try r.roundDown(d("0.8"))), "0.630000000000000")  // previous max
        XCTAssertEqual(dstr(try r.roundUp(d("1234.5"))), "1600.0000000000000")
        XCTAssertEqual(dstr(try r.roundDown(d("10"))), "6.30000000000000")
        // beyond 10^34 the multiplier keeps 34 digits (1.000…000E+399), and so does the result
        XCTAssertEqual(dstr(try r.roundUp(d("1E+400"))), "1.600000000000000000000000000000000E+400")
        XCTAssertEqual(dstr(try r.roundDown(d("1E+400"))), "6.300000000000000000000000000000000E+399")
        XCTAssertEqual(dstr(try e6.roundUp(d("0.8"))), "1.00000000000000")  // previous min
        XCTAssertEqual(dstr(try e6.roundDown(d("7"))), "6.80000000000000")
        // powers of two: 5 → 8 and 4; 4 → 8 and 2 (log2 4 is 2 exactly)
        let p2 = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 1, "granularity": "POWERSOF2"}}]"#, [["v": d("5")], ["v": d("4")]])
        XCTAssertEqual(Decimal128.compare(Decimal128.parse(dstr(bound(p2.first, "min")))!, Decimal128.parse("2")!), 0)
        XCTAssertEqual(Decimal128.compare(Decimal128.parse(dstr(bound(p2.first, "max")))!, Decimal128.parse("8")!), 0)
        // zero (and what converts to the double 0) is returned as it is; negatives fail
        let zero = try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 1, "granularity": "R5"}}]"#, [["v": d("0.00")], ["v": d("1E-400")]])
        XCTAssertEqual(dstr(bound(zero.first, "min")), "0.00")
        XCTAssertEqual(dstr(bound(zero.first, "max")), "1E-400")
        XCTAssertThrowsError(try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 1, "granularity": "R5"}}]"#, [["v": d("-1")]])) {
            XCTAssertTrue("\($0)".contains("non-negative"))
        }
        XCTAssertThrowsError(try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 1, "granularity": "R5"}}]"#, [["v": d("NaN")]])) {
            XCTAssertTrue("\($0)".contains("NaN"))
        }
        // an infinity never leaves mongod's preferred-number rounder, and its powers of two
        // convert an infinite log2 to int: refused, decimal or double
        for g in ["R5", "POWERSOF2"] {
            for v in [d("Infinity"), .double(.infinity)] {
                XCTAssertThrowsError(try run(#"[{"$bucketAuto": {"groupBy": "$v", "buckets": 1, "granularity": "\#(g)"}}]"#, [["v": v]])) {
                    XCTAssertEqual(($0 as? StrataError)?.kind, .unsupported)
                }
            }
        }
    }
}
