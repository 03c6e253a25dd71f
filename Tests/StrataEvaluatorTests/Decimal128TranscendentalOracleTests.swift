import Foundation
import StrataBSON
@testable import StrataEvaluator
import StrataTestFixtures
import XCTest

/// Every case of Tests/Fixtures/decimal/decimal128-transcendental.jsonl.gz (Python's `decimal`
/// with the decimal128 context; generate.py there) through strata's Decimal128 exp, ln,
/// log10, mongod's `$log` (ln x / ln b) and mongod's `Decimal128::power` (IEEE pow, then
/// + 0E-6176): results compared as to-sci-strings (value and cohort).
final class Decimal128TranscendentalOracleTests: XCTestCase {
    static func loadCases() throws -> [[String]] {
        try GzippedJSONLines.rows("Tests/Fixtures/decimal/decimal128-transcendental.jsonl.gz").map { $0.map { $0 as! String } }
    }

    func dec(_ s: String) -> Decimal128 {
        guard let d = Decimal128.parse(s) else { XCTFail("unparseable \(s)"); return .nan }
        return d
    }

    func testEveryFamilyAgainstPythonDecimal() throws {
        let rows = try Self.loadCases()
        XCTAssertGreaterThanOrEqual(rows.count, 50_000)
        var counts: [String: Int] = [:], failures: [String: Int] = [:]
        for row in rows {
            let fam = row[0]
            counts[fam, default: 0] += 1
            let got: String
            switch fam {
            case "exp": got = dec(row[1]).exp().mongoString
            case "ln": got = dec(row[1]).ln().mongoString
            case "log10": got = dec(row[1]).log10().mongoString
            case "log": got = (dec(row[1]).ln() / dec(row[2]).ln()).mongoString
            case "pow": got = Decimal128.mongoPower(dec(row[1]), dec(row[2])).mongoString
            default: XCTFail("unknown family \(fam)"); continue
            }
            if got != row.last! {
                failures[fam, default: 0] += 1
                if failures[fam]! <= 8 { XCTFail("\(row): got \(got)") }
            }
        }
        for fam in ["exp", "ln", "log10", "log", "pow"] { XCTAssertGreaterThanOrEqual(counts[fam, default: 0], 10_000, fam) }
        XCTAssertEqual(failures, [:])
    }

    /// Cases where Python's 34-digit `power` misrounds (found by a 400,000-case run with other
    /// seeds): the exact rational results, rounded half to even, are what strata gives.
    func testPowersPythonMisrounds() {
        let cases: [(String, String, String)] = [
            ("-5.22", "39", "-9753255854372875090634448947.835755"),  // ...835755499927...
            ("1.000000000019", "-5E+3", "0.9999999050000045134023570184211329"),
            ("-0.000742508", "-5", "-4430924131053223.075774548129098282"),
            ("4.3195193013025E-63", "2.5", "1.226276900120361029538297890094062E-156"),  // an exact tie: ...0625
        ]
        for (x, y, want) in cases { XCTAssertEqual(Decimal128.mongoPower(dec(x), dec(y)).mongoString, want, "\(x) ^ \(y)") }
    }
}
