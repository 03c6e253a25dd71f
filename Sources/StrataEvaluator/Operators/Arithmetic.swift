import Foundation
import StrataBSON
import StrataLibBSON

extension EvalContext {
    static let arithmeticOps: [String: OpFn] = [
        "$add": { c, a in try add(c.evalAll(a)) },
        "$subtract": { c, a in try subtract(c.arg(a, 0), c.arg(a, 1)) },
        "$multiply": { c, a in try multiply(c.evalAll(a)) },
        "$divide": { c, a in try divide(c.arg(a, 0), c.arg(a, 1)) },
        "$mod": { c, a in try mod(c.arg(a, 0), c.arg(a, 1)) },
        "$abs": { c, a in try numeric1("$abs", c.arg(a, 0), abs) },
        "$ceil": { c, a in try numeric1("$ceil", c.arg(a, 0)) { v in
            if case .decimal128(let x) = v { return .decimal128(x.mongoQuantize(to: 0, .up, guarded: false)) }
            if case .double(let d) = v { return .double(d.rounded(.up)) }; return v } },
        "$floor": { c, a in try numeric1("$floor", c.arg(a, 0)) { v in
            if case .decimal128(let x) = v { return .decimal128(x.mongoQuantize(to: 0, .down, guarded: false)) }
            if case .double(let d) = v { return .double(d.rounded(.down)) }; return v } },
        "$sqrt": { c, a in try numeric1("$sqrt", c.arg(a, 0)) { v in
            if case .decimal128(let x) = v {
                if Decimal128.compare(x, Decimal128.zero) < 0 && !x.isNaN {
                    throw evalError("$sqrt's argument must be greater than or equal to 0")
                }
                return .decimal128(x.squareRoot())
            }
            let d = v.doubleValue!
            if d < 0 { throw evalError("$sqrt's argument must be greater than or equal to 0") }
            return .double(d.squareRoot()) } },
        "$exp": { c, a in try numeric1("$exp", c.arg(a, 0)) { v in
            if case .decimal128(let x) = v { return .decimal128(x.exp()) }
            return .double(Foundation.exp(v.doubleValue!)) } },
        // A decimal argument that is not > 0 (NaN included) falls through to mongod's double
        // code: its error, or a double NaN.
        "$ln": { c, a in try numeric1("$ln", c.arg(a, 0)) { v in
            if case .decimal128(let x) = v, Decimal128.compare(x, .zero) > 0 { return .decimal128(x.ln()) }
            let d = v.doubleValue!
            if !(d > 0 || d.isNaN) { throw evalError("$ln's argument must be a positive number, but is \(formatG(d))") }
            return .double(Foundation.log(d)) } },
        "$log10": { c, a in try numeric1("$log10", c.arg(a, 0)) { v in
            if case .decimal128(let x) = v, Decimal128.compare(x, .zero) > 0 { return .decimal128(x.log10()) }
            let d = v.doubleValue!
            if !(d > 0 || d.isNaN) { throw evalError("$log10's argument must be a positive number, but is \(formatG(d))") }
            return .double(Foundation.log10(d)) } },
        "$log": { c, a in try log(c.arg(a, 0), c.arg(a, 1)) },
        "$pow": { c, a in try pow(c.arg(a, 0), c.arg(a, 1)) },
        "$round": { c, a in try roundOrTrunc("$round", c, a, .toNearestOrEven) },
        "$trunc": { c, a in try roundOrTrunc("$trunc", c, a, .towardZero) },
        "$sin": { c, a in try trig("$sin", c.arg(a, 0), Foundation.sin, { $0.sin() }, finiteOnly: true) },
        "$cos": { c, a in try trig("$cos", c.arg(a, 0), Foundation.cos, { $0.cos() }, finiteOnly: true) },
        "$tan": { c, a in try trig("$tan", c.arg(a, 0), Foundation.tan, { $0.tan() }, finiteOnly: true) },
        "$asin": { c, a in try trig("$asin", c.arg(a, 0), Foundation.asin, { $0.asin() }, range: (-1, 1)) },
        "$acos": { c, a in try trig("$acos", c.arg(a, 0), Foundation.acos, { $0.acos() }, range: (-1, 1)) },
        "$atan": { c, a in try trig("$atan", c.arg(a, 0), Foundation.atan, { $0.atan() }) },
        "$sinh": { c, a in try trig("$sinh", c.arg(a, 0), Foundation.sinh, { $0.sinh() }) },
        "$cosh": { c, a in try trig("$cosh", c.arg(a, 0), Foundation.cosh, { $0.cosh() }) },
        "$tanh": { c, a in try trig("$tanh", c.arg(a, 0), Foundation.tanh, { $0.tanh() }) },
        "$asinh": { c, a in try trig("$asinh", c.arg(a, 0), Foundation.asinh, { $0.asinh() }) },
        "$acosh": { c, a in try trig("$acosh", c.arg(a, 0), Foundation.acosh, { $0.acosh() }, range: (1, .infinity)) },
        "$atanh": { c, a in try trig("$atanh", c.arg(a, 0), Foundation.atanh, { $0.atanh() }, range: (-1, 1)) },
        "$degreesToRadians": { c, a in try trig("$degreesToRadians", c.arg(a, 0), { $0 * (3.141592653589793 / 180.0) }, { $0 * Decimal128.piOver180 }) },
        "$radiansToDegrees": { c, a in try trig("$radiansToDegrees", c.arg(a, 0), { $0 * (180.0 / 3.141592653589793) }, { $0 * Decimal128.oneEightyOverPi }) },
        "$atan2": { c, a in
            let y = try c.arg(a, 0), x = try c.arg(a, 1)
            if BSON.isNullish(y) || BSON.isNullish(x) { return .null }
            guard let yd = y!.doubleValue, let xd = x!.doubleValue else {
                throw evalError("$atan2 only supports numeric types, not \(typeName(y)) and \(typeName(x))")
            }
            // either operand decimal: both coerced to decimal (doubles to 15 digits), bid128_atan2
            if NumericType(y!) == .decimal || NumericType(x!) == .decimal,
               let yv = Numeric.coerceToDecimal(y!), let xv = Numeric.coerceToDecimal(x!) {
                return .decimal128(Decimal128.atan2(yv, xv))
            }
            return .double(Foundation.atan2(yd, xd))
        },
        "$bitAnd": { c, a in try bitwise("$bitAnd", c.evalAll(a), initial: -1, &) },
        "$bitOr": { c, a in try bitwise("$bitOr", c.evalAll(a), initial: 0, |) },
        "$bitXor": { c, a in try bitwise("$bitXor", c.evalAll(a), initial: 0, ^) },
        "$bitNot": { c, a in
            let v = try c.arg(a, 0)
            switch v {
            case nil, .null?, .undefined?: return .null
            case .int32(let i)?: return .int32(~i)
            case .int64(let i)?: return .int64(~i)
            default: throw evalError("$bitNot only supports int and long, not: \(typeName(v))")
            }
        },
        "$rand": { _, _ in .double(Double.random(in: 0..<1)) },
    ]

