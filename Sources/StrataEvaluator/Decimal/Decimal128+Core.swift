import StrataBSON
import StrataLibBSON

/// Decimal128 as mongod computes it: IEEE 754-2008 decimal128 (34 digits, exponents
/// -6176...6111 on the coefficient, round half to even, BID encoding as BSON stores it).
///
/// This file holds the representation: unpacking and packing the BID bits, the one rounding
/// routine every operation ends in (`Decimal128.round`), text in mongod's format, and the
/// conversions from and to Int64 and Double. The operations are in
/// `Decimal128+Arithmetic.swift`. Checked against Python's `decimal` module
/// (Tests/Fixtures/decimal/).

/// A 256-bit unsigned integer, enough for the exact product of two coefficients, a
/// coefficient scaled by 10^42, or the radicand of a square root.
struct U256: Equatable, Comparable {
    var hi: UInt128
    var lo: UInt128
    init(_ v: UInt128) { hi = 0; lo = v }
    init(hi: UInt128, lo: UInt128) { self.hi = hi; self.lo = lo }

    static func < (a: U256, b: U256) -> Bool { a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo }
    package var isZero: Bool { hi == 0 && lo == 0 }

    static func product(_ a: UInt128, _ b: UInt128) -> U256 {
        let (h, l) = a.multipliedFullWidth(by: b)
        return U256(hi: h, lo: l)
    }
    static func + (a: U256, b: U256) -> U256 {
        let (l, c) = a.lo.addingReportingOverflow(b.lo)
        return U256(hi: a.hi &+ b.hi &+ (c ? 1 : 0), lo: l)
    }
    static func - (a: U256, b: U256) -> U256 {
        let (l, c) = a.lo.subtractingReportingOverflow(b.lo)
        return U256(hi: a.hi &- b.hi &- (c ? 1 : 0), lo: l)
    }
    /// × m (m < 2^64); the caller keeps the product below 2^256.
    func times(_ m: UInt64) -> U256 {
        let (lh, ll) = lo.multipliedFullWidth(by: UInt128(m))
        return U256(hi: hi &* UInt128(m) &+ lh, lo: ll)
    }
    /// Divides by d (0 < d < 2^64): quotient and remainder.
    func divided(by d: UInt64) -> (U256, UInt64) {
        let dd = UInt128(d)
        let qh = hi / dd, rh = hi % dd
        let (ql, rl) = dd.dividingFullWidth((high: rh, low: lo))
        return (U256(hi: qh, lo: ql), UInt64(rl))
    }
    func shiftedLeft(_ n: Int) -> U256 {
        if n == 0 { return self }
        if n >= 128 { return U256(hi: lo << (n - 128), lo: 0) }
        return U256(hi: (hi << n) | (lo >> (128 - n)), lo: lo << n)
    }
    func shiftedRight(_ n: Int) -> U256 {
        if n == 0 { return self }
        if n >= 128 { return U256(hi: 0, lo: hi >> (n - 128)) }
        return U256(hi: hi >> n, lo: (lo >> n) | (hi << (128 - n)))
    }
    var bitWidth: Int { hi != 0 ? 256 - hi.leadingZeroBitCount : 128 - lo.leadingZeroBitCount }

    /// Times 10^k, in steps of 10^19.
    func timesPow10(_ k: Int) -> U256 {
        var r = self, k = k
        while k > 0 { let s = min(k, 19); r = r.times(Dec.pow10u64[s]); k -= s }
        return r
    }

    /// Integer square root (floor), bit by bit.
    func squareRoot() -> U256 {
        var rem = self
        var res = U256(0)
        var bit = U256(1).shiftedLeft(((bitWidth + 1) & ~1) - 2 < 0 ? 0 : ((bitWidth + 1) & ~1) - 2)
        while !bit.isZero {
            let t = res + bit
            if !(rem < t) {
                rem = rem - t
                res = res.shiftedRight(1) + bit
            } else {
                res = res.shiftedRight(1)
            }
            bit = bit.shiftedRight(2)
        }
        return res
    }
}

/// Constants of the decimal128 format.
enum Dec {
    static let maxCoefficient: UInt128 = 9_999_999_999_999_999_999_999_999_999_999_999  // 10^34 - 1
    static let tenTo34: UInt128 = 10_000_000_000_000_000_000_000_000_000_000_000
    static let minExponent = -6176  // exponent of the coefficient's last digit
    static let maxExponent = 6111
    static let bias = 6176
    static let pow10u64: [UInt64] = (0...19).map { k in (0..<k).reduce(UInt64(1)) { a, _ in a * 10 } }
    static let pow10: [UInt128] = (0...38).map { k in (0..<k).reduce(UInt128(1)) { a, _ in a * 10 } }

