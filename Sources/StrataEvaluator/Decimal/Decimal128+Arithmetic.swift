import StrataBSON
import StrataLibBSON

/// The decimal128 operations mongod uses (Intel's bid128_add/sub/mul/div/fmod/sqrt/quantize):
/// each computes the exact result and rounds once (`Decimal128.round`), with IEEE 754-2008's
/// preferred exponents — sum and difference: min of the operands' exponents; product: their
/// sum; quotient: the difference, or the closest to it an exact quotient allows; square root:
/// floor(exponent / 2); remainder: the smaller exponent.
extension Decimal128 {
    package static func + (a: Decimal128, b: Decimal128) -> Decimal128 { add(a, b, negateB: false) }
    package static func - (a: Decimal128, b: Decimal128) -> Decimal128 { add(a, b, negateB: true) }

    static func add(_ x: Decimal128, _ y: Decimal128, negateB: Bool) -> Decimal128 {
        let a = x.parts
        var b = y.parts
        if negateB { b.negative.toggle() }
        if a.kind == .nan || b.kind == .nan { return .nan }
        if a.kind == .infinity {
            if b.kind == .infinity && a.negative != b.negative { return .nan }
            return .infinity(negative: a.negative)
        }
        if b.kind == .infinity { return .infinity(negative: b.negative) }
        let e = min(a.exponent, b.exponent)
        if a.coefficient == 0 && b.coefficient == 0 {
            // exact zero: negative only when both are (round half even)
            return round(negative: a.negative && b.negative, UInt128(0), exponent: e)
        }
        // hi: the operand with the larger exponent
        let (hi, lo) = a.exponent >= b.exponent ? (a, b) : (b, a)
        let diff = hi.exponent - lo.exponent
        let hiDigits = Dec.digits(hi.coefficient)
        if hi.coefficient == 0 {
            return round(negative: lo.negative, U256(lo.coefficient), exponent: lo.exponent)
        }
        if lo.coefficient == 0 {
            // the value of hi at the preferred exponent, as far as 34 digits allow
            let shift = min(diff, 34 - hiDigits)
            return round(negative: hi.negative, U256(hi.coefficient * Dec.pow10[max(shift, 0)]),
                         exponent: hi.exponent - max(shift, 0))
        }
        if diff + hiDigits <= 76 {
            let A = U256(hi.coefficient).timesPow10(diff)
            let B = U256(lo.coefficient)
            if hi.negative == lo.negative { return round(negative: hi.negative, A + B, exponent: e) }
            if A == B { return round(negative: false, UInt128(0), exponent: e) }
            return A < B ? round(negative: lo.negative, B - A, exponent: e)
                         : round(negative: hi.negative, A - B, exponent: e)
        }
        // lo is below one unit of the scaled hi: it only decides the rounding
        let k = min(diff - 34, 76 - hiDigits)
        let A = U256(hi.coefficient).timesPow10(k)
        if hi.negative == lo.negative {
            return round(negative: hi.negative, A, exponent: hi.exponent - k, sticky: true)
        }
        return round(negative: hi.negative, A - U256(1), exponent: hi.exponent - k, sticky: true)
    }

    package static func * (x: Decimal128, y: Decimal128) -> Decimal128 {
        let a = x.parts, b = y.parts
        let neg = a.negative != b.negative
        if a.kind == .nan || b.kind == .nan { return .nan }
        if a.kind == .infinity || b.kind == .infinity {
            if a.isZero || b.isZero { return .nan }
            return .infinity(negative: neg)
        }
        return round(negative: neg, U256.product(a.coefficient, b.coefficient), exponent: a.exponent + b.exponent)
    }

    /// x / y; y == 0 gives ±Infinity (NaN for 0/0) — mongod refuses a zero divisor before.
    package static func / (x: Decimal128, y: Decimal128) -> Decimal128 {
        let a = x.parts, b = y.parts
        let neg = a.negative != b.negative
        if a.kind == .nan || b.kind == .nan { return .nan }
        if a.kind == .infinity {
            return b.kind == .infinity ? .nan : .infinity(negative: neg)
        }
        if b.kind == .infinity { return round(negative: neg, UInt128(0), exponent: Dec.minExponent) }
        if b.coefficient == 0 { return a.coefficient == 0 ? .nan : .infinity(negative: neg) }
        let ideal = a.exponent - b.exponent
        if a.coefficient == 0 { return round(negative: neg, UInt128(0), exponent: ideal) }
        let d = b.coefficient
        var q = a.coefficient / d
        var r = a.coefficient % d
        var exp = ideal
        var sig = Dec.digits(q)
        while r != 0 && sig < 35 {
            r *= 10
            q = q * 10 + r / d
            r %= d
            exp -= 1
            sig = Dec.digits(q)
        }
        return round(negative: neg, U256(q), exponent: exp, sticky: r != 0)
    }