    /// mongod's ExpressionSingleNumericArg: nullish → null, non-numbers → error.
    static func numeric1(_ op: String, _ v: BSON?, _ f: (BSON) throws -> BSON) throws -> BSON? {
        guard let v, !BSON.isNullish(v) else { return .null }
        guard v.isNumber else { throw evalError("\(op) only supports numeric types, not \(v.typeName)") }
        return try f(v)
    }

    static func abs(_ v: BSON) throws -> BSON {
        switch v {
        case .double(let d): return .double(Swift.abs(d))
        case .decimal128(let x): return .decimal128(x.magnitude)
        case .int32(let i): return Numeric.intOrLong(Swift.abs(Int64(i)))
        case .int64(let i):
            if i == .min { throw evalError("can't take $abs of long long min") }
            return .int64(Swift.abs(i))
        default: return v
        }
    }

    /// mongod's AddState: int/long sums exact (long overflow switches to double), doubles
    /// added left to right, a date turns the running total and every later operand into
    /// milliseconds (doubles rounded half away from zero, one by one).
    static func add(_ vals: [BSON?]) throws -> BSON? {
        var longTotal: Int64 = 0
        var doubleTotal = 0.0
        var decimalTotal = Decimal128.zero
        var widest = NumericType.int32
        var isDate = false
        func addToDate(_ v: BSON) throws {
            switch v {
            case .int32(let i): try addLong(Int64(i))
            case .int64(let i): try addLong(i)
            case .double(let d):
                guard d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else { throw evalError("date overflow") }
                try addLong(Int64(d.rounded(.toNearestOrAwayFromZero)))
            case .decimal128(let x):
                // mongod: toLong (ties to even, which raises no inexact flag); invalid is an overflow
                guard let l = x.toInt64(rounding: .toNearestOrEven) else { throw evalError("date overflow") }
                try addLong(l)
            default: break
            }
        }
        func addLong(_ x: Int64) throws {
            let (r, o) = longTotal.addingReportingOverflow(x)
            if o { throw evalError("date overflow") }
            longTotal = r
        }
        func current() -> BSON {
            switch widest {
            case .int32: return Numeric.intOrLong(longTotal)
            case .int64: return .int64(longTotal)
            case .double: return .double(doubleTotal)
            case .decimal: return .decimal128(decimalTotal)
            }
        }
        for v in vals {
            guard let v, !BSON.isNullish(v) else { return .null }
            switch v {
            case .date(let ms):
                if isDate { throw evalError("only one date allowed in an $add expression") }
                let old = current()
                longTotal = 0
                try addToDate(old)
                isDate = true
                try addLong(ms)
                continue
            case .int32, .int64, .double, .decimal128: break
            default: throw evalError("$add only supports numeric or date types, not \(v.typeName)")
            }
            if isDate { try addToDate(v); continue }
            let old = widest
            widest = max(widest, NumericType(v)!)
            if old != widest && widest == .double { doubleTotal = Double(longTotal) }
            if old != widest && widest == .decimal {
                // mongod: the long total exactly, the double total to 15 digits
                decimalTotal = old == .double ? Decimal128(roundingTo15: doubleTotal) : Decimal128(longTotal)
            }
            if widest == .decimal { decimalTotal = decimalTotal + Numeric.coerceToDecimal(v)!; continue }
            switch widest {
            case .int32, .int64:
                let x = Numeric.coerceToLong(v)!
                let (r, o) = longTotal.addingReportingOverflow(x)
                if o { widest = .double; doubleTotal = Double(longTotal) + v.doubleValue! } else { longTotal = r }
            default:
                doubleTotal += v.doubleValue!
            }
        }
        if isDate { return .date(longTotal) }
        return current()
    }