    static func digits(_ c: UInt128) -> Int {
        if c == 0 { return 0 }
        var lo = 1, hi = 39
        while lo < hi {  // smallest n with c < 10^n
            let mid = (lo + hi) / 2
            if mid <= 38 && c >= pow10[mid] { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension Decimal128 {
    /// The value as sign, class, coefficient and exponent (value = coefficient × 10^exponent).
    struct Parts {
        enum Kind { case finite, infinity, nan }
        var negative: Bool
        var kind: Kind
        var coefficient: UInt128
        var exponent: Int
        var isZero: Bool { kind == .finite && coefficient == 0 }
    }

    var parts: Parts {
        let negative = high >> 63 == 1
        let comb = (high >> 58) & 0x1f
        if comb == 0x1f { return Parts(negative: negative, kind: .nan, coefficient: 0, exponent: 0) }
        if comb == 0x1e { return Parts(negative: negative, kind: .infinity, coefficient: 0, exponent: 0) }
        if (high >> 61) & 3 == 3 {
            // 11-form: the implied coefficient is above 10^34 - 1, non-canonical: zero.
            let e = Int((high >> 47) & 0x3fff) - Dec.bias
            return Parts(negative: negative, kind: .finite, coefficient: 0, exponent: e)
        }
        let e = Int((high >> 49) & 0x3fff) - Dec.bias
        var c = (UInt128(high & 0x1_ffff_ffff_ffff) << 64) | UInt128(low)
        if c > Dec.maxCoefficient { c = 0 }
        return Parts(negative: negative, kind: .finite, coefficient: c, exponent: e)
    }

    /// Packs a finite value already in range (coefficient ≤ 10^34 - 1, exponent in range).
    init(negative: Bool, coefficient: UInt128, exponent: Int) {
        let e = UInt64(exponent + Dec.bias)
        let h = (negative ? UInt64(1) << 63 : 0) | (e << 49) | UInt64(coefficient >> 64)
        self.init(low: UInt64(truncatingIfNeeded: coefficient), high: h)
    }

    package static let nan = Decimal128(low: 0, high: 0x7c00_0000_0000_0000)
    package static func infinity(negative: Bool) -> Decimal128 {
        Decimal128(low: 0, high: negative ? 0xf800_0000_0000_0000 : 0x7800_0000_0000_0000)
    }
    package static let zero = Decimal128(negative: false, coefficient: 0, exponent: 0)

    package var isInfinite: Bool { (high >> 58) & 0x1f == 0x1e }
    package var isFinite: Bool { (high >> 59) & 0xf != 0xf }
    public var isZero: Bool { parts.isZero }
    package var isNegative: Bool { high >> 63 == 1 }

    /// Rounds (value + a fraction strictly between 0 and 1 ulp when `sticky`) × 10^exponent to
    /// decimal128, half to even, keeping `exponent` when the value fits (the preferred
    /// exponent of the operation): subnormal results lose digits below 10^-6176, results above
    /// the largest finite value become infinities, exponents above 6111 are clamped when
    /// zeros can be appended to the coefficient.
    static func round(negative: Bool, _ n: U256, exponent: Int, sticky: Bool = false) -> Decimal128 {
        var n = n, exponent = exponent, sticky = sticky
        // digits of n
        var digits = 0
        if !n.isZero {
            if n.hi == 0 { digits = Dec.digits(n.lo) } else {
                var t = n; digits = 0
                while t.hi != 0 { t = t.divided(by: Dec.pow10u64[19]).0; digits += 19 }
                digits += Dec.digits(t.lo)
            }
        }
        var drop = max(0, digits - 34)
        if exponent + drop < Dec.minExponent { drop = Dec.minExponent - exponent }
        if drop > 0 {
            if drop > digits + 1 {
                // everything goes into the sticky part; the rounding digit is 0
                sticky = sticky || !n.isZero
                n = U256(0)
                exponent += drop
                // half-even: rounding digit 0 → no increment
            } else {
                // drop (drop - 1) digits into sticky, then one rounding digit
                var k = drop - 1
                while k > 0 {
                    let s = min(k, 19)
                    let (q, r) = n.divided(by: Dec.pow10u64[s])
                    if r != 0 { sticky = true }
                    n = q; k -= s
                }
                let (q, r) = n.divided(by: 10)
                n = q
                exponent += drop
                if r > 5 || (r == 5 && (sticky || q.lo & 1 == 1)) { n = n + U256(1) }
                if n.hi == 0 && n.lo == Dec.tenTo34 { n = U256(Dec.pow10[33]); exponent += 1 }
            }
        }
        var c = n.lo  // n < 10^34 now
        if exponent > Dec.maxExponent {
            if c == 0 { exponent = Dec.maxExponent } else {
                let room = 34 - Dec.digits(c)
                let need = exponent - Dec.maxExponent
                if need > room { return .infinity(negative: negative) }
                c *= Dec.pow10[need]
                exponent = Dec.maxExponent
            }
        }
        return Decimal128(negative: negative, coefficient: c, exponent: exponent)
    }

    static func round(negative: Bool, _ c: UInt128, exponent: Int, sticky: Bool = false) -> Decimal128 {
        round(negative: negative, U256(c), exponent: exponent, sticky: sticky)
    }

    // MARK: - Integers

    /// Exact, exponent 0 (mongod's `Decimal128(int64_t)`).
    package init(_ v: Int64) {
        self.init(negative: v < 0, coefficient: UInt128(v.magnitude), exponent: 0)
    }

    /// The value rounded to an integer with `rule` (mongod's `toLong`), or nil for NaN,
    /// infinities and values outside Int64 (mongod's invalid flag).
    package func toInt64(rounding rule: FloatingPointRoundingRule) -> Int64? {
        let p = parts
        guard p.kind == .finite else { return nil }
        let r = Decimal128.quantizeIEEE(self, p, to: 0, rule)
        guard r.isFinite else { return nil }
        let q = r.parts
        var c = q.coefficient
        var e = q.exponent
        while e > 0 { if c > UInt128(Int64.max) { return nil }; c *= 10; e -= 1 }
        if q.negative {
            if c > UInt128(Int64.max) + 1 { return nil }
            return c == UInt128(Int64.max) + 1 ? Int64.min : -Int64(c)
        }
        if c > UInt128(Int64.max) { return nil }
        return Int64(c)
    }

    // MARK: - Doubles

    /// The exact value of a finite double as coefficient digits (a U256 may not hold it):
    /// (digits, exponent), digits without leading zeros.
    static func exactDigits(_ d: Double) -> ([UInt8], Int) {
        let (digits, exp) = DecimalRounding.exactDecimal(Swift.abs(d))
        return (digits, exp)
    }

    /// Rounds a digit string × 10^exp to at most `keep` digits, half to even; returns the
    /// coefficient and exponent.
    static func roundDigits(_ digits: [UInt8], _ exp: Int, keep: Int, rule: FloatingPointRoundingRule = .toNearestOrEven) -> (UInt128, Int, Bool) {
        var ds = digits, e = exp, inexact = false
        if ds.count > keep {
            let (k, ne) = DecimalRounding.roundDigits(ds, e, drop: ds.count - keep, mode: rule)
            inexact = ds[keep...].contains { $0 != 0 }
            ds = k; e = ne
            if ds.count > keep { ds.removeLast(); e += 1 }  // 99..9 carried into a new digit: last is 0
        }
        var c: UInt128 = 0
        for x in ds { c = c * 10 + UInt128(x) }
        return (c, e, inexact)
    }

    /// mongod's `Decimal128(double, kRoundTo34Digits)`: the double's exact value rounded to
    /// 34 significant digits; an exact result takes the exponent closest to 0.
    package init(roundingTo34 d: Double) {
        if d.isNaN { self = .nan; return }
        if d.isInfinite { self = .infinity(negative: d < 0); return }
        if d == 0 { self.init(negative: d.sign == .minus, coefficient: 0, exponent: 0); return }
        var (ds, e) = Decimal128.exactDigits(d)
        // exactDigits strips trailing zeros; put back zeros toward exponent 0 while they fit.
        while e > 0 && ds.count < 34 { ds.append(0); e -= 1 }
        let (c, ce, _) = Decimal128.roundDigits(ds, e, keep: 34)
        self = Decimal128.round(negative: d < 0, c, exponent: ce)
    }

    /// mongod's `Decimal128(double)` (kRoundTo15Digits): the double converted to 34 digits, then
    /// quantized to exactly 15 significant digits (trailing zeros kept: 0.1 → 0.100000000000000).
    /// Used by `coerceToDecimal`: arithmetic mixing doubles and decimals, `$toDecimal`.
    package init(roundingTo15 d: Double) {
        if d.isNaN || d.isInfinite || d == 0 { self.init(roundingTo34: d); return }
        let (ds, e) = Decimal128.exactDigits(d)
        // first to 34 digits (binary64_to_bid128), then to 15 (nonNormalizingQuantize)
        let (c34, e34, _) = Decimal128.roundDigits(ds, e, keep: 34)
        let digits34 = Array(String(c34).utf8.map { $0 - 48 })
        var (c, ce, _) = Decimal128.roundDigits(digits34, e34, keep: 15)
        while Dec.digits(c) < 15 { c *= 10; ce -= 1 }
        self = Decimal128.round(negative: d < 0, c, exponent: ce)
    }

    /// The nearest double (mongod's `toDouble()`, ties to even), and whether it was inexact.
    package func toDouble() -> (Double, inexact: Bool) {
        let p = parts
        switch p.kind {
        case .nan: return (.nan, false)
        case .infinity: return (p.negative ? -.infinity : .infinity, false)
        case .finite: break
        }
        if p.coefficient == 0 { return (p.negative ? -0.0 : 0.0, false) }
        let sign: Double = p.negative ? -1 : 1
        if p.coefficient < (UInt128(1) << 53) && p.exponent >= -22 && p.exponent <= 22 {
            let m = Double(p.coefficient)
            let t = Double(sign: .plus, exponent: 0, significand: 1) * pow10Double(Swift.abs(p.exponent))
            let v = p.exponent >= 0 ? m * t : m / t
            // exact operands, one correctly rounded operation: c × 10^e is exact when the
            // product fits 53 bits; c / 10^k when 5^k divides c
            let k = Swift.abs(p.exponent)
            var five: UInt128 = 1
            for _ in 0..<k { five *= 5 }
            let inexact = p.exponent >= 0 ? UInt128(v) != p.coefficient * Dec.pow10[k] : p.coefficient % five != 0
            return (sign * v, inexact)
        }
        let s = "\(p.coefficient)e\(p.exponent)"
        let v = Double(s) ?? .nan
        var inexact = true
        if v.isFinite && v != 0 {
            inexact = DecimalCompare.compareExactDouble(p.coefficient, p.exponent, Swift.abs(v)) != 0
        }
        return (sign * v, inexact)
    }

    private func pow10Double(_ k: Int) -> Double {
        var r = 1.0
        for _ in 0..<k { r *= 10 }
        return r
    }

    // MARK: - Text

    /// mongod's `Decimal128::toString()` (the BSON decimal128 spec's format).
    package var mongoString: String {
        let p = parts
        switch p.kind {
        case .nan: return "NaN"
        case .infinity: return p.negative ? "-Infinity" : "Infinity"
        case .finite: break
        }
        let coef = String(p.coefficient)
        let adjusted = p.exponent + coef.count - 1
        var out = p.negative ? "-" : ""
        if p.exponent > 0 || adjusted < -6 {
            out += coef.prefix(1)
            if coef.count > 1 { out += "." + coef.dropFirst() }
            out += "E" + (adjusted > 0 ? "+" : "") + String(adjusted)
        } else if p.exponent == 0 {
            out += coef
        } else {
            let frac = -p.exponent
            if coef.count <= frac {
                out += "0." + String(repeating: "0", count: frac - coef.count) + coef
            } else {
                out += coef.prefix(coef.count - frac) + "." + coef.suffix(frac)
            }
        }
        return out
    }

    /// Parses mongod's accepted forms: `[+-]?(digits[.digits]|.digits)(e[+-]?digits)?`,
    /// `nan`, `inf`, `infinity` (any case), rounding to 34 digits half to even.
    package static func parse(_ text: String) -> Decimal128? {
        var s = Substring(text.lowercased())
        var negative = false
        if s.first == "-" || s.first == "+" { negative = s.first == "-"; s = s.dropFirst() }
        if s == "nan" { return .nan }
        if s == "inf" || s == "infinity" { return .infinity(negative: negative) }
        var digits: [UInt8] = []
        var exp = 0
        var sawDot = false, sawDigit = false
        var i = s.startIndex
        while i < s.endIndex {
            let ch = s[i]
            if ch == "." {
                if sawDot { return nil }
                sawDot = true
            } else if let d = ch.asciiValue, d >= 48, d <= 57 {
                sawDigit = true
                if !(digits.isEmpty && d == 48) { digits.append(d - 48) }
                if sawDot { exp -= 1 }
            } else { break }
            i = s.index(after: i)
        }
        if !sawDigit { return nil }
        if i < s.endIndex {
            guard s[i] == "e" else { return nil }
            var rest = s[s.index(after: i)...]
            var eneg = false
            if rest.first == "-" || rest.first == "+" { eneg = rest.first == "-"; rest = rest.dropFirst() }
            guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            let v = rest.count > 8 ? 99_999_999 : Int(rest)!
            exp += eneg ? -v : v
        }
        if digits.isEmpty {
            return Decimal128.round(negative: negative, UInt128(0), exponent: max(min(exp, 100_000), -100_000))
        }
        if exp > 100_000 { return .infinity(negative: negative) }
        if exp < -100_000 { return Decimal128.round(negative: negative, UInt128(0), exponent: Dec.minExponent) }
        // keep 35 digits and a sticky bit; round() finishes
        var sticky = false
        var ds = digits
        if ds.count > 35 {
            sticky = ds[35...].contains { $0 != 0 }
            exp += ds.count - 35
            ds = Array(ds[..<35])
        }
        var c: UInt128 = 0
        for x in ds { c = c * 10 + UInt128(x) }
        return Decimal128.round(negative: negative, U256(c), exponent: exp, sticky: sticky)
    }
}
