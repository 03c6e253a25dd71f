import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

/// Expression semantics checked against mongod's behaviour (as read from its source where
/// the test server, SecantusDB, differs; see DifferentialExprTests.secantusDivergences).
final class ExprEvalTests: XCTestCase {
    let doc = JD(#"{"i": 5, "d": 2.5, "s": "hello", "n": null, "arr": [{"x": 1}, {"x": 5}, {"y": 2}, 7, [{"x": 9}]], "a": [], "dt": {"$date": "2021-03-14T15:09:26.535Z"}, "o": {"x": {"deep": [1, {"z": 9}]}}, "big": 1e300, "ninf": {"$numberDouble": "-Infinity"}}"#)

    func e(_ s: String, file: StaticString = #filePath, line: UInt = #line) -> BSON? {
        do { return try ev(s, doc, file: file, line: line) } catch {
            XCTFail("\(s): \(error)", file: file, line: line)
            return nil
        }
    }

    func fails(_ s: String, _ fragment: String, kind: StrataError.Kind = .evaluation, line: UInt = #line) {
        XCTAssertThrowsError(try ev(s, doc), line: line) { err in
            XCTAssertEqual((err as? StrataError)?.kind, kind, "\(err)", line: line)
            XCTAssertTrue("\(err)".contains(fragment), "\(err)", line: line)
        }
    }

    func testFieldPathsTraverseArrays() {
        XCTAssertEqual(e(#""$arr.x""#), [1, 5])  // non-documents and nested arrays skipped
        XCTAssertEqual(e(#""$o.x.deep""#), [1, ["z": 9]])
        XCTAssertEqual(e(#""$o.x.deep.z""#), [9])
        XCTAssertEqual(e(#""$a.k""#), [])
        XCTAssertNil(e(#""$nope.x""#))
        XCTAssertNil(e(#""$$ROOT.nope""#))
        XCTAssertNil(e(#""$s.length""#))
    }

    func testArithmeticPromotion() {
        XCTAssertEqual(e(#"{"$add": [2147483647, 1]}"#), .int64(2_147_483_648))
        XCTAssertEqual(e(#"{"$add": [{"$numberLong": "9223372036854775807"}, 1]}"#), .double(9.223372036854775808e18))
        XCTAssertEqual(e(#"{"$add": [1, 2]}"#), .int32(3))
        XCTAssertEqual(e(#"{"$add": [2.5, 0.1, 0.2]}"#), .double(2.5 + 0.1 + 0.2))  // left to right, as mongod 7+
        XCTAssertEqual(e(#"{"$add": ["$dt", 1.6]}"#), .date(1_615_734_566_537))  // llround
        XCTAssertEqual(e(#"{"$add": [0.4, "$dt", 0.4]}"#), .date(1_615_734_566_535))  // each rounded
        XCTAssertEqual(e(#"{"$subtract": ["$dt", 1.5]}"#), .date(1_615_734_566_533))
        XCTAssertEqual(e(#"{"$subtract": ["$dt", "$dt"]}"#), .int64(0))
        XCTAssertEqual(e(#"{"$multiply": [65536, 65536]}"#), .int64(4_294_967_296))
        XCTAssertEqual(e(#"{"$multiply": [{"$numberLong": "4611686018427387904"}, 4]}"#), .double(1.8446744073709552e19))
        XCTAssertEqual(e(#"{"$divide": [1, 4]}"#), .double(0.25))
        XCTAssertEqual(e(#"{"$mod": [-7, 3]}"#), .int32(-1))
        XCTAssertEqual(e(#"{"$mod": [7, 2.5]}"#), .double(2))
        XCTAssertEqual(e(#"{"$mod": ["$ninf", 2]}"#)?.doubleValue?.isNaN, true)
        XCTAssertEqual(e(#"{"$pow": [1, -1]}"#), .int32(1))
        XCTAssertEqual(e(#"{"$pow": [2, -1]}"#), .double(0.5))
        XCTAssertEqual(e(#"{"$pow": [2, 62]}"#), .int64(4_611_686_018_427_387_904))
        XCTAssertEqual(e(#"{"$pow": [2, 63]}"#), .double(9.223372036854775808e18))
        XCTAssertEqual(e(#"{"$pow": ["$big", 2]}"#), .double(.infinity))
        XCTAssertEqual(e(#"{"$abs": -2147483648}"#), .int64(2_147_483_648))
        XCTAssertEqual(e(#"{"$add": [1, null]}"#), .null)
        fails(#"{"$divide": [1, 0]}"#, "can't $divide by zero")
        fails(#"{"$mod": [1, 0]}"#, "can't $mod by zero")
        fails(#"{"$add": ["$dt", "$dt"]}"#, "only one date allowed")
        fails(#"{"$add": ["$s", 1]}"#, "$add only supports numeric or date types, not string")
        fails(#"{"$abs": {"$numberLong": "-9223372036854775808"}}"#, "can't take $abs of long long min")
        fails(#"{"$sqrt": -1}"#, "greater than or equal to 0")
        XCTAssertEqual(e(#"{"$add": [{"$numberDecimal": "1"}, 1]}"#), .decimal128(Decimal128("2")!))
    }

    /// Decimal operands of the trigonometric operators: decimal results (expected values from
    /// mpmath, correctly rounded), mongod's bounds checks in decimal with the decimal string
    /// in the message, NaN through, `$atan2` promoting a double operand to 15 digits.
    func testDecimalTrigonometry() {
        func dec(_ s: String) -> BSON { .decimal128(Decimal128.parse(s)!) }
        let cases: [(String, String)] = [
            (#"{"$sin": {"$numberDecimal": "1"}}"#, "0.8414709848078965066525023216302990"),
            (#"{"$cos": {"$numberDecimal": "1"}}"#, "0.5403023058681397174009366074429766"),
            (#"{"$tan": {"$numberDecimal": "1"}}"#, "1.557407724654902230506974807458360"),
            (#"{"$sin": {"$numberDecimal": "1E+6144"}}"#, "0.9168078385445297016578219657016703"),
            (#"{"$cos": {"$numberDecimal": "1E+6144"}}"#, "0.3993286706252226496850307517433643"),
            (#"{"$asin": {"$numberDecimal": "0.5"}}"#, "0.5235987755982988730771072305465838"),
            (#"{"$acos": {"$numberDecimal": "-1"}}"#, "3.141592653589793238462643383279503"),
            (#"{"$atan": {"$numberDecimal": "1"}}"#, "0.7853981633974483096156608458198757"),
            (#"{"$sinh": {"$numberDecimal": "1"}}"#, "1.175201193643801456882381850595601"),
            (#"{"$cosh": {"$numberDecimal": "-1"}}"#, "1.543080634815243778477905620757062"),
            (#"{"$tanh": {"$numberDecimal": "0.5"}}"#, "0.4621171572600097585023184836436725"),
            (#"{"$asinh": {"$numberDecimal": "1"}}"#, "0.8813735870195430252326093249797923"),
            (#"{"$acosh": {"$numberDecimal": "2"}}"#, "1.316957896924816708625046347307968"),
            (#"{"$atanh": {"$numberDecimal": "0.5"}}"#, "0.5493061443340548456976226184612629"),
            (#"{"$atan2": [{"$numberDecimal": "1"}, {"$numberDecimal": "-1"}]}"#, "2.356194490192344928846982537459627"),
            (#"{"$atan2": [{"$numberDecimal": "1"}, 0.1]}"#, "1.471127674303734591852875571761731"),
            (#"{"$atan2": [1, {"$numberDecimal": "-0"}]}"#, "1.570796326794896619231321691639751"),
            (#"{"$degreesToRadians": {"$numberDecimal": "180"}}"#, "3.141592653589793238462643383279503"),
            (#"{"$radiansToDegrees": {"$numberDecimal": "3.141592653589793238462643383279503"}}"#, "180.0000000000000000000000000000000"),
            (#"{"$sin": {"$numberDecimal": "-0"}}"#, "-0"),
            (#"{"$cos": {"$numberDecimal": "0"}}"#, "1"),
            (#"{"$acosh": {"$numberDecimal": "1"}}"#, "0"),
            (#"{"$atanh": {"$numberDecimal": "-1"}}"#, "-Infinity"),
            (#"{"$sinh": {"$numberDecimal": "-Infinity"}}"#, "-Infinity"),
            (#"{"$asin": {"$numberDecimal": "NaN"}}"#, "NaN"),
            (#"{"$sin": {"$numberDecimal": "NaN"}}"#, "NaN"),
            (#"{"$atan": {"$numberDecimal": "NaN"}}"#, "NaN"),
        ]
        for (expr, want) in cases { XCTAssertEqual(e(expr), dec(want), expr) }
        XCTAssertEqual(e(#"{"$sin": 1}"#), .double(Foundation.sin(1.0)))  // ints stay double
        XCTAssertEqual(e(#"{"$atan2": [1, 2]}"#), .double(Foundation.atan2(1.0, 2.0)))
        XCTAssertEqual(e(#"{"$sin": null}"#), .null)
        fails(#"{"$sin": {"$numberDecimal": "Infinity"}}"#, "cannot apply $sin to Infinity, value must be in (-inf,inf)")
        fails(#"{"$tan": {"$numberDecimal": "-Infinity"}}"#, "cannot apply $tan to -Infinity, value must be in (-inf,inf)")
        fails(#"{"$asin": {"$numberDecimal": "1.000000000000000000000000000000001"}}"#,
              "cannot apply $asin to 1.000000000000000000000000000000001, value must be in [-1,1]")
        fails(#"{"$acos": {"$numberDecimal": "-1.5"}}"#, "cannot apply $acos to -1.5, value must be in [-1,1]")
        fails(#"{"$atanh": {"$numberDecimal": "2E+0"}}"#, "cannot apply $atanh to 2, value must be in [-1,1]")
        fails(#"{"$acosh": {"$numberDecimal": "0.99"}}"#, "cannot apply $acosh to 0.99, value must be in [1,inf]")
        fails(#"{"$sinh": "x"}"#, "$sinh supports only numeric types, not string")
        fails(#"{"$atan2": [{"$numberDecimal": "1"}, "x"]}"#, "$atan2 only supports numeric types")
    }

    func testRoundAndTrunc() {
        XCTAssertEqual(e(#"{"$round": [2.5, 0]}"#), .double(2))
        XCTAssertEqual(e(#"{"$round": [3.5, 0]}"#), .double(4))
        XCTAssertEqual(e(#"{"$round": [-2.5, 0]}"#)?.doubleValue, -2)
        XCTAssertEqual(e(#"{"$round": [1.005, 2]}"#), .double(1.0))  // 1.00499999999999989...
        XCTAssertEqual(e(#"{"$round": [0.125, 2]}"#), .double(0.12))
        XCTAssertEqual(e(#"{"$round": [1250, -2]}"#), .int32(1200))
        XCTAssertEqual(e(#"{"$round": [{"$numberLong": "1350"}, -2]}"#), .int64(1400))
        XCTAssertEqual(e(#"{"$round": ["$big", 0]}"#), .double(1e300))  // unchanged beyond 34 digits
        XCTAssertEqual(e(#"{"$round": [0.5, 100]}"#), .double(0.5))
        XCTAssertEqual(e(#"{"$trunc": [-1.99, 1]}"#), .double(-1.9))
        XCTAssertEqual(e(#"{"$trunc": [1234.5678, -2]}"#), .double(1200))
        XCTAssertEqual(e(#"{"$round": [2147483647, -1]}"#), .int64(2_147_483_650))
    }

    func testComparisonAndMissing() {
        XCTAssertEqual(e(#"{"$lt": ["$nope", null]}"#), true)  // missing < null in expressions
        XCTAssertEqual(e(#"{"$eq": ["$nope", null]}"#), false)
        XCTAssertEqual(e(#"{"$eq": [1, 1.0]}"#), true)
        XCTAssertEqual(e(#"{"$gt": ["a", 5]}"#), true)  // string > number (no type bracketing)
        XCTAssertEqual(e(#"{"$cmp": [[1, 2], [1]]}"#), .int32(1))
        XCTAssertEqual(e(#"{"$ifNull": ["$nope", "$n", "x"]}"#), "x")
        XCTAssertNil(e(#"{"$ifNull": ["$nope", "$nope2"]}"#))
        XCTAssertNil(e(#""$$REMOVE""#))
        XCTAssertEqual(e(#"["$nope", 1]"#), [.null, 1])
        XCTAssertEqual(e(#"{"a": "$nope", "b": 1}"#), ["b": 1])
        fails(#"{"$switch": {"branches": [{"case": false, "then": 1}]}}"#, "could not find a matching branch")
    }

    func testArraysAndSets() {
        XCTAssertNil(e(#"{"$first": "$a"}"#))
        XCTAssertNil(e(#"{"$arrayElemAt": [[1], 5]}"#))
        XCTAssertEqual(e(#"{"$zip": {"inputs": ["$nope", [1]]}}"#), .null)
        XCTAssertEqual(e(#"{"$setUnion": [[3, 1, 1.0], [2]]}"#), [1, 2, 3])  // ascending, deduplicated
        XCTAssertEqual(e(#"{"$setDifference": [[3, 1, 3], [2]]}"#), [3, 1])
        XCTAssertEqual(e(#"{"$sortArray": {"input": [{"x": [1, 2]}, {"x": {"y": 1}}], "sortBy": {"x": -1}}}"#),
                       [["x": ["y": 1]], ["x": [1, 2]]])  // sort keys: max element 2 < object
        XCTAssertEqual(e(#"{"$sortArray": {"input": [3, "a", null, 1], "sortBy": 1}}"#), [.null, 1, 3, "a"])
        XCTAssertEqual(e(#"{"$filter": {"input": [1, 2, 3, 4], "cond": {"$gt": ["$$this", 1]}, "limit": 2}}"#), [2, 3])
        XCTAssertEqual(e(#"{"$map": {"input": [1, 2], "in": "$$REMOVE"}}"#), [.null, .null])
        fails(#"{"$map": {"input": [1, 2], "in": "$$nope"}}"#, "undefined variable: nope")
        XCTAssertEqual(e(#"{"$reduce": {"input": [1, 2, 3], "initialValue": [], "in": {"$concatArrays": ["$$value", ["$$this"]]}}}"#), [1, 2, 3])
        XCTAssertEqual(e(#"{"$maxN": {"input": [3, null, 5, 1], "n": 2}}"#), [5, 3])
        XCTAssertEqual(e(#"{"$lastN": {"input": [3, null, 5, 1], "n": 2}}"#), [5, 1])
        XCTAssertEqual(e(#"{"$range": [0, 10, 4]}"#), [0, 4, 8])
        XCTAssertEqual(e(#"{"$arrayToObject": [[["a", 1], ["b", 2], ["a", 3]]]}"#), ["a": 3, "b": 2])
        fails(#"{"$size": "$nope"}"#, "must be an array, but was of type: missing")
        fails(#"{"$in": [1, null]}"#, "$in requires an array as a second argument, found: null")
    }

    func testStrings() {
        XCTAssertEqual(e(#"{"$toUpper": "héllo"}"#), "HéLLO")  // ASCII only
        XCTAssertEqual(e(#"{"$toLower": 3.14159265}"#), "3.14159")  // %g
        XCTAssertEqual(e(#"{"$toString": 3.14159265}"#), "3.14159265")
        XCTAssertEqual(e(#"{"$toString": 1e16}"#), "1e+16")
        XCTAssertEqual(e(#"{"$toString": 1e15}"#), "1000000000000000")
        XCTAssertEqual(e(#"{"$toString": 0.0001}"#), "0.0001")
        XCTAssertEqual(e(#"{"$toString": 0.00001}"#), "1e-05")
        XCTAssertEqual(e(#"{"$toString": -0.0}"#), "-0")
        XCTAssertEqual(e(#"{"$toString": 1.5e300}"#), "1.5e+300")
        XCTAssertEqual(e(#"{"$substrCP": ["日本語", 1, 1]}"#), "本")
        XCTAssertEqual(e(#"{"$strLenBytes": "日本"}"#), .int32(6))
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "héllo wörld", "regex": "\\w+"}}"#)?.arrayValue?.count, 4)  // ASCII \w
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "ab", "regex": "x*"}}"#)?.arrayValue?.count, 2)
        XCTAssertEqual(e(#"{"$regexFind": {"input": "abc", "regex": "(x)?(b)"}}"#), ["match": "b", "idx": .int32(1), "captures": [.null, "b"]])
        XCTAssertEqual(e(#"{"$split": ["a,,b", ","]}"#), ["a", "", "b"])
        XCTAssertEqual(e(#"{"$trim": {"input": "\u00a0 x \t"}}"#), "x")
        XCTAssertEqual(e(#"{"$indexOfCP": ["日本語", "語"]}"#), .int32(2))
        XCTAssertEqual(e(#"{"$indexOfBytes": ["日本語", "語"]}"#), .int32(6))
        fails(#"{"$concat": ["a", 1]}"#, "$concat only supports strings, not int")
        fails(#"{"$substrBytes": ["日本", 1, 1]}"#, "continuation byte")
    }

    func testObjectsAndTypes() {
        XCTAssertEqual(e(#"{"$unsetField": {"field": "x", "input": {"x": 1, "y": 2}}}"#), ["y": 2])
        XCTAssertEqual(e(#"{"$setField": {"field": "a.b", "input": {"x": 1}, "value": 2}}"#), ["x": 1, "a.b": 2])
        XCTAssertEqual(e(#"{"$mergeObjects": [{"a": 1, "b": 1}, null, {"a": 2, "c": 3}]}"#), ["a": 2, "b": 1, "c": 3])
        XCTAssertEqual(e(#"{"$type": "$nope"}"#), "missing")
        XCTAssertEqual(e(#"{"$toInt": "12"}"#), .int32(12))
        XCTAssertEqual(e(#"{"$toInt": 2.9}"#), .int32(2))
        XCTAssertEqual(e(#"{"$toBool": "false"}"#), true)
        XCTAssertEqual(e(#"{"$toDate": "2021-03-14T10:00:00Z"}"#), .date(1_615_716_000_000))
        XCTAssertEqual(e(#"{"$convert": {"input": "x1", "to": "int", "onError": -1}}"#), .int32(-1))
        XCTAssertEqual(e(#"{"$convert": {"input": "$nope", "to": "int", "onNull": -2}}"#), .int32(-2))
        fails(#"{"$toInt": "1.5"}"#, "Failed to parse number")
        fails(#"{"$toDate": 5}"#, "Unsupported conversion from int to date")
    }

    func testDates() {
        XCTAssertEqual(e(#"{"$isoWeekYear": "$dt"}"#), .int64(2021))
        XCTAssertEqual(e(#"{"$dateToString": {"date": "$nope", "onNull": "none"}}"#), "none")
        XCTAssertEqual(e(#"{"$dateToString": {"date": "$dt", "format": "%Y-%m-%d %H:%M:%S.%L %z %Z", "timezone": "Asia/Kolkata"}}"#),
                       "2021-03-14 20:39:26.535 +0530 330")
        XCTAssertEqual(e(#"{"$hour": {"date": "$dt", "timezone": "America/New_York"}}"#), .int32(11))  // DST began that morning
        XCTAssertEqual(e(#"{"$week": {"$dateFromParts": {"year": 2021, "month": 1, "day": 2}}}"#), .int32(0))
        XCTAssertEqual(e(#"{"$week": {"$dateFromParts": {"year": 2021, "month": 1, "day": 3}}}"#), .int32(1))
        XCTAssertEqual(e(#"{"$isoWeek": {"$dateFromParts": {"year": 2021, "month": 1, "day": 3}}}"#), .int32(53))
        XCTAssertEqual(e(#"{"$dateAdd": {"startDate": {"$dateFromParts": {"year": 2021, "month": 1, "day": 31}}, "unit": "month", "amount": 1}}"#),
                       e(#"{"$dateFromParts": {"year": 2021, "month": 2, "day": 28}}"#))
        XCTAssertEqual(e(#"{"$dateDiff": {"startDate": {"$dateFromParts": {"year": 2021, "month": 12, "day": 31}}, "endDate": {"$dateFromParts": {"year": 2022, "month": 1, "day": 1}}, "unit": "year"}}"#), .int64(1))
        XCTAssertEqual(e(#"{"$dateTrunc": {"date": "$dt", "unit": "week", "startOfWeek": "monday"}}"#),
                       e(#"{"$dateFromParts": {"year": 2021, "month": 3, "day": 8}}"#))
        XCTAssertEqual(e(#"{"$dateFromString": {"dateString": "14/03/2021 10:20", "format": "%d/%m/%Y %H:%M"}}"#), .date(1_615_717_200_000))
        fails(#"{"$dateToString": {"date": "$dt", "format": "%Q"}}"#, "Invalid format character '%Q'")
        fails(#"{"$year": {"date": "$dt", "timezone": "Mars/Olympus"}}"#, "unrecognized time zone identifier")
        fails(#"{"$dateFromString": {"dateString": "March 3, 2020"}}"#, "ISO 8601", kind: .unsupported)
    }

    /// Wall-clock times around DST transitions resolve as mongod's timelib does: a time in
    /// the spring-forward gap is read with the offset before it, a time that occurs twice
    /// is its first occurrence.
    func testLocalTimesAroundTransitions() {
        XCTAssertEqual(e(#"{"$dateFromParts": {"year": 2025, "month": 3, "day": 30, "hour": 2, "minute": 30, "timezone": "Europe/Paris"}}"#),
                       .date(1_743_298_200_000))  // 01:30Z, 03:30 CEST
        XCTAssertEqual(e(#"{"$dateFromParts": {"year": 2024, "month": 10, "day": 27, "hour": 2, "minute": 30, "timezone": "Europe/Paris"}}"#),
                       .date(1_729_989_000_000))  // 00:30Z, the CEST occurrence
        XCTAssertEqual(e(#"{"$dateFromParts": {"year": 2024, "month": 10, "day": 27, "hour": 3, "minute": 30, "timezone": "Europe/Paris"}}"#),
                       .date(1_729_996_200_000))  // 02:30Z, after the overlap
        XCTAssertEqual(e(#"{"$hour": {"date": {"$dateFromParts": {"year": 2025, "month": 3, "day": 30, "hour": 2, "minute": 30, "timezone": "Europe/Paris"}}, "timezone": "Europe/Paris"}}"#),
                       .int32(3))
    }

    func testVariables() throws {
        let expr = try Expr.parse(J(#"{"$add": ["$$x", 1]}"#))
        XCTAssertEqual(try Evaluator().evaluate(expr, [:], Variables(["x": 41])), .int32(42))
        XCTAssertThrowsError(try Evaluator().evaluate(expr, [:], Variables())) { XCTAssertTrue("\($0)".contains("undefined variable")) }
        let now = try Expr.parse(J(#""$$NOW""#))
        XCTAssertEqual(try Evaluator().evaluate(now, [:], Variables(now: 1234)), .date(1234))
        fails(#"{"$let": {"vars": {"a": 1, "b": {"$add": ["$$a", 1]}}, "in": "$$b"}}"#, "undefined variable: a")  // outer scope only
    }
}

/// A string outside the double range is not a number to mongod (strtod's ERANGE): the
/// conversion fails, so `onError` applies (MongoDB's `$convert` page, "5e550").
final class ConvertRangeTests: XCTestCase {
    func testOutOfRangeStringsAreRejected() throws {
        for s in ["5e550", "-5e550", "1e-400", "2e-310"] {
            XCTAssertThrowsError(try Evaluator.evaluate(try Expr.parse(["$toDouble": .string(s)]), [:]), s) { e in
                XCTAssertTrue("\(e)".contains("Out of range"), "\(s): \(e)")
            }
            let withOnError: BSON = ["$convert": ["input": .string(s), "to": "double", "onError": "no"]]
            XCTAssertEqual(try Evaluator.evaluate(try Expr.parse(withOnError), [:]), "no", s)
        }
        XCTAssertEqual(try Evaluator.evaluate(try Expr.parse(["$toDouble": "1.7e308"]), [:]), .double(1.7e308))
        XCTAssertEqual(try Evaluator.evaluate(try Expr.parse(["$toDouble": "2.3e-308"]), [:]), .double(2.3e-308))
        XCTAssertEqual(try Evaluator.evaluate(try Expr.parse(["$toDouble": "0e-999"]), [:]), .double(0))
    }
}
