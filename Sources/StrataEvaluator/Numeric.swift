import Foundation
import StrataBSON
import StrataLibBSON

/// The numeric types in MongoDB's promotion order: int32 < int64 < double < decimal128.
package enum NumericType: Int, Sendable, Comparable {
    case int32 = 0, int64, double, decimal

    package init?(_ v: BSON) {
        switch v {
        case .int32: self = .int32
        case .int64: self = .int64
        case .double: self = .double
        case .decimal128: self = .decimal
        default: return nil
        }
    }

    package static func < (a: NumericType, b: NumericType) -> Bool { a.rawValue < b.rawValue }

    /// The BSON type code (16, 18, 1, 19), as mongod's partial `$sum` uses.
    package var typeCode: Int32 {
        switch self {
        case .int32: return 16
        case .int64: return 18
        case .double: return 1
        case .decimal: return 19
        }
    }

    package init?(typeCode: Int) {
        switch typeCode {
        case 16: self = .int32
        case 18: self = .int64
        case 1: self = .double
        case 19: self = .decimal
        default: return nil
        }
    }
}

/// A compensated sum of doubles kept as an unevaluated pair (`sum` + `addend`), the same
/// algorithm as mongod's `DoubleDoubleSummation` (2Sum and Fast2Sum), so that sums of
/// integers stay exact up to ~2^106 and sums of doubles round like the server's.
package struct DoubleDoubleSum: Sendable, Equatable {
    package private(set) var sum: Double = 0
    package private(set) var addend: Double = 0
    /// A plain sum, used when the compensated one became NaN (infinities).
    package private(set) var special: Double = 0

    package init() {}
    package init(sum: Double, addend: Double) { self.sum = sum; self.addend = addend; self.special = sum }
    /// The exact state, as `Accumulator.partial()` carries it.
    package init(sum: Double, addend: Double, special: Double) { self.sum = sum; self.addend = addend; self.special = special }

    /// True when nothing was ever added (all three parts are +0, bit for bit).
    package var isInitial: Bool { sum.bitPattern == 0 && addend.bitPattern == 0 && special.bitPattern == 0 }

    /// Adds another compensated sum: its `sum` then its `addend` (as mongod merges partial
    /// sums), and its plain `special` sum to this one's.
    package mutating func add(_ other: DoubleDoubleSum) {
        let s = special + other.special
        addDouble(other.sum)
        addDouble(other.addend)
        special = s
    }

    @inline(__always)
    static func fast2Sum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b
        let z = s - a
        return (s, b - z)
    }

    @inline(__always)
    static func twoSum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b
        let aP = s - b
        let bP = s - aP
        return (s, (a - aP) + (b - bP))
    }

    package mutating func addDouble(_ x: Double) {
        special += x
        var x = x
        (x, addend) = DoubleDoubleSum.fast2Sum(x, addend)
        (sum, x) = DoubleDoubleSum.twoSum(sum, x)
        addend += x
    }

    package mutating func addLong(_ x: Int64) {
        let high = x / (1 << 32) * (1 << 32)
        let low = x - high
        addDouble(Double(low))
        addDouble(Double(high))
    }

    package mutating func addInt(_ x: Int32) { addDouble(Double(x)) }

    /// The double nearest the sum.
    package var double: Double { sum.isNaN ? special : sum }


    package var fitsLong: Bool {
        let maxD = 9.223372036854775808e18  // 2^63 == Double(Int64.max)
        if sum > -maxD && sum < maxD { return true }
        if sum == maxD { return addend < -0.5 }
        if sum == -maxD { return addend >= -0.5 }
        return false
    }

    /// The sum rounded to the nearest integer (half away from zero); requires `fitsLong`.
    package var long: Int64 {
        if sum == 9.223372036854775808e18 {
            return Int64(addend.rounded(.toNearestOrAwayFromZero)) &- Int64.min
        }
        var s = Int64(sum.rounded(.toNearestOrAwayFromZero))
        s &+= Int64(((sum - Double(s)) + addend).rounded(.toNearestOrAwayFromZero))
        return s
    }
}

