import Foundation
import StrataBSON
@testable import StrataEvaluator
import StrataTestFixtures
import XCTest

/// Every case of Tests/Fixtures/decimal/decimal128-trigonometric.jsonl.gz (mpmath at 130+
/// digits, rounded once to decimal128 half to even; generate.py there) through strata's
/// Decimal128 trigonometric and hyperbolic functions, atan2 and mongod's decimal degree/radian
/// conversions: results compared as to-sci-strings (value and cohort).
final class Decimal128TrigonometricOracleTests: XCTestCase {
    static func loadCases() throws -> [[String]] {
        try GzippedJSONLines.rows("Tests/Fixtures/decimal/decimal128-trigonometric.jsonl.gz").map { $0.map { $0 as! String } }
    }

    func dec(_ s: String) -> Decimal128 {
        guard let d = Decimal128.parse(s) else { XCTFail("unparseable \(s)"); return .nan }
        return d
    }

    static let unary: [String: @Sendable (Decimal128) -> Decimal128] = [
        "sin": { $0.sin() }, "cos": { $0.cos() }, "tan": { $0.tan() },
        "asin": { $0.asin() }, "acos": { $0.acos() }, "atan": { $0.atan() },
        "sinh": { $0.sinh() }, "cosh": { $0.cosh() }, "tanh": { $0.tanh() },
        "asinh": { $0.asinh() }, "acosh": { $0.acosh() }, "atanh": { $0.atanh() },
        "degreesToRadians": { $0 * Decimal128.piOver180 }, "radiansToDegrees": { $0 * Decimal128.oneEightyOverPi },
    ]

    func testEveryFamilyAgainstMpmath() throws {
        let rows = try Self.loadCases()
        XCTAssertGreaterThanOrEqual(rows.count, 28_224)
        var counts: [String: Int] = [:], failures: [String: Int] = [:]
        for row in rows {
            let fam = row[0]
            counts[fam, default: 0] += 1
            let got: String
            if fam == "atan2" {
                got = Decimal128.atan2(dec(row[1]), dec(row[2])).mongoString
            } else if let f = Self.unary[fam] {
                got = f(dec(row[1])).mongoString
            } else {
                XCTFail("unknown family \(fam)"); continue
            }
            if got != row.last! {
                failures[fam, default: 0] += 1
                if failures[fam]! <= 5 { XCTFail("\(row): got \(got)") }
            }
        }
        for fam in ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "atan2"] {
            XCTAssertGreaterThanOrEqual(counts[fam, default: 0], 2_000, fam)
        }
        XCTAssertEqual(failures, [:])
    }
}
