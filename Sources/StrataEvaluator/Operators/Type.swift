import Foundation
import StrataBSON
import StrataLibBSON

extension EvalContext {
    static let typeOps: [String: OpFn] = [
        "$type": { c, a in .string(typeName(try c.arg(a, 0))) },
        "$isNumber": { c, a in .bool(try c.arg(a, 0)?.isNumber ?? false) },
        "$toInt": { c, a in try convert(c.arg(a, 0), to: .int32) },
        "$toLong": { c, a in try convert(c.arg(a, 0), to: .int64) },
        "$toDouble": { c, a in try convert(c.arg(a, 0), to: .double) },
        "$toDecimal": { c, a in try convert(c.arg(a, 0), to: .decimal) },
        "$toBool": { c, a in try convert(c.arg(a, 0), to: .bool) },
        "$toDate": { c, a in try convert(c.arg(a, 0), to: .date) },
        "$toObjectId": { c, a in try convert(c.arg(a, 0), to: .objectId) },
        "$toString": { c, a in try convert(c.arg(a, 0), to: .string) },
        "$convert": { c, a in
            let to = try c.named(a, "to")
            let input = try c.named(a, "input")
            var target: ConvertTarget?
            if !BSON.isNullish(to) { target = try ConvertTarget(to!) }
            if BSON.isNullish(input) { return a["onNull"] != nil ? try c.named(a, "onNull") : .null }
            guard let target else { return .null }
            do {
                return try performConversion(input!, target)
            } catch let e as ConversionFailure {
                if a["onError"] != nil { return try c.named(a, "onError") }
                throw evalError(e.message)
            }
        },
        "$binarySize": { c, a in
            let v = try c.arg(a, 0)
            switch v {
            case .string(let s)?: return .int32(Int32(s.utf8.count))
            case .binary(let b)?: return .int32(Int32(b.data.count))
            default:
                if BSON.isNullish(v) { return .null }
                throw evalError("$binarySize requires a string or BinData argument, found: \(typeName(v))")
            }
        },
        "$bsonSize": { c, a in
            let v = try c.arg(a, 0)
            if BSON.isNullish(v) { return .null }
            guard case .document(let d)? = v else { throw evalError("$bsonSize requires a document input, found: \(typeName(v))") }
            return .int32(Int32(BSONSize.document(d)))
        },
        "$tsSecond": { c, a in
            let v = try c.arg(a, 0)
            if BSON.isNullish(v) { return .null }
            guard case .timestamp(let t)? = v else { throw evalError("$tsSecond requires a timestamp argument, found: \(typeName(v))") }
            return .int64(Int64(t.t))
        },
        "$tsIncrement": { c, a in
            let v = try c.arg(a, 0)
            if BSON.isNullish(v) { return .null }
            guard case .timestamp(let t)? = v else { throw evalError("$tsIncrement requires a timestamp argument, found: \(typeName(v))") }
            return .int64(Int64(t.i))
        },
    ]

    enum ConvertTarget {
        case double, string, objectId, bool, date, int32, int64, decimal, other(String)

        init(_ v: BSON) throws {
            switch v {
            case .string(let s):
                switch s {
                case "double": self = .double
                case "string": self = .string
                case "objectId": self = .objectId
                case "bool": self = .bool
                case "date": self = .date
                case "int": self = .int32
                case "long": self = .int64
                case "decimal": self = .decimal
                case "object", "array", "binData", "undefined", "null", "regex", "dbPointer", "javascript", "symbol",
                     "javascriptWithScope", "timestamp", "minKey", "maxKey", "missing":
                    self = .other(s)
                default: throw evalError("Unknown type name: \(s)")
                }
            case let n where n.isNumber:
                guard Numeric.isIntegral32(n) else { throw evalError("In $convert, numeric 'to' argument is not an integer") }
                switch Numeric.coerceToLong(n)! {
                case 1: self = .double
                case 2: self = .string
                case 7: self = .objectId
                case 8: self = .bool
                case 9: self = .date
                case 16: self = .int32
                case 18: self = .int64
                case 19: self = .decimal
                case let code where [-1, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 17, 127].contains(code): self = .other(String(code))
                case let code: throw evalError("In $convert, numeric value for 'to' does not correspond to a BSON type: \(code)")
                }
            default:
                throw evalError("$convert's 'to' argument must be a string or number, but is \(v.typeName)")
            }
        }