    static func subtract(_ l: BSON?, _ r: BSON?) throws -> BSON? {
        if let l, let r, let lt = NumericType(l), let rt = NumericType(r) {
            switch max(lt, rt) {
            case .decimal: return .decimal128(Numeric.coerceToDecimal(l)! - Numeric.coerceToDecimal(r)!)
            case .double: return .double(l.doubleValue! - r.doubleValue!)
            case .int64:
                let a = Numeric.coerceToLong(l)!, b = Numeric.coerceToLong(r)!
                let (res, o) = a.subtractingReportingOverflow(b)
                return o ? .double(Double(a) - Double(b)) : .int64(res)
            case .int32:
                return Numeric.intOrLong(Numeric.coerceToLong(l)! - Numeric.coerceToLong(r)!)
            }
        }
        if BSON.isNullish(l) || BSON.isNullish(r) { return .null }
        if case .date(let a)? = l {
            switch r {
            case .date(let b)?: return .int64(a &- b)
            case let n? where n.isNumber:
                if case .decimal128(let x) = n {
                    guard let l = x.toInt64(rounding: .toNearestOrEven) else { throw evalError("date overflow") }
                    let (r, o) = a.subtractingReportingOverflow(l)
                    if o { throw evalError("date overflow") }
                    return .date(r)
                }
                if case .double(let d) = n {
                    // mongod rounds a double number of milliseconds half away from zero.
                    guard d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else { throw evalError("date overflow") }
                    let (r, o) = a.subtractingReportingOverflow(Int64(d.rounded(.toNearestOrAwayFromZero)))
                    if o { throw evalError("date overflow") }
                    return .date(r)
                }
                let (r, o) = a.subtractingReportingOverflow(Numeric.coerceToLong(n)!)
                if o { throw evalError("date overflow") }
                return .date(r)
            default: throw evalError("can't $subtract \(typeName(r)) from Date")
            }
        }
        throw evalError("can't $subtract \(typeName(r)) from \(typeName(l))")
    }

