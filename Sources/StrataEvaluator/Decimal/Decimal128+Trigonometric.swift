import Foundation
import StrataBSON
import StrataLibBSON

/// The trigonometric and hyperbolic functions on decimal128, correctly rounded (half to even)
/// to 34 digits.
///
/// mongod calls Intel's bid128_sin/cos/tan/asin/acos/atan/atan2/sinh/cosh/tanh/asinh/acosh/
/// atanh, which compute in binary128 inside, so mongod's last digit can differ from the
/// correctly rounded one. strata computes each function in binary fixed point on `BigNatural`
/// with guard bits and an error bound, and rounds with Ziv's strategy (`Decimal128.ziv`, as
/// exp/ln do): sinh/cosh/tanh from Taylor series or e^x, the inverse hyperbolic functions from
/// ln or the atanh series, atan by argument halving and its series, asin/acos/atan2 from atan
/// and exact square roots, sin/cos/tan after reducing the argument by π/2 (π from Machin's
/// formula, to 22,000 bits, enough for arguments up to 1E+6144).
///
/// Exact results: f(±0) = ±0 for the odd functions (the zero itself), cos(0) = cosh(0) = 1,
/// acosh(1) = acos(1) = 0. Every other finite result is transcendental; for arguments below
/// 1E-40 the odd functions round to the argument itself (in its 34-digit form), which is the
/// correctly rounded value. Checked against mpmath (Tests/Fixtures/decimal/generate.py).
extension Decimal128 {
    // MARK: - Hyperbolic

    package func sinh() -> Decimal128 { hyperbolic(.sinh) }
    package func cosh() -> Decimal128 { hyperbolic(.cosh) }
    package func tanh() -> Decimal128 { hyperbolic(.tanh) }

    enum HyperbolicFunction { case sinh, cosh, tanh }

    func hyperbolic(_ f: HyperbolicFunction) -> Decimal128 {
        let p = parts
        switch p.kind {
        case .nan: return .nan
        case .infinity:
            switch f {
            case .sinh: return self
            case .cosh: return .infinity(negative: false)
            case .tanh: return Decimal128(p.negative ? -1 : 1)
            }
        case .finite: break
        }
        if p.coefficient == 0 { return f == .cosh ? Decimal128(1) : self }
        let adj = Decimal128.adjusted(p)
        let negative = f == .cosh ? false : p.negative
        if adj <= -40 && f != .cosh { return normalized }
        var y = p
        y.negative = false
        if Decimal128.compare(magnitude, Decimal128(120)) >= 0 {
            // tanh = 1 − 2e^−2|x| (below 10^−100 from 1); sinh, cosh = e^|x| / 2 (e^−2|x| < 10^−104)
            if f == .tanh { return Decimal128.round(negative: negative, Dec.pow10[33], exponent: -33) }
            if adj >= 5 { return .infinity(negative: negative) }
            return Decimal128.ziv { bits in
                let t = Decimal128.fixedValue(y, bits: bits) - BigFixed(Decimal128.ln2(bits: bits))
                if !(t.magnitude < BigNatural(UInt64(14200)).shiftedLeft(bits)) { return .exact(.infinity(negative: negative)) }
                return Decimal128.expApproximation(t, bits: bits, negative: negative, error: 64)
            }
        }
        return Decimal128.ziv { bits in
            let s = bits + Decimal128.smallExtra(adj) + Decimal128.trigGuard
            let x = Decimal128.fixedMagnitude(y, scale: s)
            let one = BigNatural.one.shiftedLeft(s)
            var sh: BigNatural, ch: BigNatural, eb: Int
            if adj < 0 {
                // |x| < 1: the Taylor series of sinh and cosh
                let x2 = (x * x).shiftedRight(s)
                sh = x; ch = one
                var ts = x, tc = one
                var n: UInt64 = 1
                while true {
                    tc = (tc * x2).shiftedRight(s).divided(by: (2 * n - 1) * (2 * n)).0
                    ts = (ts * x2).shiftedRight(s).divided(by: (2 * n) * (2 * n + 1)).0
                    if tc.isZero && ts.isZero { break }
                    sh = sh + ts; ch = ch + tc
                    n += 1
                }
                eb = 8
            } else {
                // 1 ≤ |x| < 120: e^|x| = m × 2^−s × 10^k (error ≤ 2 units of m), e^−|x| = 1 / that
                let (m, k) = Decimal128.expCore(BigFixed(x), bits: s)
                let e = m.timesPow10(k)
                let inv = one.shiftedLeft(s) / e
                sh = (e - inv).shiftedRight(1); ch = (e + inv).shiftedRight(1)
                // x's truncation: e × 2^−s ≤ 10^(k+1) units; expCore: 2 × 10^k units
                eb = Int((Double(k + 1) * 3.33).rounded(.up)) + 2
            }
            switch f {
            case .sinh: return Decimal128.approximation(negative, sh, scale: s, errorBits: eb)
            case .cosh: return Decimal128.approximation(false, ch, scale: s, errorBits: eb)
            case .tanh:
                let (q, qe) = Decimal128.quotient(sh, ch, scale: s, errorBits: eb)
                return Decimal128.approximation(negative, q, scale: s, errorBits: qe)
            }
        }
    }

