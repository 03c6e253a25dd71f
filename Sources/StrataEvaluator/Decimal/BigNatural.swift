import StrataBSON

/// An unsigned integer of any size (little-endian 64-bit limbs, no high zero limbs), for the
/// exact intermediate values of decimal128's transcendental functions
/// (`Decimal128+Transcendental.swift`): binary fixed-point series and exact integer powers.
struct BigNatural: Equatable, Comparable {
    private(set) var limbs: [UInt64]

    init(_ v: UInt64) { limbs = v == 0 ? [] : [v] }
    init(_ v: UInt128) {
        limbs = [UInt64(truncatingIfNeeded: v), UInt64(truncatingIfNeeded: v >> 64)]
        trim()
    }
    private init(limbs: [UInt64]) { self.limbs = limbs; trim() }

    static let zero = BigNatural(UInt64(0))
    static let one = BigNatural(UInt64(1))

    var isZero: Bool { limbs.isEmpty }

    var bitWidth: Int { limbs.isEmpty ? 0 : limbs.count * 64 - limbs[limbs.count - 1].leadingZeroBitCount }
    /// The value when it fits 128 bits.
    var uint128: UInt128? {
        switch limbs.count {
        case 0: return 0
        case 1: return UInt128(limbs[0])
        case 2: return UInt128(limbs[0]) | (UInt128(limbs[1]) << 64)
        default: return nil
        }
    }

    private mutating func trim() { while let l = limbs.last, l == 0 { limbs.removeLast() } }

    static func < (a: BigNatural, b: BigNatural) -> Bool {
        if a.limbs.count != b.limbs.count { return a.limbs.count < b.limbs.count }
        var i = a.limbs.count - 1
        while i >= 0 {
            if a.limbs[i] != b.limbs[i] { return a.limbs[i] < b.limbs[i] }
            i -= 1
        }
        return false
    }

    static func + (a: BigNatural, b: BigNatural) -> BigNatural {
        let (long, short) = a.limbs.count >= b.limbs.count ? (a.limbs, b.limbs) : (b.limbs, a.limbs)
        var r = long
        var carry: UInt64 = 0
        for i in 0..<long.count {
            let (s1, o1) = r[i].addingReportingOverflow(i < short.count ? short[i] : 0)
            let (s2, o2) = s1.addingReportingOverflow(carry)
            r[i] = s2
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
            if carry == 0 && i >= short.count { break }
        }
        if carry != 0 { r.append(carry) }
        return BigNatural(limbs: r)
    }

    /// a − b for a ≥ b.
    static func - (a: BigNatural, b: BigNatural) -> BigNatural {
        precondition(!(a < b), "BigNatural subtraction below zero")
        var r = a.limbs
        var borrow: UInt64 = 0
        for i in 0..<r.count {
            let (d1, o1) = r[i].subtractingReportingOverflow(i < b.limbs.count ? b.limbs[i] : 0)
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            r[i] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
            if borrow == 0 && i >= b.limbs.count { break }
        }
        return BigNatural(limbs: r)
    }

    static func * (a: BigNatural, b: BigNatural) -> BigNatural {
        if a.isZero || b.isZero { return .zero }
        var r = [UInt64](repeating: 0, count: a.limbs.count + b.limbs.count)
        for i in 0..<a.limbs.count {
            var carry: UInt64 = 0
            let x = a.limbs[i]
            for j in 0..<b.limbs.count {
                let (h, l) = x.multipliedFullWidth(by: b.limbs[j])
                let (s1, o1) = l.addingReportingOverflow(r[i + j])
                let (s2, o2) = s1.addingReportingOverflow(carry)
                r[i + j] = s2
                carry = h &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            }
            r[i + b.limbs.count] = carry
        }
        return BigNatural(limbs: r)
    }