    static func multiply(_ vals: [BSON?]) throws -> BSON? {
        var dbl = 1.0
        var lng: Int64 = 1
        var dec = Decimal128.zero
        var type = NumericType.int32
        for v in vals {
            guard let v, v.isNumber else {
                if BSON.isNullish(v) { return .null }
                throw evalError("$multiply only supports numeric types, not \(typeName(v))")
            }
            let old = type
            type = max(type, NumericType(v)!)
            if type == .decimal {
                // mongod: the product so far to decimal (a double one to 15 digits), then decimal
                if old != .decimal { dec = old == .double ? Decimal128(roundingTo15: dbl) : Decimal128(lng) }
                dec = dec * Numeric.coerceToDecimal(v)!
                continue
            }
            let d = v.doubleValue!
            dbl *= d
            if type != .double {
                let (p, o) = lng.multipliedReportingOverflow(by: Numeric.coerceToLong(v)!)
                if o || !d.isFinite { type = .double } else { lng = p }
            }
        }
        switch type {
        case .decimal: return .decimal128(dec)
        case .double: return .double(dbl)
        case .int64: return .int64(lng)
        default: return Numeric.intOrLong(lng)
        }
    }

    static func divide(_ l: BSON?, _ r: BSON?) throws -> BSON? {
        if let l, let r, l.isNumber, r.isNumber {
            if case .decimal128 = l { return try divideDecimal(l, r) }
            if case .decimal128 = r { return try divideDecimal(l, r) }
            let d = r.doubleValue!
            if d == 0 { throw evalError("can't $divide by zero") }
            return .double(l.doubleValue! / d)
        }
        if BSON.isNullish(l) || BSON.isNullish(r) { return .null }
        throw evalError("$divide only supports numeric types, not \(typeName(l)) and \(typeName(r))")
    }

    static func divideDecimal(_ l: BSON, _ r: BSON) throws -> BSON {
        let x = Numeric.coerceToDecimal(l)!, y = Numeric.coerceToDecimal(r)!
        if y.isZero { throw evalError("can't $divide by zero") }
        return .decimal128(x / y)
    }

    static func mod(_ l: BSON?, _ r: BSON?) throws -> BSON? {
        if let l, let r, l.isNumber, r.isNumber {
            if NumericType(l) == .decimal || NumericType(r) == .decimal {
                let x = Numeric.coerceToDecimal(l)!, y = Numeric.coerceToDecimal(r)!
                if y.isZero { throw evalError("can't $mod by zero") }
                return .decimal128(Decimal128.fmod(x, y))
            }
            let rd = r.doubleValue!
            if rd == 0 { throw evalError("can't $mod by zero") }
            if case .double = l { return .double(fmod(l.doubleValue!, rd)) }
            if case .double = r { return .double(fmod(l.doubleValue!, rd)) }
            if case .int64 = l {} else if case .int64 = r {} else {
                let a = Int32(truncatingIfNeeded: Numeric.coerceToLong(l)!), b = Int32(truncatingIfNeeded: Numeric.coerceToLong(r)!)
                return .int32(b == -1 ? 0 : a % b)
            }
            let a = Numeric.coerceToLong(l)!, b = Numeric.coerceToLong(r)!
            return .int64(b == -1 ? 0 : a % b)
        }
        if BSON.isNullish(l) || BSON.isNullish(r) { return .null }
        throw evalError("$mod only supports numeric types, not \(typeName(l)) and \(typeName(r))")
    }

    static func log(_ x: BSON?, _ b: BSON?) throws -> BSON? {
        if BSON.isNullish(x) || BSON.isNullish(b) { return .null }
        guard x!.isNumber else { throw evalError("$log's argument must be numeric, not \(typeName(x))") }
        guard b!.isNumber else { throw evalError("$log's base must be numeric, not \(typeName(b))") }
        if NumericType(x!) == .decimal || NumericType(b!) == .decimal {
            // mongod: ln(x) / ln(b), each rounded; other cases fall through to the double code
            let xx = Numeric.coerceToDecimal(x!)!, bb = Numeric.coerceToDecimal(b!)!
            let one = Decimal128(1)
            if Decimal128.compare(xx, .zero) > 0 && !bb.isNaN && Decimal128.compare(bb, one) != 0 && Decimal128.compare(bb, .zero) > 0 {
                return .decimal128(xx.ln() / bb.ln())
            }
        }
        let xd = x!.doubleValue!, bd = b!.doubleValue!
        if !(xd > 0 || xd.isNaN) { throw evalError("$log's argument must be a positive number, but is \(formatG(xd))") }
        if !((bd > 0 && bd != 1) || bd.isNaN) {
            throw evalError("$log's base must be a positive number not equal to 1, but is \(formatG(bd))")
        }
        return .double(Foundation.log(xd) / Foundation.log(bd))
    }