    // MARK: - Inverse hyperbolic

    /// asinh(x) = ln(|x| + √(x² + 1)) with the sign of x (atanh(x / √(x² + 1)) below 1).
    package func asinh() -> Decimal128 {
        let p = parts
        switch p.kind {
        case .nan: return .nan
        case .infinity: return self
        case .finite: break
        }
        if p.coefficient == 0 { return self }
        let adj = Decimal128.adjusted(p)
        if adj <= -40 { return normalized }
        var y = p
        y.negative = false
        // |x| ≥ 10^70: ln(2|x|) (the next term, 1/(4x²), is below 10^−140)
        if adj >= 70 { return Decimal128.ziv { Decimal128.lnOfTwice(y, bits: $0, negative: p.negative) } }
        return Decimal128.ziv { bits in
            let s = bits + Decimal128.smallExtra(adj) + Decimal128.trigGuard
            let x = Decimal128.fixedMagnitude(y, scale: s)
            let one = BigNatural.one.shiftedLeft(s)
            let r = ((x * x).shiftedRight(s) + one).shiftedLeft(s).squareRootFloor()
            if adj < 0 {
                let z = x.shiftedLeft(s) / r  // < 1/√2
                return Decimal128.approximation(p.negative, Decimal128.atanhSeries(z, scale: s), scale: s, errorBits: 12)
            }
            let l = Decimal128.lnFixed(x + r, scale: s)
            return Decimal128.approximation(p.negative, l.magnitude, scale: s, errorBits: 8)
        }
    }

    /// acosh(x) = ln(x + √((x − 1)(x + 1))) for x ≥ 1 (NaN below 1; acosh(1) = 0).
    package func acosh() -> Decimal128 {
        let p = parts
        switch p.kind {
        case .nan: return .nan
        case .infinity: return p.negative ? .nan : self
        case .finite: break
        }
        let c = Decimal128.compare(self, Decimal128(1))
        if c < 0 { return .nan }
        if c == 0 { return .zero }
        let adj = Decimal128.adjusted(p)
        if adj >= 70 { return Decimal128.ziv { Decimal128.lnOfTwice(p, bits: $0, negative: false) } }
        return Decimal128.ziv { bits in
            // x − 1 ≥ 10^−33 and acosh(x) > 4 × 10^−17: 128 more bits keep the relative precision
            let s = bits + 128 + Decimal128.trigGuard
            let x = Decimal128.fixedMagnitude(p, scale: s)
            let one = BigNatural.one.shiftedLeft(s)
            let r = ((x - one) * (x + one)).squareRootFloor()
            // x's truncation (1 unit) moves r by up to x/r units (2^54 near 1); ln adds 4
            let l = Decimal128.lnFixed(x + r, scale: s)
            return Decimal128.approximation(false, l.magnitude, scale: s, errorBits: x.bitWidth - r.bitWidth + 10)
        }
    }

