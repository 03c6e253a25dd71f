import Foundation
import StrataBSON
import StrataLibBSON

/// exp, ln, log10 and pow on decimal128, correctly rounded (half to even) to 34 digits.
///
/// mongod calls Intel's bid128_exp/log/log10/pow (exp10/exp2 for a base of 10 or 2). strata
/// computes each function in binary fixed point on `BigNatural` (argument reduction by ln 10 or
/// powers of two, then a Taylor or atanh series) with a few dozen guard bits, turns the
/// approximation A and its error bound E into decimal, and rounds A − E and A + E: when both
/// round to the same decimal128, that is the correctly rounded result; otherwise the work is
/// repeated with more digits (Ziv's strategy). Exact results are special-cased the way
/// Python's `decimal` module does (exp(0) = 1, ln(1) = 0, log10(10^n) = n, integral powers
/// computed exactly); a non-integral power whose result still sits on a rounding boundary
/// after 60 guard digits is taken to be exactly that boundary (x^0.5 of a square, say).
/// Checked against Python's `decimal` (Tests/Fixtures/decimal/generate.py).
extension Decimal128 {
    // MARK: - Public operations

    /// e^x. exp(NaN) = NaN, exp(+Infinity) = Infinity, exp(−Infinity) = 0, exp(±0) = 1.
    package func exp() -> Decimal128 {
        let p = parts
        switch p.kind {
        case .nan: return .nan
        case .infinity: return p.negative ? .zero : self
        case .finite: break
        }
        if p.coefficient == 0 { return Decimal128(1) }
        let adjusted = p.exponent + Dec.digits(p.coefficient) - 1
        if adjusted >= 5 {
            // |x| ≥ 100000: beyond the largest finite value, or below half the smallest one
            return p.negative ? Decimal128.round(negative: false, UInt128(0), exponent: Dec.minExponent) : .infinity(negative: false)
        }
        return Decimal128.ziv { bits in
            let t = Decimal128.fixedValue(p, bits: bits)
            return Decimal128.expApproximation(t, bits: bits, negative: false)
        }
    }

    /// Natural logarithm. ln(NaN) = NaN, ln(+Infinity) = Infinity, ln(±0) = −Infinity,
    /// ln(negative) = NaN, ln(1) = 0.
    package func ln() -> Decimal128 {
        let p = parts
        if let special = Decimal128.logSpecial(p) { return special }
        if Decimal128.isOne(p) { return .zero }
        return Decimal128.ziv { bits in
            let (lnm, e, scale) = Decimal128.lnParts(p.coefficient, p.exponent, bits: bits)
            var v = lnm
            if e != 0 {
                let l10 = Decimal128.ln10(bits: scale + 16).times(UInt64(e.magnitude)).shiftedRight(16)
                v = v + BigFixed(negative: e < 0, l10)
            }
            return Decimal128.decimalApproximation(v, scale: scale, error: 8)
        }
    }

    /// Base-10 logarithm; special values as `ln()`; log10(10^n) = n exactly (exponent 0).
    package func log10() -> Decimal128 {
        let p = parts
        if let special = Decimal128.logSpecial(p) { return special }
        var c = p.coefficient, e = p.exponent
        while c % 10 == 0 { c /= 10; e += 1 }
        if c == 1 { return Decimal128(Int64(e)) }
        return Decimal128.ziv { bits in
            let (lnm, e, scale) = Decimal128.lnParts(p.coefficient, p.exponent, bits: bits)
            let l10 = Decimal128.ln10(bits: scale + 8)
            var v = BigFixed(negative: lnm.negative, lnm.magnitude.shiftedLeft(scale + 8) / l10)
            if e != 0 { v = v + BigFixed(negative: e < 0, BigNatural(UInt64(e.magnitude)).shiftedLeft(scale)) }
            return Decimal128.decimalApproximation(v, scale: scale, error: 8)
        }
    }