    static func pow(_ b: BSON?, _ e: BSON?) throws -> BSON? {
        if BSON.isNullish(b) || BSON.isNullish(e) { return .null }
        guard b!.isNumber else { throw evalError("$pow's base must be numeric, not \(typeName(b))") }
        guard e!.isNumber else { throw evalError("$pow's exponent must be numeric, not \(typeName(e))") }
        if NumericType(b!) == .decimal || NumericType(e!) == .decimal {
            let x = Numeric.coerceToDecimal(b!)!, y = Numeric.coerceToDecimal(e!)!
            if x.isZero && y.isNegative { throw evalError("$pow cannot take a base of 0 and a negative exponent") }
            return .decimal128(Decimal128.mongoPower(x, y))
        }
        let bd = b!.doubleValue!, ed = e!.doubleValue!
        if bd == 0 && ed < 0 { throw evalError("$pow cannot take a base of 0 and a negative exponent") }
        if case .double = b! { return .double(Foundation.pow(bd, ed)) }
        if case .double = e! { return .double(Foundation.pow(bd, ed)) }
        let anyLong: Bool = { if case .int64 = b! { return true }; if case .int64 = e! { return true }; return false }()
        func fmt(_ r: Int64) -> BSON { anyLong ? .int64(r) : Numeric.intOrLong(r) }
        let base = Numeric.coerceToLong(b!)!, exp = Numeric.coerceToLong(e!)!
        if base == 0 { return fmt(exp == 0 ? 1 : 0) }
        if base == 1 { return fmt(1) }
        if base == -1 { return fmt(exp % 2 == 0 ? 1 : -1) }
        if exp < 0 || exp > 63 { return .double(Foundation.pow(Double(base), Double(exp))) }
        var result: Int64 = 1
        for _ in 0..<exp {
            let (p, o) = result.multipliedReportingOverflow(by: base)
            if o { return .double(Foundation.pow(Double(base), Double(exp))) }
            result = p
        }
        return fmt(result)
    }

    /// mongod's bounded and unbounded trigonometric expressions: a decimal operand goes to the
    /// decimal function (NaN returned as it is when bounded; bounds compared in decimal, the
    /// value printed with its decimal string), any other number to the double one.
    static func trig(_ op: String, _ v: BSON?, _ f: (Double) -> Double, _ g: (Decimal128) -> Decimal128,
                     finiteOnly: Bool = false, range: (Double, Double)? = nil) throws -> BSON? {
        guard let v, !BSON.isNullish(v) else { return .null }
        guard v.isNumber else { throw evalError("\(op) supports only numeric types, not \(v.typeName)") }
        if case .decimal128(let x) = v {
            if finiteOnly || range != nil {
                if x.parts.kind == .nan { return v }
                let (lo, hi) = range ?? (-.infinity, .infinity)
                let inside = finiteOnly
                    ? Decimal128.compare(x, lo) > 0 && Decimal128.compare(x, hi) < 0
                    : Decimal128.compare(x, lo) >= 0 && Decimal128.compare(x, hi) <= 0
                if !inside {
                    let (l, r) = finiteOnly ? ("(", ")") : ("[", "]")
                    throw evalError("cannot apply \(op) to \(x.mongoString), value must be in \(l)\(formatG(lo)),\(formatG(hi))\(r)")
                }
            }
            return .decimal128(g(x))
        }
        let d = v.doubleValue!
        if finiteOnly && d.isInfinite {
            throw evalError("cannot apply \(op) to \(formatG(d)), value must be in (-inf,inf)")
        }
        if let (lo, hi) = range, !d.isNaN, d < lo || d > hi {
            throw evalError("cannot apply \(op) to \(formatG(d)), value must be in [\(formatG(lo)),\(formatG(hi))]")
        }
        return .double(f(d))
    }

    static func bitwise(_ op: String, _ vals: [BSON?], initial: Int64, _ f: (Int64, Int64) -> Int64) throws -> BSON? {
        var acc = initial
        var isLong = false
        for v in vals {
            switch v {
            case .int32(let i)?: acc = f(acc, Int64(i))
            case .int64(let i)?: acc = f(acc, i); isLong = true
            default:
                if BSON.isNullish(v) { return .null }
                throw evalError("\(op) only supports int and long operands.")
            }
        }
        return isLong ? .int64(acc) : .int32(Int32(truncatingIfNeeded: acc))
    }