    /// atanh(x) for |x| ≤ 1 (NaN beyond, ±Infinity at ±1): its series below 1/2, else
    /// ln((1 + x) / (1 − x)) / 2.
    package func atanh() -> Decimal128 {
        let p = parts
        if p.kind != .finite { return .nan }
        if p.coefficient == 0 { return self }
        let c = Decimal128.compare(magnitude, Decimal128(1))
        if c > 0 { return .nan }
        if c == 0 { return .infinity(negative: p.negative) }
        let adj = Decimal128.adjusted(p)
        if adj <= -40 { return normalized }
        var y = p
        y.negative = false
        return Decimal128.ziv { bits in
            let s = bits + Decimal128.smallExtra(adj) + Decimal128.trigGuard
            let x = Decimal128.fixedMagnitude(y, scale: s)
            let one = BigNatural.one.shiftedLeft(s)
            if x < one.shiftedRight(1) {
                return Decimal128.approximation(p.negative, Decimal128.atanhSeries(x, scale: s), scale: s, errorBits: 12)
            }
            // (1 + |x|) / (1 − |x|) = (10^k + c) / (10^k − c) exactly (|x| < 1: the exponent is
            // negative), so that 1 − |x| ≥ 10^−34 keeps its precision; the ratio is ≥ 3
            let cn = BigNatural(p.coefficient), d = BigNatural.pow10(-p.exponent)
            let ratio = (d + cn).shiftedLeft(s) / (d - cn)
            let l = Decimal128.lnFixed(ratio, scale: s)
            return Decimal128.approximation(p.negative, l.magnitude.shiftedRight(1), scale: s, errorBits: 8)
        }
    }

    // MARK: - Inverse circular

    /// atan(x); atan(±Infinity) = ±π/2.
    package func atan() -> Decimal128 {
        let p = parts
        switch p.kind {
        case .nan: return .nan
        case .infinity: return Decimal128.piMultiple(1, shift: 1, negative: p.negative)
        case .finite: break
        }
        if p.coefficient == 0 { return self }
        let adj = Decimal128.adjusted(p)
        if adj <= -40 { return normalized }
        var y = p
        y.negative = false
        let atMostOne = Decimal128.compare(magnitude, Decimal128(1)) <= 0
        return Decimal128.ziv { bits in
            let s = bits + Decimal128.smallExtra(adj) + Decimal128.trigGuard
            if atMostOne {
                let x = Decimal128.fixedMagnitude(y, scale: s)
                return Decimal128.approximation(p.negative, Decimal128.atanFixed(x, scale: s), scale: s, errorBits: 12)
            }
            // π/2 − atan(1/|x|)
            let r = Decimal128.ratioFixed(1, 0, y.coefficient, y.exponent, scale: s)
            let v = Decimal128.pi(bits: s).shiftedRight(1) - Decimal128.atanFixed(r, scale: s)
            return Decimal128.approximation(p.negative, v, scale: s, errorBits: 12)
        }
    }

    /// asin(x) = atan(x / √(1 − x²)) for |x| < 1 (1 − x² exact), ±π/2 at ±1, NaN beyond.
    package func asin() -> Decimal128 {
        let p = parts
        if p.kind != .finite { return .nan }
        if p.coefficient == 0 { return self }
        let c = Decimal128.compare(magnitude, Decimal128(1))
        if c > 0 { return .nan }
        if c == 0 { return Decimal128.piMultiple(1, shift: 1, negative: p.negative) }
        let adj = Decimal128.adjusted(p)
        if adj <= -40 { return normalized }
        let k = -p.exponent  // |x| < 1 with a nonzero coefficient: the exponent is negative
        return Decimal128.ziv { bits in
            let s = bits + Decimal128.smallExtra(adj) + Decimal128.trigGuard
            let cn = BigNatural(p.coefficient), d = BigNatural.pow10(k)
            let dd = d * d
            let root = ((dd - cn * cn).shiftedLeft(2 * s) / dd).squareRootFloor()  // √(1 − x²)
            let x = cn.shiftedLeft(s) / d
            let v: BigNatural
            if x < root {
                v = Decimal128.atanFixed(x.shiftedLeft(s) / root, scale: s)
            } else {
                v = Decimal128.pi(bits: s).shiftedRight(1) - Decimal128.atanFixed(root.shiftedLeft(s) / x, scale: s)
            }
            return Decimal128.approximation(p.negative, v, scale: s, errorBits: 12)
        }
    }