        var name: String {
            switch self {
            case .double: return "double"
            case .string: return "string"
            case .objectId: return "objectId"
            case .bool: return "bool"
            case .date: return "date"
            case .int32: return "int"
            case .int64: return "long"
            case .decimal: return "decimal"
            case .other(let s): return s
            }
        }
    }

    struct ConversionFailure: Error { let message: String }

    static func convert(_ v: BSON?, to t: ConvertTarget) throws -> BSON? {
        if BSON.isNullish(v) { return .null }
        do { return try performConversion(v!, t) } catch let e as ConversionFailure { throw evalError(e.message) }
    }

    static func performConversion(_ v: BSON, _ t: ConvertTarget) throws -> BSON {
        func unsupportedConversion() -> ConversionFailure {
            ConversionFailure(message: "Unsupported conversion from \(v.typeName) to \(t.name) in $convert with no onError value")
        }
        if case .decimal128(let x) = v { return try convertDecimal(x, v, t, unsupportedConversion) }
        // One arm per target type, each a flat switch over the input's type.
        switch t {
        case .bool:
            switch v {
            case .minKey, .maxKey, .document, .array, .binary, .regex, .dbPointer, .javascript, .symbol,
                 .javascriptWithScope, .timestamp, .string, .objectId, .date: return .bool(true)
            case .bool, .int32, .int64, .double: return .bool(BSON.truthy(v))
            default: throw unsupportedConversion()
            }
        case .double:
            switch v {
            case .double: return v
            case .int32(let i): return .double(Double(i))
            case .int64(let i): return .double(Double(i))
            case .bool(let b): return .double(b ? 1 : 0)
            case .date(let ms): return .double(Double(ms))
            case .string(let s): return .double(try parseDouble(s))
            default: throw unsupportedConversion()
            }
        case .int32: return try convertToInt32(v, unsupportedConversion)
        case .int64: return try convertToInt64(v, unsupportedConversion)
        case .string:
            switch v {
            case .string: return v
            case .double(let d): return .string(formatDoubleShortest(d))
            case .int32(let i): return .string(String(i))
            case .int64(let i): return .string(String(i))
            case .bool(let b): return .string(b ? "true" : "false")
            case .date(let ms): return .string(DateFormat.format(ms, format: DateFormat.isoFormat, zone: .utc))
            case .objectId(let o): return .string(o.hex)
            default: throw unsupportedConversion()
            }
        case .date:
            switch v {
            case .date: return v
            case .int64(let i): return .date(i)
            case .double(let d): return .date(try doubleToLong(d))
            case .objectId(let o): return .date(Int64(o.timestamp) * 1000)
            case .timestamp(let ts): return .date(Int64(ts.t) * 1000)
            case .string(let s):
                do {
                    return .date(try DateParse.parseDefault(s, zone: .utc, hasZoneArgument: false))
                } catch let e as StrataError where e.kind == .evaluation {
                    throw ConversionFailure(message: e.message)
                }
            default: throw unsupportedConversion()
            }
        case .objectId:
            switch v {
            case .objectId: return v
            case .string(let s):
                guard let o = ObjectId(s) else {
                    throw ConversionFailure(message: "Failed to parse objectId '\(s)' in $convert with no onError value: Invalid string length for parsing to OID, expected 24 but found \(s.utf8.count)")
                }
                return .objectId(o)
            default: throw unsupportedConversion()
            }
        case .decimal:
            // mongod: ints, longs and dates exactly, doubles to 15 digits, bools 1 or 0,
            // strings parsed (rounded to 34 digits)
            switch v {
            case .int32, .int64, .double: return .decimal128(Numeric.coerceToDecimal(v)!)
            case .bool(let b): return .decimal128(Decimal128(Int64(b ? 1 : 0)))
            case .date(let ms): return .decimal128(Decimal128(ms))
            case .string(let s):
                guard let d = Decimal128.parse(s) else {
                    throw ConversionFailure(message: "Failed to parse number '\(s)' in $convert with no onError value")
                }
                return .decimal128(d)
            default: throw unsupportedConversion()
            }
        case .other:
            throw unsupportedConversion()
        }
    }