    static func roundOrTrunc(_ op: String, _ c: EvalContext, _ a: ExprArgs, _ mode: FloatingPointRoundingRule) throws -> BSON? {
        let x = try c.arg(a, 0)
        guard let x, !BSON.isNullish(x) else { return .null }
        guard x.isNumber else { throw evalError("\(op) only supports numeric types, not \(x.typeName)") }
        var place: Int64 = 0
        if a.positional.count > 1 {
            let p = try c.arg(a, 1)
            guard let p, !BSON.isNullish(p) else { return .null }
            guard p.isNumber, Numeric.isIntegral32(p) else {
                throw evalError("precision argument to \(op) must be a integral value")
            }
            place = Numeric.coerceToLong(p)!
            if place < -20 || place > 100 {
                throw evalError("cannot apply \(op) with precision value \(place) value must be in [-20, 100]")
            }
        }
        switch x {
        case .decimal128(let d):
            if d.isInfinite { return x }
            return .decimal128(d.mongoQuantize(to: -Int(place), mode == .towardZero ? .towardZero : .toNearestOrEven, guarded: true))
        case .double(let d):
            return .double(DecimalRounding.round(d, place: Int(place), mode: mode))
        case .int32, .int64:
            if place >= 0 { return x }
            let v = Numeric.coerceToLong(x)!
            let r = DecimalRounding.roundInteger(v, place: Int(place), mode: mode)
            if case .int64 = x { return .int64(r) }
            if let i = Int32(exactly: r) { return .int32(i) }
            return .int64(r)
        default: return x
        }
    }
}

/// printf's "%g" (6 significant digits), as mongod's StringBuilder prints doubles in
/// messages and in `coerceToString` ($concat-free string coercions: $toLower, $substr...).
func formatG(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    return String(format: "%g", d)
}

/// `$round`/`$trunc` on doubles the way mongod does them: the double is converted to a
/// decimal128 rounded to 34 significant digits, quantized to 10^-place with the rounding
/// mode (ties to even for `$round`, toward zero for `$trunc`), and converted back.
enum DecimalRounding {
    static func round(_ x: Double, place: Int, mode: FloatingPointRoundingRule) -> Double {
        if x.isNaN || x.isInfinite { return x }
        if x == 0 { return x }
        var (digits, exp) = exactDecimal(Swift.abs(x))  // value = digits × 10^exp
        // Round to 34 significant digits, ties to even.
        if digits.count > 34 {
            let drop = digits.count - 34
            (digits, exp) = roundDigits(digits, exp, drop: drop, mode: .toNearestOrEven)
        }
        // mongod's Decimal128::quantize returns the value unchanged when the result would need
        // more than 34 digits.
        let msdExp = exp + digits.count - 1
        if msdExp + place > 33 { return x }
        // Quantize to exponent -place.
        let target = -place
        if exp < target {
            (digits, exp) = roundDigits(digits, exp, drop: target - exp, mode: mode)
        } else if exp > target {
            digits += [UInt8](repeating: 0, count: exp - target)
            exp = target
        }
        // Strip leading zeros to count the coefficient's digits.
        while digits.count > 1 && digits.first == 0 { digits.removeFirst() }
        let text = (x < 0 ? "-" : "") + String(decoding: digits.map { $0 + 48 }, as: UTF8.self) + "e\(exp)"
        return Double(text) ?? .nan
    }

    /// Rounds away `drop` low digits of `digits × 10^exp`.
    static func roundDigits(_ digits: [UInt8], _ exp: Int, drop: Int, mode: FloatingPointRoundingRule) -> ([UInt8], Int) {
        if drop <= 0 { return (digits, exp) }
        var keep: [UInt8]
        let dropped: ArraySlice<UInt8>
        if drop >= digits.count {
            keep = [0]
            dropped = digits[...]
            // digits shorter than the rounding position: pad the dropped part conceptually
            let padded = [UInt8](repeating: 0, count: drop - digits.count) + digits
            return finishRounding(keep: &keep, dropped: padded[...], exp: exp + drop, mode: mode)
        }
        keep = Array(digits[0..<(digits.count - drop)])
        dropped = digits[(digits.count - drop)...]
        return finishRounding(keep: &keep, dropped: dropped, exp: exp + drop, mode: mode)
    }