    /// acos(x) = 2 atan(√((1 − x) / (1 + x))) for |x| ≤ 1 (the ratio exact), NaN beyond;
    /// acos(1) = 0, acos(−1) = π.
    package func acos() -> Decimal128 {
        let p = parts
        if p.kind != .finite { return .nan }
        let c = Decimal128.compare(magnitude, Decimal128(1))
        if c > 0 { return .nan }
        if c == 0 { return p.negative ? Decimal128.piMultiple(1, shift: 0, negative: false) : .zero }
        if p.coefficient == 0 { return Decimal128.piMultiple(1, shift: 1, negative: false) }
        let adj = Decimal128.adjusted(p)
        var y = p
        y.negative = false
        if adj <= -40 {
            // π/2 − x (x³/6 is below the precision)
            return Decimal128.ziv { bits in
                let s = bits + Decimal128.trigGuard
                let h = BigFixed(Decimal128.pi(bits: s).shiftedRight(1))
                let v = h - BigFixed(negative: p.negative, Decimal128.fixedMagnitude(y, scale: s))
                return Decimal128.approximation(false, v.magnitude, scale: s, errorBits: 3)
            }
        }
        let k = -p.exponent
        return Decimal128.ziv { bits in
            // acos(x) ≥ √(2 × 10^−34): 64 more bits keep its relative precision
            let s = bits + 64 + Decimal128.trigGuard
            let cn = BigNatural(p.coefficient), d = BigNatural.pow10(k)
            let (num, den) = p.negative ? (d + cn, d - cn) : (d - cn, d + cn)
            let v: BigNatural
            if num < den {
                let t = (num.shiftedLeft(2 * s) / den).squareRootFloor()
                v = Decimal128.atanFixed(t, scale: s).shiftedLeft(1)
            } else {
                let u = (den.shiftedLeft(2 * s) / num).squareRootFloor()
                v = Decimal128.pi(bits: s) - Decimal128.atanFixed(u, scale: s).shiftedLeft(1)
            }
            return Decimal128.approximation(false, v, scale: s, errorBits: 13)
        }
    }