    /// x^y with IEEE 754-2008's special cases (pow(x, ±0) = 1 and pow(+1, y) = 1 even for
    /// NaN, pow(−1, ±Infinity) = 1, a negative base with a non-integral exponent is NaN,
    /// infinities and zeros by the sign and parity of y).
    package static func pow(_ x: Decimal128, _ y: Decimal128) -> Decimal128 {
        let a = x.parts, b = y.parts
        if b.isZero { return Decimal128(1) }
        if !a.negative && isOne(a) { return Decimal128(1) }
        if a.kind == .nan || b.kind == .nan { return .nan }
        let (yIntegral, yOdd) = integrality(b)
        if b.kind == .infinity {
            if a.kind == .finite && a.negative && isOne(a) { return Decimal128(1) }
            let bigBase = compare(x.magnitude, Decimal128(1)) > 0
            return bigBase != b.negative ? .infinity(negative: false) : .zero
        }
        let negative = a.negative && yOdd
        if a.kind == .infinity {
            return b.negative ? round(negative: negative, UInt128(0), exponent: 0) : .infinity(negative: negative)
        }
        if a.coefficient == 0 {
            return b.negative ? .infinity(negative: negative) : round(negative: negative, UInt128(0), exponent: 0)
        }
        if a.negative && !yIntegral { return .nan }
        if isOne(a) { return Decimal128(negative ? -1 : 1) }  // (−1)^n
        if yIntegral, let exact = exactIntegralPower(a, b, negative: negative) { return exact }
        // |y| ≥ 10^40: |y ln|x|| ≥ 10^6 (|ln|x|| ≥ 10^-34 for |x| ≠ 1): overflow or underflow
        let adjY = b.exponent + Dec.digits(b.coefficient) - 1
        if adjY >= 40 {
            let bigBase = compare(x.magnitude, Decimal128(1)) > 0
            return bigBase != b.negative ? .infinity(negative: negative) : round(negative: negative, UInt128(0), exponent: Dec.minExponent)
        }
        let yBits = max(0, Int(Double(adjY + 1) * 3.33) + 2)
        return ziv { bits in
            let (lnm, e, scale0) = lnParts(a.coefficient, a.exponent, bits: bits + yBits + 8)
            var l = lnm
            if e != 0 {
                l = l + BigFixed(negative: e < 0, ln10(bits: scale0 + 16).times(UInt64(e.magnitude)).shiftedRight(16))
            }
            // t = y × ln|x| at scale0, then at `bits`
            var t = l.magnitude * BigNatural(b.coefficient)
            if b.exponent >= 0 { t = t.timesPow10(b.exponent) } else {
                t = -b.exponent > t.decimalDigitCount ? .zero : t.dividedByPow10(-b.exponent).0
            }
            let tNegative = l.negative != b.negative
            let tFixed = BigFixed(negative: tNegative, t.shiftedRight(scale0 - bits))
            // e^14200 > 10^6167 overflows; e^-14300 < 10^-6210 rounds to 0
            if !(tFixed.magnitude < BigNatural(UInt64(tNegative ? 14300 : 14200)).shiftedLeft(bits)) {
                let r = tNegative ? round(negative: negative, UInt128(0), exponent: Dec.minExponent) : .infinity(negative: negative)
                return .exact(r)
            }
            return expApproximation(tFixed, bits: bits, negative: negative, error: 64)
        }
    }

    /// mongod's `Decimal128::power`: pow (exp10/exp2 for a base of 10 or 2: the same values),
    /// then `add(kLargestNegativeExponentZero)`, which gives every finite result its 34-digit
    /// form (`$pow: [NumberDecimal("2"), 3]` is 8.000000000000000000000000000000000).
    package static func mongoPower(_ x: Decimal128, _ y: Decimal128) -> Decimal128 {
        pow(x, y).normalized
    }

    // MARK: - Special values

    static func logSpecial(_ p: Parts) -> Decimal128? {
        switch p.kind {
        case .nan: return .nan
        case .infinity: return p.negative ? .nan : .infinity(negative: false)
        case .finite:
            if p.coefficient == 0 { return .infinity(negative: true) }
            if p.negative { return .nan }
            return nil
        }
    }