    static func finishRounding(keep: inout [UInt8], dropped: ArraySlice<UInt8>, exp: Int, mode: FloatingPointRoundingRule) -> ([UInt8], Int) {
        var roundUp = false
        switch mode {
        case .towardZero, .down: roundUp = false
        default:
            let first = dropped.first ?? 0
            let restNonZero = dropped.dropFirst().contains { $0 != 0 }
            if first > 5 || (first == 5 && restNonZero) { roundUp = true }
            else if first == 5 {
                if mode == .toNearestOrAwayFromZero { roundUp = true } else { roundUp = (keep.last ?? 0) % 2 == 1 }
            }
        }
        if roundUp {
            var i = keep.count - 1
            while i >= 0 {
                if keep[i] == 9 { keep[i] = 0; i -= 1 } else { keep[i] += 1; break }
            }
            if i < 0 { keep.insert(1, at: 0) }
        }
        return (keep, exp)
    }

    /// The exact decimal expansion of a positive finite double: (digits, exponent).
    static func exactDecimal(_ x: Double) -> ([UInt8], Int) {
        let m = x.significandBitPattern | (x.exponentBitPattern == 0 ? 0 : (1 << 52))
        var e = Int(x.exponentBitPattern) - 1075
        if x.exponentBitPattern == 0 { e = -1074 }
        var n = BigUInt(m)
        var exp10 = 0
        if e >= 0 {
            n.shiftLeft(e)
        } else {
            for _ in 0..<(-e) { n.multiply(by: 5) }
            exp10 = e
        }
        var digits = n.decimalDigits()
        // normalise: strip trailing zeros
        while digits.count > 1 && digits.last == 0 { digits.removeLast(); exp10 += 1 }
        return (digits, exp10)
    }

    static func roundInteger(_ v: Int64, place: Int, mode: FloatingPointRoundingRule) -> Int64 {
        // place < 0: round to 10^-place
        let digits = Array(String(v.magnitude).utf8.map { $0 - 48 })
        let drop = -place
        var (d, exp) = roundDigits(digits, 0, drop: drop, mode: mode)
        while d.count > 1 && d.first == 0 { d.removeFirst() }
        var mag: UInt64 = 0
        for x in d { mag = mag &* 10 &+ UInt64(x) }
        for _ in 0..<exp { mag = mag &* 10 }
        return v < 0 ? -Int64(truncatingIfNeeded: mag) : Int64(truncatingIfNeeded: mag)
    }
}

/// A small arbitrary-precision unsigned integer (little-endian 32-bit limbs), enough to
/// print doubles exactly.
struct BigUInt {
    var limbs: [UInt32]
    init(_ v: UInt64) { limbs = [UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)] }

    mutating func multiply(by m: UInt32) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let p = UInt64(limbs[i]) * UInt64(m) + carry
            limbs[i] = UInt32(truncatingIfNeeded: p)
            carry = p >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    mutating func shiftLeft(_ n: Int) {
        for _ in 0..<(n / 31) { multiply(by: 1 << 31) }
        if n % 31 > 0 { multiply(by: 1 << UInt32(n % 31)) }
    }

    /// Divides in place by `d`, returning the remainder.
    mutating func divide(by d: UInt32) -> UInt32 {
        var rem: UInt64 = 0
        for i in limbs.indices.reversed() {
            let cur = (rem << 32) | UInt64(limbs[i])
            limbs[i] = UInt32(cur / UInt64(d))
            rem = cur % UInt64(d)
        }
        while limbs.count > 1 && limbs.last == 0 { limbs.removeLast() }
        return UInt32(rem)
    }

    var isZero: Bool { limbs.allSatisfy { $0 == 0 } }

    func decimalDigits() -> [UInt8] {
        var n = self
        var chunks: [UInt32] = []
        while !n.isZero { chunks.append(n.divide(by: 1_000_000_000)) }
        if chunks.isEmpty { return [0] }
        var out: [UInt8] = []
        for (i, c) in chunks.reversed().enumerated() {
            let s = String(c)
            let padded = i == 0 ? s : String(repeating: "0", count: 9 - s.count) + s
            out += padded.utf8.map { $0 - 48 }
        }
        return out
    }
}