    /// atan2(y, x) with the special cases of IEEE 754 / C's atan2: NaN if either is NaN;
    /// atan2(±0, x) = ±0 for x > 0 or +0, ±π for x < 0 or −0; atan2(y, ±0) = ±π/2;
    /// atan2(±Infinity, +Infinity) = ±π/4, (±Infinity, −Infinity) = ±3π/4, (±Infinity, finite)
    /// = ±π/2; atan2(finite y, +Infinity) = ±0, (finite y, −Infinity) = ±π.
    package static func atan2(_ y: Decimal128, _ x: Decimal128) -> Decimal128 {
        let a = y.parts, b = x.parts
        if a.kind == .nan || b.kind == .nan { return .nan }
        let negative = a.negative
        let signedZero = Decimal128(negative: negative, coefficient: 0, exponent: 0)
        if a.kind == .infinity {
            if b.kind == .infinity { return piMultiple(b.negative ? 3 : 1, shift: 2, negative: negative) }
            return piMultiple(1, shift: 1, negative: negative)
        }
        if b.kind == .infinity { return b.negative ? piMultiple(1, shift: 0, negative: negative) : signedZero }
        if a.coefficient == 0 { return b.negative ? piMultiple(1, shift: 0, negative: negative) : signedZero }
        if b.coefficient == 0 { return piMultiple(1, shift: 1, negative: negative) }
        // q = |y| / |x|, adjusted exponent within 1 of adjQ
        let adjQ = adjusted(a) - adjusted(b)
        if adjQ <= -42 && !b.negative {
            // atan(q) = q − q³/3 + …, q³/3 far below the last digit of q: q rounded as if
            // slightly smaller
            let k = 41 + Dec.digits(b.coefficient) - Dec.digits(a.coefficient)
            let (n, r) = BigNatural(a.coefficient).timesPow10(k).quotientAndRemainder(dividingBy: BigNatural(b.coefficient))
            let e = a.exponent - b.exponent - k
            if !r.isZero { return roundBig(negative: negative, n, exponent: e, sticky: true) }
            return roundBig(negative: negative, n.times(10) - .one, exponent: e - 1, sticky: true)
        }
        return ziv { bits in
            let s = bits + smallExtra(max(adjQ - 1, -45)) + trigGuard
            let q: BigNatural
            if adjQ <= 0 {
                let t = ratioFixed(a.coefficient, a.exponent, b.coefficient, b.exponent, scale: s)
                if t < BigNatural.one.shiftedLeft(s) {
                    q = atanFixed(t, scale: s)
                } else {
                    q = pi(bits: s).shiftedRight(1) - atanFixed(ratioFixed(b.coefficient, b.exponent, a.coefficient, a.exponent, scale: s), scale: s)
                }
            } else {
                q = pi(bits: s).shiftedRight(1) - atanFixed(ratioFixed(b.coefficient, b.exponent, a.coefficient, a.exponent, scale: s), scale: s)
            }
            let v = b.negative ? pi(bits: s) - q : q
            return approximation(negative, v, scale: s, errorBits: 12)
        }
    }

    // MARK: - Circular

    package func sin() -> Decimal128 { circular(.sin) }
    package func cos() -> Decimal128 { circular(.cos) }
    package func tan() -> Decimal128 { circular(.tan) }

    enum CircularFunction { case sin, cos, tan }

    /// sin, cos or tan (NaN for NaN and infinities): |x| = qπ/2 + r with q the nearest integer
    /// and |r| ≤ π/4, reduced with π/2 to as many bits as q has plus the precision wanted (and
    /// more when r is so small that it lost them: x near a multiple of π/2); then the Taylor
    /// series of sin r and cos r, combined as q mod 4 says.
    func circular(_ f: CircularFunction) -> Decimal128 {
        let p = parts
        if p.kind != .finite { return .nan }
        if p.coefficient == 0 { return f == .cos ? Decimal128(1) : self }
        let adj = Decimal128.adjusted(p)
        if adj <= -40 && f != .cos { return normalized }
        var y = p
        y.negative = false
        return Decimal128.ziv { bits in
            let target = bits + Decimal128.trigGuard
            let qBits = max(0, Int(Double(adj + 1) * 3.33) + 2)
            var more = 32 + (f == .cos ? 0 : Decimal128.smallExtra(adj))
            while true {
                let w = target + qBits + more
                let x = Decimal128.fixedMagnitude(y, scale: w)
                let half = Decimal128.pi(bits: w).shiftedRight(1)  // π/2, error ≤ 1 unit
                var (q, r) = x.quotientAndRemainder(dividingBy: half)
                var rNegative = false
                if half < r.shiftedLeft(1) { q = q + .one; r = half - r; rNegative = true }
                // r's error ≤ q + 2 units at scale w: dropping q's bits + 1 leaves ≤ 2 units
                let drop = q.bitWidth + 1
                let rs = r.shiftedRight(drop), s = w - drop
                let quadrant = Int((q.limbs.first ?? 0) & 3)
                let usesSine = f == .tan || (f == .sin) == (quadrant & 1 == 0)
                if usesSine && rs.bitWidth < target {
                    more += target - rs.bitWidth + 32
                    continue
                }
                let (sr, cr) = Decimal128.sinCos(rs, scale: s)  // errors ≤ 2^7 units
                let eb = 8
                var negative: Bool
                let result: Approximation
                switch f {
                case .sin, .cos:
                    let useSin: Bool
                    switch (f, quadrant) {
                    case (.sin, 0): (negative, useSin) = (rNegative, true)
                    case (.sin, 1): (negative, useSin) = (false, false)
                    case (.sin, 2): (negative, useSin) = (!rNegative, true)
                    case (.sin, _): (negative, useSin) = (true, false)
                    case (_, 0): (negative, useSin) = (false, false)
                    case (_, 1): (negative, useSin) = (!rNegative, true)
                    case (_, 2): (negative, useSin) = (true, false)
                    default: (negative, useSin) = (rNegative, true)
                    }
                    if f == .sin && p.negative { negative.toggle() }
                    result = Decimal128.approximation(negative, useSin ? sr : cr, scale: s, errorBits: eb)
                case .tan:
                    let even = quadrant & 1 == 0
                    let (v, ve) = even ? Decimal128.quotient(sr, cr, scale: s, errorBits: eb) : Decimal128.quotient(cr, sr, scale: s, errorBits: eb)
                    negative = even ? rNegative : !rNegative
                    if p.negative { negative.toggle() }
                    result = Decimal128.approximation(negative, v, scale: s, errorBits: ve)
                }
                return result
            }
        }
    }