    /// `$convert` to int32: mongod's arm for each input type.
    static func convertToInt32(_ v: BSON, _ unsupportedConversion: () -> ConversionFailure) throws -> BSON {
        switch v {
        case .int32: return v
        case .int64(let i):
            guard let x = Int32(exactly: i) else {
                throw ConversionFailure(message: "Conversion would overflow target type in $convert with no onError value: \(i)")
            }
            return .int32(x)
        case .double(let d):
            try checkFinite(d)
            guard d >= -2147483648, d <= 2147483647 else {
                throw ConversionFailure(message: "Conversion would overflow target type in $convert with no onError value: \(formatG(d))")
            }
            return .int32(Int32(d.rounded(.towardZero)))
        case .bool(let b): return .int32(b ? 1 : 0)
        case .string(let s):
            guard !s.hasPrefix("0x"), !s.hasPrefix("0X"), let x = Int32(s) else {
                throw ConversionFailure(message: "Failed to parse number '\(s)' in $convert with no onError value")
            }
            return .int32(x)
        default: throw unsupportedConversion()
        }
    }

    /// `$convert` to int64: mongod's arm for each input type.
    static func convertToInt64(_ v: BSON, _ unsupportedConversion: () -> ConversionFailure) throws -> BSON {
        switch v {
        case .int64: return v
        case .int32(let i): return .int64(Int64(i))
        case .double(let d): return .int64(try doubleToLong(d))
        case .bool(let b): return .int64(b ? 1 : 0)
        case .date(let ms): return .int64(ms)
        case .string(let s):
            guard !s.hasPrefix("0x"), !s.hasPrefix("0X"), let x = Int64(s) else {
                throw ConversionFailure(message: "Failed to parse number '\(s)' in $convert with no onError value")
            }
            return .int64(x)
        default: throw unsupportedConversion()
        }
    }

    /// mongod's performCastDecimalToDouble / performCastDecimalToInt / performFormatDecimal.
    static func convertDecimal(_ x: Decimal128, _ v: BSON, _ t: ConvertTarget,
                               _ unsupportedConversion: () -> ConversionFailure) throws -> BSON {
        func checkIntegral() throws {
            if x.isNaN { throw ConversionFailure(message: "Attempt to convert NaN value to integer type in $convert with no onError value") }
            if x.isInfinite { throw ConversionFailure(message: "Attempt to convert infinity value to integer type in $convert with no onError value") }
        }
        func overflow() -> ConversionFailure {
            ConversionFailure(message: "Conversion would overflow target type in $convert with no onError value: \(x.mongoString)")
        }
        switch t {
        case .bool: return .bool(BSON.truthy(v))
        case .string: return .string(x.mongoString)
        case .decimal: return v
        case .double:
            let (d, inexact) = x.toDouble()
            // overflow, and underflow (a tiny result that is inexact), are errors
            if x.isFinite && (d.isInfinite || (inexact && (d == 0 || d.isSubnormal))) { throw overflow() }
            return .double(d)
        case .int32:
            try checkIntegral()
            guard let l = x.toInt64(rounding: .towardZero), let i = Int32(exactly: l) else { throw overflow() }
            return .int32(i)
        case .int64:
            try checkIntegral()
            guard let l = x.toInt64(rounding: .towardZero) else { throw overflow() }
            return .int64(l)
        case .date:
            try checkIntegral()
            guard let l = x.toInt64(rounding: .towardZero) else { throw overflow() }
            return .date(l)
        default: throw unsupportedConversion()
        }
    }

    static func checkFinite(_ d: Double) throws {
        if d.isNaN { throw ConversionFailure(message: "Attempt to convert NaN value to integer type in $convert with no onError value") }
        if d.isInfinite { throw ConversionFailure(message: "Attempt to convert infinity value to integer type in $convert with no onError value") }
    }

    static func doubleToLong(_ d: Double) throws -> Int64 {
        try checkFinite(d)
        guard d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else {
            throw ConversionFailure(message: "Conversion would overflow target type in $convert with no onError value: \(formatG(d))")
        }
        return Int64(d.rounded(.towardZero))
    }