    static func isOne(_ p: Parts) -> Bool {
        guard p.kind == .finite, p.coefficient != 0, p.exponent <= 0 else { return false }
        let k = -p.exponent
        return k <= 38 && p.coefficient == Dec.pow10[k]
    }

    /// Whether a finite y is an integer, and whether it is odd.
    static func integrality(_ p: Parts) -> (Bool, Bool) {
        guard p.kind == .finite else { return (false, false) }
        if p.coefficient == 0 { return (true, false) }
        if p.exponent > 0 { return (true, false) }
        let k = -p.exponent
        if k == 0 { return (true, p.coefficient & 1 == 1) }
        if k > 38 { return (false, false) }
        let m = Dec.pow10[k]
        if p.coefficient % m != 0 { return (false, false) }
        return (true, (p.coefficient / m) & 1 == 1)
    }

    /// x^n for an integral n whose exact power has at most a few hundred digits: computed
    /// exactly (1 / x^|n| by a long division) and rounded once. nil when it would be larger.
    static func exactIntegralPower(_ a: Parts, _ b: Parts, negative: Bool) -> Decimal128? {
        guard b.exponent <= 5, b.exponent < 0 || b.coefficient <= 100_000 else { return nil }
        let n128 = b.exponent >= 0 ? b.coefficient * Dec.pow10[b.exponent] : b.coefficient / Dec.pow10[-b.exponent]
        guard n128 <= 100_000 else { return nil }
        let n = Int(n128)
        var c = a.coefficient, e = a.exponent
        while c % 10 == 0 { c /= 10; e += 1 }
        guard Dec.digits(c) * n <= 600 else { return nil }
        let power = BigNatural(c).power(n)
        if !b.negative { return roundBig(negative: negative, power, exponent: e * n, sticky: false) }
        let k = power.decimalDigitCount + 40
        let (q, r) = BigNatural.pow10(k).quotientAndRemainder(dividingBy: power)
        return roundBig(negative: negative, q, exponent: -k - e * n, sticky: !r.isZero)
    }

    // MARK: - Rounding an approximation

    /// An approximation (A ± error) × 10^exponent, or an exact result.
    enum Approximation {
        case value(negative: Bool, a: BigNatural, exponent: Int, error: UInt64)
        case exact(Decimal128)
    }

    /// Rounds a value of any size × 10^exponent (plus a fraction of its last unit when
    /// `sticky`) to decimal128, half to even.
    static func roundBig(negative: Bool, _ a: BigNatural, exponent: Int, sticky: Bool) -> Decimal128 {
        let d = a.decimalDigitCount
        if d > 70 {
            let (q, s) = a.dividedByPow10(d - 70)
            return round(negative: negative, q.u256, exponent: exponent + d - 70, sticky: sticky || s)
        }
        return round(negative: negative, a.u256, exponent: exponent, sticky: sticky)
    }

    /// Ziv's strategy: more guard digits until A − E and A + E round alike; after the last
    /// attempt A is moved to the nearest rounding boundary (a decimal128 value or a tie),
    /// which only an exact result can still be that close to.
    static func ziv(_ compute: (Int) -> Approximation) -> Decimal128 {
        let guards = [8, 24, 60]
        for (i, g) in guards.enumerated() {
            let bits = Int(Double(34 + g) * 3.3219280948873623) + 8
            switch compute(bits) {
            case .exact(let r): return r
            case .value(let negative, let a, let exponent, let error):
                let e = BigNatural(error)
                if !(a < e) {
                    let lo = roundBig(negative: negative, a - e, exponent: exponent, sticky: false)
                    let hi = roundBig(negative: negative, a + e, exponent: exponent, sticky: false)
                    if lo == hi { return lo }
                }
                if i == guards.count - 1 { return snapped(negative: negative, a, exponent: exponent) }
            }
        }
        return .nan  // not reached
    }