    // MARK: - Degrees and radians

    /// mongod's `Decimal128::kPi`: π parsed from 51 digits, rounded to 34.
    static let mongoPi = Decimal128.parse("3.14159265358979323846264338327950288419716939937510")!
    /// mongod's `kPiOver180` (kPi / 180) and `k180OverPi` (180 / kPi), each a decimal division.
    package static let piOver180 = mongoPi / Decimal128(180)
    package static let oneEightyOverPi = Decimal128(180) / mongoPi

    // MARK: - Kernels

    static let trigGuard = 24

    static func adjusted(_ p: Parts) -> Int { p.exponent + Dec.digits(p.coefficient) - 1 }

    /// Bits needed to keep the relative precision of a value whose adjusted exponent is adj.
    static func smallExtra(_ adj: Int) -> Int { adj < 0 ? Int(Double(-adj) * 3.33) + 4 : 0 }

    /// |x| × 2^s, truncated.
    static func fixedMagnitude(_ p: Parts, scale s: Int) -> BigNatural {
        let c = BigNatural(p.coefficient)
        if p.exponent >= 0 { return c.timesPow10(p.exponent).shiftedLeft(s) }
        let k = -p.exponent
        if k > Dec.digits(p.coefficient) + Int(Double(s) * 0.30103) + 2 { return .zero }
        return c.shiftedLeft(s) / BigNatural.pow10(k)
    }

    /// (nc × 10^ne) / (dc × 10^de) × 2^s, truncated (dc ≠ 0).
    static func ratioFixed(_ nc: UInt128, _ ne: Int, _ dc: UInt128, _ de: Int, scale s: Int) -> BigNatural {
        let e = ne - de
        if e >= 0 { return BigNatural(nc).timesPow10(e).shiftedLeft(s) / BigNatural(dc) }
        if -e > Dec.digits(nc) + Int(Double(s) * 0.30103) + 2 { return .zero }
        return BigNatural(nc).shiftedLeft(s) / (BigNatural(dc) * BigNatural.pow10(-e))
    }