    static func parseDouble(_ s: String) throws -> Double {
        if s.hasPrefix("0x") || s.hasPrefix("0X") || s.hasPrefix("-0x") || s.hasPrefix("-0X") || s.hasPrefix("+0x") {
            throw ConversionFailure(message: "Illegal hexadecimal input in $convert with no onError value: \(s)")
        }
        let lower = s.lowercased()
        let specials: [String: Double] = ["inf": .infinity, "+inf": .infinity, "-inf": -.infinity, "infinity": .infinity,
                                          "+infinity": .infinity, "-infinity": -.infinity, "nan": .nan, "+nan": .nan, "-nan": .nan]
        if let v = specials[lower] { return v }
        guard !s.isEmpty, let d = Double(s), s.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }) else {
            throw ConversionFailure(message: "Failed to parse number '\(s)' in $convert with no onError value")
        }
        // mongod parses with strtod and refuses what sets ERANGE: an overflow ("5e550"),
        // and an underflow to a subnormal or to zero ("1e-400"), as glibc reports them.
        if outOfRange(s) {
            throw ConversionFailure(message: "Failed to parse number '\(s)' in $convert with no onError value: Out of range")
        }
        return d
    }

    /// True when C's strtod sets ERANGE for `s` (the platform's libc, as mongod's).
    static func outOfRange(_ s: String) -> Bool {
        s.withCString { p -> Bool in
            errno = 0
            _ = strtod(p, nil)
            return errno == ERANGE
        }
    }
}

/// A double printed the way current mongod's `$toString`/`$convert` print it (fmt's "{}"):
/// the shortest representation that round-trips, fixed notation when the decimal exponent is
/// in [-4, 16), otherwise scientific with a sign and at least two exponent digits.
func formatDoubleShortest(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
    if d == 0 { return d.sign == .minus ? "-0" : "0" }
    // Swift's description is the shortest round-trip representation; extract its digits.
    var s = "\(Swift.abs(d))"
    var exp = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exp = Int(s[s.index(after: e)...])!
        s = String(s[..<e])
    }
    var intPart = s, frac = ""
    if let dot = s.firstIndex(of: ".") { intPart = String(s[..<dot]); frac = String(s[s.index(after: dot)...]) }
    var digits = intPart + frac
    var pointPos = intPart.count + exp  // digits before the decimal point
    // strip leading zeros
    while digits.count > 1 && digits.first == "0" { digits.removeFirst(); pointPos -= 1 }
    while digits.count > 1 && digits.last == "0" { digits.removeLast() }
    let sciExp = pointPos - 1
    let sign = d < 0 ? "-" : ""
    if sciExp < -4 || sciExp >= 16 {
        var m = String(digits.first!)
        if digits.count > 1 { m += "." + digits.dropFirst() }
        let e = Swift.abs(sciExp)
        return sign + m + "e" + (sciExp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
    }
    if pointPos <= 0 {
        return sign + "0." + String(repeating: "0", count: -pointPos) + digits
    }
    if pointPos >= digits.count {
        return sign + digits + String(repeating: "0", count: pointPos - digits.count)
    }
    let idx = digits.index(digits.startIndex, offsetBy: pointPos)
    return sign + digits[..<idx] + "." + digits[idx...]
}

/// The encoded size of BSON values ($bsonSize).
enum BSONSize {
    static func document(_ d: Document) -> Int {
        4 + d.reduce(0) { $0 + 1 + $1.key.utf8.count + 1 + value($1.value) } + 1
    }
    static func value(_ v: BSON) -> Int {
        switch v {
        case .double, .date, .int64, .timestamp: return 8
        case .string(let s), .javascript(let s), .symbol(let s): return 4 + s.utf8.count + 1
        case .document(let d): return document(d)
        case .array(let a):
            return 4 + a.enumerated().reduce(0) { $0 + 1 + String($1.offset).utf8.count + 1 + value($1.element) } + 1
        case .binary(let b): return 4 + 1 + b.data.count
        case .undefined, .null, .minKey, .maxKey: return 0
        case .objectId: return 12
        case .bool: return 1
        case .regex(let r): return r.pattern.utf8.count + 1 + r.options.utf8.count + 1
        case .dbPointer(let ref, _): return 4 + ref.utf8.count + 1 + 12
        case .javascriptWithScope(let c, let s): return 4 + 4 + c.utf8.count + 1 + document(s)
        case .int32: return 4
        case .decimal128: return 16
        }
    }
}
