import Foundation
import StrataBSON
import StrataLibBSON

/// mongod's granularity rounders on decimal128 values (granularity_rounder_*.cpp, their
/// `NumberDecimal` branches): the preferred-number series converted with `Decimal128(double)`
/// (15 significant digits: 63 → 63.0000000000000) and scaled by a decimal multiplier (×10,
/// ÷10 from 1), so the results carry those cohorts; powers of two as `$pow(2, k)` with a
/// decimal exponent k = floor(log2 x) + 1 (up) or ceil(log2 x) − 1 (down), log2 x rounded to
/// a double first. The caller has checked the value (finite, not NaN, not negative) and
/// returned those whose double is 0 unchanged, as mongod.
extension GranularityRounder {
    func roundUpDecimal(_ number: Decimal128) throws -> BSON {
        switch self {
        case .preferred(let doubles):
            let series = doubles.map { Decimal128(roundingTo15: $0) }
            let ten = Decimal128(Int64(10))
            var multiplier = Decimal128(Int64(1))
            func ge(_ a: Decimal128, _ b: Decimal128) -> Bool { Decimal128.compare(a, b) >= 0 }
            func lt(_ a: Decimal128, _ b: Decimal128) -> Bool { Decimal128.compare(a, b) < 0 }
            while ge(number, series[series.count - 1] * multiplier) { multiplier = multiplier * ten }
            while lt(number, series[0] * multiplier) {
                let previousMin = series[0] * multiplier
                multiplier = multiplier / ten
                // between the previous min and the current max: rounds up to the previous min
                if ge(number, series[series.count - 1] * multiplier) { return .decimal128(previousMin) }
            }
            let s = series.first { lt(number, $0 * multiplier) }!
            return .decimal128(s * multiplier)
        case .powersOfTwo:
            let k = Int32(clamping: Int64((GranularityRounder.log2(number)).rounded(.down) + 1))
            return try EvalContext.pow(.int32(2), .decimal128(Decimal128(Int64(k)))) ?? .null
        }
    }

    func roundDownDecimal(_ number: Decimal128) throws -> BSON {
        switch self {
        case .preferred(let doubles):
            let series = doubles.map { Decimal128(roundingTo15: $0) }
            let ten = Decimal128(Int64(10))
            var multiplier = Decimal128(Int64(1))
            func le(_ a: Decimal128, _ b: Decimal128) -> Bool { Decimal128.compare(a, b) <= 0 }
            func gt(_ a: Decimal128, _ b: Decimal128) -> Bool { Decimal128.compare(a, b) > 0 }
            while le(number, series[0] * multiplier) { multiplier = multiplier / ten }
            while gt(number, series[series.count - 1] * multiplier) {
                let previousMax = series[series.count - 1] * multiplier
                multiplier = multiplier * ten
                // at or below the current min: rounds down to the previous max
                if le(number, series[0] * multiplier) { return .decimal128(previousMax) }
            }
            // the last series number strictly below the value
            let idx = series.firstIndex { !(Decimal128.compare($0 * multiplier, number) < 0) }!
            return .decimal128(series[idx - 1] * multiplier)
        case .powersOfTwo:
            let k = Int32(clamping: Int64((GranularityRounder.log2(number)).rounded(.up) - 1))
            return try EvalContext.pow(.int32(2), .decimal128(Decimal128(Int64(k)))) ?? .null
        }
    }

    /// log2 of a positive finite decimal as mongod uses it: `logarithm(Decimal128(2))`, then
    /// `toDouble()`. strata divides its correctly rounded ln's; Intel's bid128_log2 may differ
    /// in the last digits, which only matters within ~1e-33 of a double's rounding boundary.
    static func log2(_ x: Decimal128) -> Double {
        (x.ln() / Decimal128(Int64(2)).ln()).toDouble().0
    }
}