    /// v (at scale 2^−s, error ≤ 2^eb units) as a decimal approximation: v is shifted right by
    /// eb bits first, which leaves an error of at most 2 units.
    /// The scale may end up small or negative (large values): the decimal exponent follows it.
    static func approximation(_ negative: Bool, _ v: BigNatural, scale s: Int, errorBits eb: Int) -> Approximation {
        let e = max(0, eb)
        let u = v.shiftedRight(e), scale = s - e
        // a = ⌊u × 10^w / 2^scale⌋ with 10^w ≤ 2^scale / 10: error ≤ 2 × 0.1 + 1 units of a
        let w = Int((Double(scale) * 0.30102999566398120).rounded(.down)) - 1
        let a: BigNatural
        if w >= 0 {
            a = u.timesPow10(w).shiftedRight(scale)
        } else {
            a = (scale >= 0 ? u.shiftedRight(scale) : u.shiftedLeft(-scale)) / BigNatural.pow10(-w)
        }
        return .value(negative: negative, a: a, exponent: -w, error: 2)
    }

    /// a / b at scale s, for a and b at scale s with errors ≤ 2^eb units each, and the bits of
    /// the quotient's error bound.
    static func quotient(_ a: BigNatural, _ b: BigNatural, scale s: Int, errorBits eb: Int) -> (BigNatural, Int) {
        let q = a.shiftedLeft(s) / b
        return (q, max(0, q.bitWidth + eb + 3 - min(a.bitWidth, b.bitWidth)))
    }

    /// ln(2|x|) for |x| ≥ 10^70, as ln(c × 10^e) + ln 2 (error ≤ 12 units).
    static func lnOfTwice(_ p: Parts, bits: Int, negative: Bool) -> Approximation {
        let (lnm, e, scale) = lnParts(p.coefficient, p.exponent, bits: bits)
        var v = lnm + BigFixed(ln2(bits: scale))
        if e != 0 { v = v + BigFixed(negative: e < 0, ln10(bits: scale + 16).times(UInt64(e.magnitude)).shiftedRight(16)) }
        return decimalApproximation(BigFixed(negative: negative, v.magnitude), scale: scale, error: 12)
    }

    /// ln(v × 2^−s) at scale s for v > 0 (error ≤ 4 units): v = m × 2^j with m in [0.75, 1.5),
    /// ln m = 2 atanh((m − 1) / (m + 1)).
    static func lnFixed(_ v: BigNatural, scale s: Int) -> BigFixed {
        let g = 32, wb = s + g
        let one = BigNatural.one.shiftedLeft(wb)
        var j = v.bitWidth - 1 - s
        var m = j >= 0 ? v.shiftedLeft(g).shiftedRight(j) : v.shiftedLeft(g - j)
        if !(m < one.times(3).shiftedRight(1)) { m = m.shiftedRight(1); j += 1 }
        let below = m < one
        let num = below ? one - m : m - one
        let t = num.shiftedLeft(wb) / (m + one)
        let sum = BigFixed(negative: below, atanhSeries(t, scale: wb).times(2))
        var r = sum
        if j != 0 { r = r + BigFixed(negative: j < 0, ln2(bits: wb + 16).times(UInt64(j.magnitude)).shiftedRight(16)) }
        return BigFixed(negative: r.negative, r.magnitude.shiftedRight(g))
    }

    /// atanh(z) = z + z³/3 + z⁵/5 + … at scale s (z < 0.75; error ≤ the number of terms).
    static func atanhSeries(_ z: BigNatural, scale s: Int) -> BigNatural {
        let z2 = (z * z).shiftedRight(s)
        var power = z, sum = z
        var k: UInt64 = 1
        while true {
            power = (power * z2).shiftedRight(s)
            if power.isZero { break }
            sum = sum + power.divided(by: 2 * k + 1).0
            k += 1
        }
        return sum
    }

    /// atan(t) at scale s for 0 ≤ t ≤ 1: three halvings t ← t / (1 + √(1 + t²)) bring t
    /// below tan(π/32), then z − z³/3 + z⁵/5 − … (error ≤ 2^10 units).
    static func atanFixed(_ t: BigNatural, scale s: Int) -> BigNatural {
        let one = BigNatural.one.shiftedLeft(s)
        var z = t
        for _ in 0..<3 {
            let r = ((z * z).shiftedRight(s) + one).shiftedLeft(s).squareRootFloor()
            z = z.shiftedLeft(s) / (one + r)
        }
        let z2 = (z * z).shiftedRight(s)
        var power = z, plus = z, minus = BigNatural.zero
        var k: UInt64 = 1
        while true {
            power = (power * z2).shiftedRight(s)
            if power.isZero { break }
            let term = power.divided(by: 2 * k + 1).0
            if k & 1 == 1 { minus = minus + term } else { plus = plus + term }
            k += 1
        }
        return (plus - minus).shiftedLeft(3)
    }

