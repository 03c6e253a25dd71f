@testable import StrataEvaluator
import StrataTestFixtures
import XCTest

/// BigNatural (the exact integers under decimal128's transcendental functions): division
/// checked by its defining identities on operands rich in 0 and 2^64 − 1 limbs, where Knuth's
/// quotient estimate needs its corrections.
final class BigNaturalTests: XCTestCase {
    func make(_ limbs: [UInt64]) -> BigNatural {
        limbs.enumerated().reduce(BigNatural.zero) { $0 + BigNatural($1.element).shiftedLeft(64 * $1.offset) }
    }

    func testDivisionIdentities() {
        var rng = SplitMix64(state: 11)
        let special: [UInt64] = [0, 1, .max, .max - 1, 1 << 63, (1 << 63) - 1]
        for _ in 0..<20_000 {
            func operand(_ n: Int) -> BigNatural {
                make((0..<n).map { _ in rng.chance(0.6) ? rng.pick(special) : rng.next() })
            }
            let a = operand(1 + rng.int(8)), b = operand(1 + rng.int(5))
            guard !b.isZero else { continue }
            let (q, r) = a.quotientAndRemainder(dividingBy: b)
            XCTAssertTrue(r < b)
            XCTAssertEqual(q * b + r, a)
            let (q2, r2) = (a * b).quotientAndRemainder(dividingBy: b)
            XCTAssertEqual(q2, a)
            XCTAssertTrue(r2.isZero)
            if !a.isZero {
                let d = a.decimalDigitCount
                XCTAssertFalse(a < BigNatural.pow10(d - 1))
                XCTAssertTrue(a < BigNatural.pow10(d))
            }
        }
    }

    func testSmallOperations() {
        let a = BigNatural.pow10(40)
        XCTAssertEqual(a.dividedByPow10(40).0, .one)
        XCTAssertEqual(a.dividedByPow10(41).1, true)
        XCTAssertEqual(BigNatural(UInt64(3)).power(4), BigNatural(UInt64(81)))
        XCTAssertEqual(a.shiftedLeft(130).shiftedRight(130), a)
        XCTAssertEqual((a - .one).decimalDigitCount, 40)
        // Hacker's Delight's add-back cases (divmnu), with 64-bit limbs
        for (u, v) in [([0, 1 << 63, (1 << 63) - 1], [1, 1 << 63]), ([3, 0, 1 << 63, 0], [1, 0, 1 << 61])] as [([UInt64], [UInt64])] {
            let x = make(u), y = make(v)
            let (q, r) = x.quotientAndRemainder(dividingBy: y)
            XCTAssertTrue(r < y)
            XCTAssertEqual(q * y + r, x)
        }
    }
}