/// Numeric helpers with MongoDB's promotion rules.
package enum Numeric {
    /// int32 when it fits, int64 otherwise (mongod's `Value::createIntOrLong`).
    @inlinable
    package static func intOrLong(_ v: Int64) -> BSON {
        if let i = Int32(exactly: v) { return .int32(i) }
        return .int64(v)
    }

    /// The widest numeric type of two numbers.
    @inlinable
    package static func widest(_ a: NumericType, _ b: NumericType) -> NumericType { max(a, b) }

    /// The value as Int64 the way mongod's `coerceToLong` does (doubles truncated toward zero,
    /// saturating at the Int64 bounds, NaN → Int64.min).
    package static func coerceToLong(_ v: BSON) -> Int64? {
        switch v {
        case .int32(let i): return Int64(i)
        case .int64(let i): return i
        case .double(let d): return doubleToLongSaturating(d)
        case .decimal128(let d): return d.toInt64(rounding: .toNearestOrEven) ?? Int64.min  // mongod's toLong()
        default: return nil
        }
    }

    package static func doubleToLongSaturating(_ d: Double) -> Int64 {
        if d.isNaN { return Int64.min }
        if d >= 9.223372036854775808e18 { return Int64.max }
        if d < -9.223372036854775808e18 { return Int64.min }
        return Int64(d.rounded(.towardZero))
    }

    /// mongod's `Value::integral()`: an int32, an int64, or a double/decimal with an integral
    /// value that fits in an int32.
    package static func isIntegral32(_ v: BSON) -> Bool {
        switch v {
        case .int32: return true
        case .int64(let i): return Int32(exactly: i) != nil
        case .double(let d): return d.isFinite && d.rounded(.towardZero) == d && d >= -2147483648 && d <= 2147483647
        case .decimal128(let x):
            guard let i = x.exactInt64 else { return false }
            return Int32(exactly: i) != nil
        default: return false
        }
    }

    /// mongod's `Value::integral64Bit()`.
    package static func isIntegral64(_ v: BSON) -> Bool {
        switch v {
        case .int32, .int64: return true
        case .double(let d): return d.isFinite && d.rounded(.towardZero) == d && d >= -9.223372036854775808e18 && d < 9.223372036854775808e18
        case .decimal128(let x): return x.exactInt64 != nil
        default: return false
        }
    }

    /// mongod's `coerceToDecimal`: ints and longs exactly, doubles rounded to 15 significant
    /// digits (`Decimal128(double)`, kRoundTo15Digits), decimals as they are.
    package static func coerceToDecimal(_ v: BSON) -> Decimal128? {
        switch v {
        case .int32(let i): return Decimal128(Int64(i))
        case .int64(let i): return Decimal128(i)
        case .double(let d): return Decimal128(roundingTo15: d)
        case .decimal128(let d): return d
        default: return nil
        }
    }
}

/// The state of a `$sum` (accumulator and expression), exactly like mongod's AccumulatorSum:
/// the widest input type, a compensated non-decimal total; int32 result when the widest type
/// is int32 and the total fits, int64 when it fits a long, double otherwise.
package struct SumState: Sendable, Equatable {
    package var widest: NumericType = .int32
    package var total = DoubleDoubleSum()
    /// mongod's `decimalTotal`: the decimal inputs added in order (starting from 0E0).
    package var decimalTotal = Decimal128.zero
    package init() {}

    /// Adds a value; non-numbers are ignored; decimals go to `decimalTotal`.
    /// `widening: false` leaves `widest` alone (a partial sum whose inputs' widest type
    /// is known separately: its own type may come from an overflow).
    package mutating func add(_ v: BSON?, widening: Bool = true) throws {
        guard let v else { return }
        switch v {
        case .int32(let i): total.addInt(i)
        case .int64(let i): if widening { widest = max(widest, .int64) }; total.addLong(i)
        case .double(let d): if widening { widest = max(widest, .double) }; total.addDouble(d)
        case .decimal128(let d): widest = .decimal; decimalTotal = decimalTotal + d
        default: return
        }
    }

    package var result: BSON {
        switch widest {
        case .int32:
            if total.fitsLong { return Numeric.intOrLong(total.long) }
            return .double(total.double)
        case .int64:
            if total.fitsLong { return .int64(total.long) }
            return .double(total.double)
        case .double:
            return .double(total.double)
        case .decimal:
            return .decimal128(decimalTotal + total.decimal)
        }
    }
}

extension DoubleDoubleSum {
    /// mongod's `DoubleDoubleSummation::getDecimal()`: sum and addend each converted with 34
    /// digits, then added.
    package var decimal: Decimal128 {
        if !sum.isFinite { return Decimal128(roundingTo34: special) }
        return Decimal128(roundingTo34: sum) + Decimal128(roundingTo34: addend)
    }
}