    /// A rounded at its nearest rounding boundary (a multiple of half a unit in the last place
    /// of the 34-digit result).
    static func snapped(negative: Bool, _ a: BigNatural, exponent: Int) -> Decimal128 {
        let d = a.decimalDigitCount
        var drop = max(0, d - 34)
        if exponent + drop < Dec.minExponent { drop = Dec.minExponent - exponent }
        guard drop >= 1, drop <= d + 1 else { return roundBig(negative: negative, a, exponent: exponent, sticky: false) }
        let grid = BigNatural.pow10(drop - 1).times(5)
        let (q, r) = a.quotientAndRemainder(dividingBy: grid)
        let up = !(r.times(2) < grid)
        let s = (up ? q + .one : q) * grid
        return roundBig(negative: negative, s, exponent: exponent, sticky: false)
    }

    /// A binary fixed-point value (scale 2^-scale, error ≤ `error` units) in decimal.
    static func decimalApproximation(_ v: BigFixed, scale: Int, error: UInt64) -> Approximation {
        let w = Int(Double(scale) * 0.30102999566398120) - 1
        let a = v.magnitude.timesPow10(w).shiftedRight(scale)
        return .value(negative: v.negative, a: a, exponent: -w, error: error + 1)
    }

    // MARK: - Fixed-point kernels

    /// x as a binary fixed-point value at scale 2^-bits (truncated), for |x| < 10^5.
    static func fixedValue(_ p: Parts, bits: Int) -> BigFixed {
        let c = BigNatural(p.coefficient)
        if p.exponent >= 0 { return BigFixed(negative: p.negative, c.timesPow10(p.exponent).shiftedLeft(bits)) }
        let k = -p.exponent
        // below 2^-bits: zero (the error bounds cover it)
        if k > Dec.digits(p.coefficient) + Int(Double(bits) * 0.30103) + 2 { return BigFixed(negative: p.negative, .zero) }
        return BigFixed(negative: p.negative, c.shiftedLeft(bits) / BigNatural.pow10(k))
    }

    /// exp(t) for t at scale 2^-bits (|t| < 15000, error below a unit), as a decimal
    /// approximation with the given sign.
    static func expApproximation(_ t: BigFixed, bits: Int, negative: Bool, error: UInt64 = 8) -> Approximation {
        let (m, k) = expCore(t, bits: bits)
        let w = Int(Double(bits) * 0.30102999566398120) - 1
        let a = m.timesPow10(w).shiftedRight(bits)
        return .value(negative: negative, a: a, exponent: k - w, error: error)
    }

    /// exp(t) = m × 2^-bits × 10^k with m × 2^-bits in [1, 10), error ≤ 2 units of m.
    static func expCore(_ t: BigFixed, bits: Int) -> (BigNatural, Int) {
        let g = 32, wb = bits + g
        // t = k ln 10 + r, 0 ≤ r < ln 10
        let l10 = ln10(bits: wb + 16)
        let (q, rem) = t.magnitude.shiftedLeft(g + 16).quotientAndRemainder(dividingBy: l10)
        var k = Int(q.uint128 ?? 0)
        var r = rem
        if t.negative {
            if r.isZero { k = -k } else { k = -k - 1; r = l10 - r }
        }
        // z = r / 2^s: the same integer read at scale wb + s
        let s = 8, ws = wb + s
        let z = r.shiftedRight(16)
        let one = BigNatural.one.shiftedLeft(ws)
        var sum = one, term = one
        var n: UInt64 = 1
        while true {
            term = (term * z).shiftedRight(ws).divided(by: n).0
            if term.isZero { break }
            sum = sum + term
            n += 1
        }
        for _ in 0..<s { sum = (sum * sum).shiftedRight(ws) }
        return (sum.shiftedRight(s + g), k)
    }