    /// sin r and cos r at scale s for 0 ≤ r ≤ π/4 + ε (errors ≤ the input's error + the
    /// number of terms).
    static func sinCos(_ r: BigNatural, scale s: Int) -> (BigNatural, BigNatural) {
        let one = BigNatural.one.shiftedLeft(s)
        let r2 = (r * r).shiftedRight(s)
        var sPlus = r, sMinus = BigNatural.zero, cPlus = one, cMinus = BigNatural.zero
        var ts = r, tc = one
        var n: UInt64 = 1
        while true {
            tc = (tc * r2).shiftedRight(s).divided(by: (2 * n - 1) * (2 * n)).0
            ts = (ts * r2).shiftedRight(s).divided(by: (2 * n) * (2 * n + 1)).0
            if tc.isZero && ts.isZero { break }
            if n & 1 == 1 { sMinus = sMinus + ts; cMinus = cMinus + tc } else { sPlus = sPlus + ts; cPlus = cPlus + tc }
            n += 1
        }
        return (sPlus - sMinus, cPlus - cMinus)
    }

    /// num × π / 2^shift, correctly rounded.
    static func piMultiple(_ num: UInt64, shift: Int, negative: Bool) -> Decimal128 {
        ziv { bits in
            let s = bits + 8
            return approximation(negative, pi(bits: s).times(num).shiftedRight(shift), scale: s, errorBits: 3)
        }
    }

    /// atan(1/k) × 2^bits (error below the number of terms).
    static func atanInverse(_ k: UInt64, bits: Int) -> BigNatural {
        var term = BigNatural.one.shiftedLeft(bits).divided(by: k).0
        var plus = term, minus = BigNatural.zero
        let k2 = k * k
        var i: UInt64 = 1
        while true {
            term = term.divided(by: k2).0
            if term.isZero { break }
            let t = term.divided(by: 2 * i + 1).0
            if i & 1 == 1 { minus = minus + t } else { plus = plus + t }
            i += 1
        }
        return plus - minus
    }

    /// π × 2^bits by Machin's formula, π = 16 atan(1/5) − 4 atan(1/239), truncated.
    static func machinPi(bits: Int) -> BigNatural {
        (atanInverse(5, bits: bits + 16).times(16) - atanInverse(239, bits: bits + 16).times(4)).shiftedRight(16)
    }

    /// π to 2048 bits (the inverse functions), and to 22,000 bits (the reduction of arguments
    /// up to 10^6145 by π/2: 20,420 bits of quotient, the precision, and room for arguments
    /// near a multiple of π/2), each computed once.
    static let piSmallBits = 2048
    static let piSmall = machinPi(bits: piSmallBits)
    static let piLargeBits = 22_000
    static let piLarge = machinPi(bits: piLargeBits)

    /// π × 2^bits, truncated (error below 1 unit).
    static func pi(bits: Int) -> BigNatural {
        if bits <= piSmallBits { return piSmall.shiftedRight(piSmallBits - bits) }
        if bits <= piLargeBits { return piLarge.shiftedRight(piLargeBits - bits) }
        return machinPi(bits: bits)
    }
}

extension BigNatural {
    /// ⌊√self⌋ (Newton's iteration from above).
    func squareRootFloor() -> BigNatural {
        if isZero { return self }
        var x = BigNatural.one.shiftedLeft((bitWidth + 1) / 2)
        while true {
            let y = (x + self / x).shiftedRight(1)
            if !(y < x) { return x }
            x = y
        }
    }
}