    /// mongod's `modulo` (bid128_fmod): x − y × trunc(x / y), exact, with the sign of x.
    package static func fmod(_ x: Decimal128, _ y: Decimal128) -> Decimal128 {
        let a = x.parts, b = y.parts
        if a.kind == .nan || b.kind == .nan { return .nan }
        if a.kind == .infinity || b.isZero { return .nan }
        if b.kind == .infinity { return x }
        let e = min(a.exponent, b.exponent)
        if a.coefficient == 0 { return round(negative: a.negative, UInt128(0), exponent: e) }
        var r: UInt128
        if a.exponent >= b.exponent {
            // (ca × 10^diff) mod cb, ten digits at a time
            r = a.coefficient % b.coefficient
            var k = a.exponent - b.exponent
            while k > 0 {
                let s = min(k, 19)
                let (h, l) = r.multipliedFullWidth(by: UInt128(Dec.pow10u64[s]))
                r = b.coefficient.dividingFullWidth((high: h, low: l)).remainder
                k -= s
            }
        } else {
            let diff = b.exponent - a.exponent
            if diff > 34 { r = a.coefficient } else {
                let m = U256(b.coefficient).timesPow10(diff)
                if U256(a.coefficient) < m { r = a.coefficient } else {
                    // m fits 128 bits here (it is at most a.coefficient)
                    r = a.coefficient % m.lo
                }
            }
        }
        return round(negative: a.negative, r, exponent: e)
    }

    /// Correctly rounded square root; negative operands give NaN (mongod refuses them before).
    package func squareRoot() -> Decimal128 {
        let p = parts
        if p.kind == .nan { return .nan }
        if p.coefficient == 0 && p.kind == .finite {
            return Decimal128.round(negative: p.negative, UInt128(0), exponent: p.exponent >> 1)
        }
        if p.negative { return .nan }
        if p.kind == .infinity { return self }
        // Python decimal's algorithm: c × 100^e' with 35 base-100 digits, integer square root.
        let prec = 35
        var e = p.exponent >> 1
        var c = U256(p.coefficient)
        let len = Dec.digits(p.coefficient)
        let l: Int
        if p.exponent & 1 != 0 { c = c.times(10); l = (len >> 1) + 1 } else { l = (len + 1) >> 1 }
        let shift = prec - l
        var exact = true
        if shift >= 0 { c = c.timesPow10(2 * shift) } else {
            var k = -2 * shift
            while k > 0 {
                let s = min(k, 19)
                let (q, r) = c.divided(by: Dec.pow10u64[s])
                if r != 0 { exact = false }
                c = q; k -= s
            }
        }
        e -= shift
        var n = c.squareRoot()
        exact = exact && U256.product(n.lo, n.lo) == c
        if exact {
            if shift >= 0 {
                for _ in 0..<shift { n = n.divided(by: 10).0 }
            } else {
                n = n.timesPow10(-shift)
            }
            e += shift
            return Decimal128.round(negative: false, n, exponent: e)
        }
        return Decimal128.round(negative: false, n, exponent: e, sticky: true)
    }

    package var magnitude: Decimal128 { Decimal128(low: low, high: high & ~(UInt64(1) << 63)) }
    package var negated: Decimal128 { Decimal128(low: low, high: high ^ (UInt64(1) << 63)) }

    /// IEEE quantize: the value with exponent `target`, rounded with `rule`; NaN when the
    /// coefficient would need more than 34 digits or for infinities.
    static func quantizeIEEE(_ x: Decimal128, _ p: Parts, to target: Int, _ rule: FloatingPointRoundingRule) -> Decimal128 {
        if p.kind == .nan || p.kind == .infinity { return .nan }
        if p.exponent >= target {
            let k = p.exponent - target
            if p.coefficient == 0 { return Decimal128(negative: p.negative, coefficient: 0, exponent: target) }
            if k > 33 { return .nan }
            let (h, l) = p.coefficient.multipliedFullWidth(by: Dec.pow10[k])
            if h != 0 || l > Dec.maxCoefficient { return .nan }
            return Decimal128(negative: p.negative, coefficient: l, exponent: target)
        }
        let k = target - p.exponent
        var q: UInt128, r: UInt128, half: UInt128
        if k > 38 { q = 0; r = p.coefficient; half = 0 }  // r < 10^34 ≤ half: below half
        else {
            let m = Dec.pow10[k]
            q = p.coefficient / m; r = p.coefficient % m; half = m / 2
        }
        var up = false
        if r != 0 {
            let aboveHalf = k > 38 ? false : r > half
            let isHalf = k > 38 ? false : r == half
            switch rule {
            case .towardZero: up = false
            case .up: up = !p.negative
            case .down: up = p.negative
            case .awayFromZero: up = true
            case .toNearestOrAwayFromZero: up = aboveHalf || isHalf
            default: up = aboveHalf || (isHalf && q & 1 == 1)
            }
        }
        if up { q += 1 }
        if q > Dec.maxCoefficient { return .nan }
        return Decimal128(negative: p.negative, coefficient: q, exponent: target)
    }