    /// ln(c × 10^e) = lnm + e' ln 10 with lnm (at scale 2^-scale, error ≤ 4 units; scale ≥
    /// bits, more when x is near 1 so that lnm keeps its relative precision).
    static func lnParts(_ c: UInt128, _ e: Int, bits: Int) -> (BigFixed, Int, Int) {
        let d = Dec.digits(c)
        // m = c / 10^dd in [1/√10, √10): m² < 10 ⇔ c² < 10^(2d − 1)
        let dd = U256.product(c, c) < U256(1).timesPow10(2 * d - 1) ? d - 1 : d
        let e10 = e + dd
        var extra = 0
        if e10 == 0 {
            let p = Dec.pow10[dd]
            let diff = c > p ? c - p : p - c
            extra = max(0, (128 - p.leadingZeroBitCount) - (128 - diff.leadingZeroBitCount) + 2)
        }
        let scale = bits + extra
        let g = 32, wb = scale + g
        let one = BigNatural.one.shiftedLeft(wb)
        var m = BigNatural(c).shiftedLeft(wb) / BigNatural.pow10(dd)
        // m / 2^j in [0.75, 1.5)
        var j = 0
        let lo = one.times(3).shiftedRight(2), hi = one.times(3).shiftedRight(1)
        while m < lo { m = m.shiftedLeft(1); j -= 1 }
        while !(m < hi) { m = m.shiftedRight(1); j += 1 }
        // ln m = 2 atanh((m − 1) / (m + 1))
        let below = m < one
        let num = below ? one - m : m - one
        let t = BigFixed(negative: below, num.shiftedLeft(wb) / (m + one))
        let t2 = t.times(t, bits: wb)
        var sum = t, term = t
        var k: UInt64 = 1
        while true {
            term = term.times(t2, bits: wb)
            if term.isZero { break }
            sum = sum + term.divided(by: 2 * k + 1)
            k += 1
        }
        var v = sum.times(2)
        if j != 0 { v = v + BigFixed(negative: j < 0, ln2(bits: wb).times(UInt64(j.magnitude))) }
        return (BigFixed(negative: v.negative, v.magnitude.shiftedRight(g)), e10, scale)
    }

    // MARK: - Constants

    /// atanh(1/k) × 2^bits, truncated (error below the number of terms).
    static func atanhInverse(_ k: UInt64, bits: Int) -> BigNatural {
        var term = BigNatural.one.shiftedLeft(bits).divided(by: k).0
        var sum = term
        let k2 = k * k
        var i: UInt64 = 1
        while true {
            term = term.divided(by: k2).0
            if term.isZero { break }
            sum = sum + term.divided(by: 2 * i + 1).0
            i += 1
        }
        return sum
    }

    /// ln 2 and ln 10 to 2048 bits, once: ln 2 = 2 atanh(1/3), ln 10 = 3 ln 2 + 2 atanh(1/9).
    static let constantBits = 2048
    static let ln2Table: BigNatural = atanhInverse(3, bits: constantBits + 16).times(2).shiftedRight(16)
    static let ln10Table: BigNatural = (atanhInverse(3, bits: constantBits + 16).times(6)
        + atanhInverse(9, bits: constantBits + 16).times(2)).shiftedRight(16)

    /// ln 2 × 2^bits, truncated.
    static func ln2(bits: Int) -> BigNatural {
        if bits <= constantBits { return ln2Table.shiftedRight(constantBits - bits) }
        return atanhInverse(3, bits: bits + 16).times(2).shiftedRight(16)
    }

    /// ln 10 × 2^bits, truncated.
    static func ln10(bits: Int) -> BigNatural {
        if bits <= constantBits { return ln10Table.shiftedRight(constantBits - bits) }
        return (atanhInverse(3, bits: bits + 16).times(6) + atanhInverse(9, bits: bits + 16).times(2)).shiftedRight(16)
    }
}

extension BigNatural {
    /// The value as a U256 (it must be below 2^256).
    var u256: U256 {
        let l = limbs
        func limb(_ i: Int) -> UInt128 { i < l.count ? UInt128(l[i]) : 0 }
        return U256(hi: limb(2) | (limb(3) << 64), lo: limb(0) | (limb(1) << 64))
    }
}