    func times(_ m: UInt64) -> BigNatural {
        if m == 0 || isZero { return .zero }
        var r = limbs
        var carry: UInt64 = 0
        for i in 0..<r.count {
            let (h, l) = r[i].multipliedFullWidth(by: m)
            let (s, o) = l.addingReportingOverflow(carry)
            r[i] = s
            carry = h &+ (o ? 1 : 0)
        }
        if carry != 0 { r.append(carry) }
        return BigNatural(limbs: r)
    }

    /// Quotient and remainder by 0 < d.
    func divided(by d: UInt64) -> (BigNatural, UInt64) {
        precondition(d != 0)
        var q = limbs
        var r: UInt64 = 0
        var i = q.count - 1
        while i >= 0 {
            let (qq, rr) = d.dividingFullWidth((high: r, low: q[i]))
            q[i] = qq; r = rr
            i -= 1
        }
        return (BigNatural(limbs: q), r)
    }

    func shiftedLeft(_ n: Int) -> BigNatural {
        if isZero || n == 0 { return self }
        let words = n / 64, bits = n % 64
        var r = [UInt64](repeating: 0, count: words) + limbs + [0]
        if bits != 0 {
            var i = r.count - 1
            while i > words {
                r[i] = (r[i] << bits) | (r[i - 1] >> (64 - bits))
                i -= 1
            }
            r[words] <<= bits
        }
        return BigNatural(limbs: r)
    }

    func shiftedRight(_ n: Int) -> BigNatural {
        let words = n / 64, bits = n % 64
        if words >= limbs.count { return .zero }
        var r = Array(limbs[words...])
        if bits != 0 {
            for i in 0..<r.count {
                r[i] = (r[i] >> bits) | (i + 1 < r.count ? r[i + 1] << (64 - bits) : 0)
            }
        }
        return BigNatural(limbs: r)
    }

    /// Quotient and remainder (Knuth's algorithm D), for 0 < b.
    func quotientAndRemainder(dividingBy b: BigNatural) -> (quotient: BigNatural, remainder: BigNatural) {
        precondition(!b.isZero, "BigNatural division by zero")
        if self < b { return (.zero, self) }
        if b.limbs.count == 1 {
            let (q, r) = divided(by: b.limbs[0])
            return (q, BigNatural(r))
        }
        let s = b.limbs[b.limbs.count - 1].leadingZeroBitCount
        let v = b.shiftedLeft(s).limbs
        var u = shiftedLeft(s).limbs
        while u.count < limbs.count + 1 { u.append(0) }
        let n = v.count, m = u.count - n - 1
        var q = [UInt64](repeating: 0, count: m + 1)
        let base = UInt128(1) << 64
        let vTop = UInt128(v[n - 1]), vNext = UInt128(v[n - 2])
        var j = m
        while j >= 0 {
            let num = (UInt128(u[j + n]) << 64) | UInt128(u[j + n - 1])
            var qhat = num / vTop
            var rhat = num % vTop
            while qhat >= base || qhat * vNext > ((rhat << 64) | UInt128(u[j + n - 2])) {
                qhat -= 1
                rhat += vTop
                if rhat >= base { break }
            }
            let qd = UInt64(qhat)
            var carry: UInt64 = 0, borrow: UInt64 = 0
            for i in 0..<n {
                let (h, l) = qd.multipliedFullWidth(by: v[i])
                let (pl, c1) = l.addingReportingOverflow(carry)
                carry = h &+ (c1 ? 1 : 0)
                let (d1, b1) = u[i + j].subtractingReportingOverflow(pl)
                let (d2, b2) = d1.subtractingReportingOverflow(borrow)
                u[i + j] = d2
                borrow = (b1 ? 1 : 0) + (b2 ? 1 : 0)
            }
            let (d1, b1) = u[j + n].subtractingReportingOverflow(carry)
            let (d2, b2) = d1.subtractingReportingOverflow(borrow)
            u[j + n] = d2
            if b1 || b2 {
                // qhat was one too large: add the divisor back
                q[j] = qd &- 1
                var c: UInt64 = 0
                for i in 0..<n {
                    let (s1, o1) = u[i + j].addingReportingOverflow(v[i])
                    let (s2, o2) = s1.addingReportingOverflow(c)
                    u[i + j] = s2
                    c = (o1 ? 1 : 0) + (o2 ? 1 : 0)
                }
                u[j + n] = u[j + n] &+ c
            } else {
                q[j] = qd
            }
            j -= 1
        }
        let r = BigNatural(limbs: Array(u[0..<n])).shiftedRight(s)
        return (BigNatural(limbs: q), r)
    }