    /// mongod's `Decimal128::normalize()`: + 0E-6176, the value with 34 digits.
    var normalized: Decimal128 { self + Decimal128(negative: false, coefficient: 0, exponent: Dec.minExponent) }

    /// mongod's `Decimal128::quantize(reference)`. With a reference 1E`target` (`$round`,
    /// `$trunc`: `guarded`), when the value's 34-digit form (x + 0E-6176) has an exponent above
    /// `target` that form is returned (the reference's own 34-digit form is 33 below target,
    /// and mongod returns early when the difference exceeds 33); otherwise — and always with
    /// the reference 0E0 of `$ceil`/`$floor`, whose 34-digit form has biased exponent 0, which
    /// skips the check — IEEE quantize: NaN when the result needs more than 34 digits and for
    /// infinities (`$round`/`$trunc` return infinities before calling it).
    package func mongoQuantize(to target: Int, _ rule: FloatingPointRoundingRule, guarded: Bool) -> Decimal128 {
        let p = parts
        if p.kind == .nan { return .nan }
        if guarded && p.kind == .finite {
            let n = normalized
            if n.parts.exponent > target { return n }
        }
        return Decimal128.quantizeIEEE(self, p, to: target, rule)
    }

    /// mongod's `compareDecimals`: by value, NaN equal to NaN and below everything.
    package static func compare(_ x: Decimal128, _ y: Decimal128) -> Int {
        let a = x.parts, b = y.parts
        if a.kind == .nan || b.kind == .nan { return a.kind == .nan ? (b.kind == .nan ? 0 : -1) : 1 }
        let sa = a.kind == .finite && a.coefficient == 0 ? 0 : (a.negative ? -1 : 1)
        let sb = b.kind == .finite && b.coefficient == 0 ? 0 : (b.negative ? -1 : 1)
        if sa != sb { return sa < sb ? -1 : 1 }
        if sa == 0 { return 0 }
        let m = compareMagnitude(a, b)
        return sa < 0 ? -m : m
    }

    static func compareMagnitude(_ a: Parts, _ b: Parts) -> Int {
        if a.kind == .infinity || b.kind == .infinity {
            return a.kind == b.kind ? 0 : (a.kind == .infinity ? 1 : -1)
        }
        let da = Dec.digits(a.coefficient), db = Dec.digits(b.coefficient)
        let aa = a.exponent + da, ab = b.exponent + db  // adjusted exponents (+1)
        if aa != ab { return aa < ab ? -1 : 1 }
        // same magnitude: align (difference ≤ 33 digits)
        var ca = U256(a.coefficient), cb = U256(b.coefficient)
        if a.exponent > b.exponent { ca = ca.timesPow10(a.exponent - b.exponent) }
        else if b.exponent > a.exponent { cb = cb.timesPow10(b.exponent - a.exponent) }
        return ca == cb ? 0 : (ca < cb ? -1 : 1)
    }

    /// mongod's `compareDecimalToDouble`: exact, NaN equal to NaN and below everything.
    package static func compare(_ x: Decimal128, _ d: Double) -> Int {
        let p = x.parts
        if p.kind == .nan || d.isNaN { return p.kind == .nan ? (d.isNaN ? 0 : -1) : 1 }
        let (approx, inexact) = x.toDouble()
        if approx < d { return -1 }
        if approx > d { return 1 }
        if !inexact || p.kind == .infinity || approx.isInfinite == false && approx == 0 && p.coefficient == 0 { return 0 }
        if approx.isInfinite {
            // a finite decimal beyond the double range rounded to the infinity d is
            return p.negative ? 1 : -1
        }
        if approx == 0 { return p.negative ? -1 : 1 }
        let m = DecimalCompare.compareExactDouble(p.coefficient, p.exponent, Swift.abs(approx))
        return p.negative ? -m : m
    }
}

enum DecimalCompare {
    /// Compares c × 10^e with a positive finite double, exactly.
    static func compareExactDouble(_ c: UInt128, _ e: Int, _ v: Double) -> Int {
        let (ds, de) = DecimalRounding.exactDecimal(v)
        let cs = Array(String(c).utf8.map { $0 - 48 })
        let aa = e + cs.count, ab = de + ds.count
        if aa != ab { return aa < ab ? -1 : 1 }
        for i in 0..<max(cs.count, ds.count) {
            let x = i < cs.count ? cs[i] : 0, y = i < ds.count ? ds[i] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}
