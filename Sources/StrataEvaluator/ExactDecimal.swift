import Foundation

/// An exact decimal number (digits × 10^k), for the few places where mongod computes in
/// decimal128 and compares the result exactly with doubles (range-window bounds).
struct ExactDecimal: Sendable, Equatable {
    var negative: Bool
    /// Significant digits, no leading or trailing zeros; empty for zero.
    var digits: [UInt8]
    /// The value is 0.d1d2d3... × 10^exponent.
    var exponent: Int

    static let zero = ExactDecimal(negative: false, digits: [], exponent: 0)

    /// Parses "d.ddde±x" as printed by `%e`.
    static func parseScientific(_ s: String, negative: Bool) -> ExactDecimal {
        let parts = s.split(separator: "e")
        var digits: [UInt8] = parts[0].utf8.compactMap { $0 >= 48 && $0 <= 57 ? $0 - 48 : nil }
        let exp = Int(parts[1]) ?? 0
        while digits.last == 0 { digits.removeLast() }
        var lead = 0
        while lead < digits.count && digits[lead] == 0 { lead += 1 }
        if lead == digits.count { return .zero }
        digits.removeFirst(lead)
        return ExactDecimal(negative: negative, digits: digits, exponent: exp + 1 - lead)
    }

    /// The exact value of a finite double.
    init(exactly d: Double) {
        if d == 0 { self = .zero; return }
        self = ExactDecimal.parseScientific(String(format: "%.767e", abs(d)), negative: d < 0)
    }

    /// mongod's `Decimal128(double)`: the double rounded to 15 significant digits.
    init(roundedTo15 d: Double) {
        if d == 0 { self = .zero; return }
        self = ExactDecimal.parseScientific(String(format: "%.14e", abs(d)), negative: d < 0)
    }

    init(_ i: Int64) {
        if i == 0 { self = .zero; return }
        let s = String(i.magnitude)
        self = ExactDecimal.parseScientific(s.prefix(1) + "." + s.dropFirst() + "e\(s.count - 1)", negative: i < 0)
    }

    init(negative: Bool, digits: [UInt8], exponent: Int) {
        self.negative = negative; self.digits = digits; self.exponent = exponent
    }

    /// mongod's `coerceToDecimal` of a number (doubles rounded to 15 digits).
    static func coerced(_ v: BSON) -> ExactDecimal? {
        switch v {
        case .int32(let i): return ExactDecimal(Int64(i))
        case .int64(let i): return ExactDecimal(i)
        case .double(let d) where d.isFinite: return ExactDecimal(roundedTo15: d)
        default: return nil
        }
    }

    static func compareMagnitude(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        if a.digits.isEmpty || b.digits.isEmpty { return a.digits.isEmpty ? (b.digits.isEmpty ? 0 : -1) : 1 }
        if a.exponent != b.exponent { return a.exponent < b.exponent ? -1 : 1 }
        for i in 0..<max(a.digits.count, b.digits.count) {
            let x = i < a.digits.count ? a.digits[i] : 0, y = i < b.digits.count ? b.digits[i] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    static func compare(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        let aZero = a.digits.isEmpty, bZero = b.digits.isEmpty
        if aZero && bZero { return 0 }
        let aSign = aZero ? 0 : (a.negative ? -1 : 1), bSign = bZero ? 0 : (b.negative ? -1 : 1)
        if aSign != bSign { return aSign < bSign ? -1 : 1 }
        let m = compareMagnitude(a, b)
        return a.negative ? -m : m
    }

    /// The exact sum, or nil when it needs more than 34 significant digits (decimal128 would
    /// round it).
    static func sum(_ a: ExactDecimal, _ b: ExactDecimal) -> ExactDecimal? {
        if a.digits.isEmpty { return b }
        if b.digits.isEmpty { return a }
        // align on the lowest digit position: value = Σ d_i × 10^(exponent − 1 − i)
        let lowA = a.exponent - a.digits.count, lowB = b.exponent - b.digits.count
        let low = min(lowA, lowB), high = max(a.exponent, b.exponent)
        let width = high - low
        if width > 400 { return nil }
        func column(_ x: ExactDecimal) -> [Int] {
            var c = [Int](repeating: 0, count: width)
            for (i, d) in x.digits.enumerated() { c[high - x.exponent + i] = Int(d) }
            return c
        }
        var x = column(a), y = column(b)
        var negative = a.negative
        if a.negative != b.negative {
            if compareMagnitude(a, b) < 0 { swap(&x, &y); negative = b.negative }
            var borrow = 0
            for i in stride(from: width - 1, through: 0, by: -1) {
                var d = x[i] - y[i] - borrow
                borrow = d < 0 ? 1 : 0
                if d < 0 { d += 10 }
                x[i] = d
            }
        } else {
            var carry = 0
            for i in stride(from: width - 1, through: 0, by: -1) {
                let d = x[i] + y[i] + carry
                x[i] = d % 10
                carry = d / 10
            }
            if carry > 0 { x.insert(carry, at: 0) }
        }
        let top = x.count == width ? high : high + 1
        var digits = x.map { UInt8($0) }
        var lead = 0
        while lead < digits.count && digits[lead] == 0 { lead += 1 }
        if lead == digits.count { return .zero }
        digits.removeFirst(lead)
        while digits.last == 0 { digits.removeLast() }
        if digits.count > 34 { return nil }
        return ExactDecimal(negative: negative, digits: digits, exponent: top - lead)
    }

    /// The nearest double (Swift's parser rounds correctly).
    var nearestDouble: Double {
        if digits.isEmpty { return 0 }
        let s = (negative ? "-" : "") + "0." + digits.map { String($0) }.joined() + "e\(exponent)"
        return Double(s) ?? .nan
    }

    /// Exact comparison of a number with this decimal (mongod's compareDecimalToDouble).
    func compare(to v: BSON) -> Int {
        switch v {
        case .int32(let i): return ExactDecimal.compare(ExactDecimal(Int64(i)), self)
        case .int64(let i): return ExactDecimal.compare(ExactDecimal(i), self)
        case .double(let d):
            if d.isNaN { return -1 }
            if d.isInfinite { return d < 0 ? -1 : 1 }
            let approx = nearestDouble
            if d < approx { return -1 }
            if d > approx { return 1 }
            return ExactDecimal.compare(ExactDecimal(exactly: d), self)
        default:
            return BSONOrder.compare(v, .double(nearestDouble))
        }
    }
}