    static func / (a: BigNatural, b: BigNatural) -> BigNatural { a.quotientAndRemainder(dividingBy: b).quotient }

    /// 10^k.
    static func pow10(_ k: Int) -> BigNatural {
        var r = BigNatural.one, k = k
        while k > 0 { let s = min(k, 19); r = r.times(Dec.pow10u64[s]); k -= s }
        return r
    }

    func timesPow10(_ k: Int) -> BigNatural {
        var r = self, k = k
        while k > 0 { let s = min(k, 19); r = r.times(Dec.pow10u64[s]); k -= s }
        return r
    }

    /// The number of decimal digits (0 for zero).
    var decimalDigitCount: Int {
        if isZero { return 0 }
        if let v = uint128 { return Dec.digits(v) }
        // estimate from the bit width, then correct
        var d = Int(Double(bitWidth - 1) * 0.30102999566398120) + 1
        let p = BigNatural.pow10(d - 1)
        if self < p { return d - 1 }
        if !(self < p.times(10)) { d += 1 }
        return d
    }

    /// Divides by 10^k: quotient and whether the remainder was nonzero.
    func dividedByPow10(_ k: Int) -> (BigNatural, Bool) {
        var q = self, k = k, sticky = false
        while k > 0 {
            let s = min(k, 19)
            let (qq, r) = q.divided(by: Dec.pow10u64[s])
            if r != 0 { sticky = true }
            q = qq; k -= s
            if q.isZero { break }
        }
        return (q, sticky)
    }

    /// self^n by squaring.
    func power(_ n: Int) -> BigNatural {
        var result = BigNatural.one, base = self, n = n
        while n > 0 {
            if n & 1 == 1 { result = result * base }
            n >>= 1
            if n > 0 { base = base * base }
        }
        return result
    }
}

/// A signed fixed-point value: `magnitude / 2^bits` with a sign, for the series.
struct BigFixed {
    var negative: Bool
    var magnitude: BigNatural

    init(negative: Bool = false, _ magnitude: BigNatural) {
        self.negative = negative && !magnitude.isZero
        self.magnitude = magnitude
    }

    var isZero: Bool { magnitude.isZero }

    static func + (a: BigFixed, b: BigFixed) -> BigFixed {
        if a.negative == b.negative { return BigFixed(negative: a.negative, a.magnitude + b.magnitude) }
        if a.magnitude < b.magnitude { return BigFixed(negative: b.negative, b.magnitude - a.magnitude) }
        return BigFixed(negative: a.negative, a.magnitude - b.magnitude)
    }
    static prefix func - (a: BigFixed) -> BigFixed { BigFixed(negative: !a.negative, a.magnitude) }
    static func - (a: BigFixed, b: BigFixed) -> BigFixed { a + (-b) }

    /// a × b / 2^bits, truncated toward zero.
    func times(_ b: BigFixed, bits: Int) -> BigFixed {
        BigFixed(negative: negative != b.negative, (magnitude * b.magnitude).shiftedRight(bits))
    }
    func times(_ m: UInt64) -> BigFixed { BigFixed(negative: negative, magnitude.times(m)) }
    func divided(by d: UInt64) -> BigFixed { BigFixed(negative: negative, magnitude.divided(by: d).0) }
}
