import StrataBSON
import StrataLibBSON

/// MongoDB's canonical comparison of BSON values (mongod's `Value::compare`).
///
/// Types are first ordered by their canonical rank:
/// MinKey < missing = undefined < null < numbers < string = symbol < object < array
/// < binData < ObjectId < bool < date < timestamp < regex < dbPointer < javascript
/// < javascriptWithScope < MaxKey.
/// Within a rank: numbers compare by value across int32/int64/double (exactly;
/// NaN equals NaN and is below every other number), decimal128 too (mongod's
/// `compareDecimalTo*`: exact against ints, longs and doubles; see `Decimal/`);
/// strings compare by their UTF-8 bytes (no collation); documents field by field
/// (canonical type of the value, then the field name, then the value; a shorter document
/// is less); arrays element by element (shorter is less); binData by length, then
/// subtype, then bytes.
///
/// In aggregation expressions missing compares *below* null (`{$lt: ["$nope", null]}` is
/// true); `$sort` and `$group` treat missing as null (see `SortKey` and `GroupKey`).
package enum BSONOrder {
    /// The canonical type rank (mongod's `canonicalizeBSONType`); `nil` (missing) ranks as undefined.
    @inlinable
    package static func rank(_ v: BSON?) -> Int {
        guard let v else { return 0 }
        switch v {
        case .minKey: return -1
        case .undefined: return 0
        case .null: return 5
        case .int32, .int64, .double, .decimal128: return 10
        case .string, .symbol: return 15
        case .document: return 20
        case .array: return 25
        case .binary: return 30
        case .objectId: return 35
        case .bool: return 40
        case .date: return 45
        case .timestamp: return 47
        case .regex: return 50
        case .dbPointer: return 55
        case .javascript: return 60
        case .javascriptWithScope: return 65
        case .maxKey: return 127
        }
    }

    /// -1, 0 or 1.
    package static func compare(_ a: BSON?, _ b: BSON?) -> Int {
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb ? -1 : 1 }
        guard let a, let b else { return 0 }
        switch (a, b) {
        case (.string(let x), _), (.symbol(let x), _):
            let y: String
            switch b { case .string(let s), .symbol(let s): y = s; default: return 0 }
            return compareStrings(x, y)
        case (.document(let x), .document(let y)): return compareDocuments(x, y)
        case (.array(let x), .array(let y)): return compareArrays(x, y)
        case (.binary(let x), .binary(let y)):
            if x.data.count != y.data.count { return x.data.count < y.data.count ? -1 : 1 }
            if x.subtype != y.subtype { return x.subtype < y.subtype ? -1 : 1 }
            return compareBytes(x.data, y.data)
        case (.objectId(let x), .objectId(let y)): return compareBytes(x.bytes, y.bytes)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.date(let x), .date(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.timestamp(let x), .timestamp(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.regex(let x), .regex(let y)):
            let c = compareStrings(x.pattern, y.pattern)
            return c != 0 ? c : compareStrings(x.options, y.options)
        case (.dbPointer(let xr, let xi), .dbPointer(let yr, let yi)):
            let xl = xr.utf8.count, yl = yr.utf8.count
            if xl != yl { return xl < yl ? -1 : 1 }
            let c = compareStrings(xr, yr)
            return c != 0 ? c : compareBytes(xi.bytes, yi.bytes)
        case (.javascript(let x), .javascript(let y)): return compareStrings(x, y)
        case (.javascriptWithScope(let xc, let xs), .javascriptWithScope(let yc, let ys)):
            let c = compareStrings(xc, yc)
            return c != 0 ? c : compareDocuments(xs, ys)
        default:
            if a.isNumber { return compareNumbers(a, b) }
            return 0  // minKey, maxKey, null, undefined: valueless
        }
    }

    /// MongoDB equality (`compare == 0`).
    @inlinable
    package static func equal(_ a: BSON?, _ b: BSON?) -> Bool { compare(a, b) == 0 }

    /// Compares the UTF-8 bytes of two strings (MongoDB's binary string order).
    package static func compareStrings(_ a: String, _ b: String) -> Int {
        var ia = a.utf8.makeIterator(), ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?): if x != y { return x < y ? -1 : 1 }
            }
        }
    }


    static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    package static func compareDocuments(_ a: Document, _ b: Document) -> Int {
        var i = 0
        let fa = a.fields, fb = b.fields
        while true {
            if i == fa.count { return i == fb.count ? 0 : -1 }
            if i == fb.count { return 1 }
            let (ka, va) = fa[i], (kb, vb) = fb[i]
            let ra = rank(va), rb = rank(vb)
            if ra != rb { return ra < rb ? -1 : 1 }
            let c = compareStrings(ka, kb)
            if c != 0 { return c }
            let v = compare(va, vb)
            if v != 0 { return v }
            i += 1
        }
    }

    package static func compareArrays(_ a: [BSON], _ b: [BSON]) -> Int {
        for (x, y) in zip(a, b) {
            let c = compare(x, y)
            if c != 0 { return c }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Compares two numeric values by value (both must be numbers).
    package static func compareNumbers(_ a: BSON, _ b: BSON) -> Int {
        switch (a, b) {
        case (.int32(let x), .int32(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.int32(let x), .int64(let y)): return cmp(Int64(x), y)
        case (.int64(let x), .int32(let y)): return cmp(x, Int64(y))
        case (.int64(let x), .int64(let y)): return cmp(x, y)
        case (.int32(let x), .double(let y)): return compareIntDouble(Int64(x), y)
        case (.int64(let x), .double(let y)): return compareIntDouble(x, y)
        case (.double(let x), .int32(let y)): return -compareIntDouble(Int64(y), x)
        case (.double(let x), .int64(let y)): return -compareIntDouble(y, x)
        case (.double(let x), .double(let y)): return compareDoubles(x, y)
        case (.decimal128(let x), .decimal128(let y)): return Decimal128.compare(x, y)
        case (.decimal128(let x), .int32(let y)): return Decimal128.compare(x, Decimal128(Int64(y)))
        case (.decimal128(let x), .int64(let y)): return Decimal128.compare(x, Decimal128(y))
        case (.decimal128(let x), .double(let y)): return Decimal128.compare(x, y)
        case (_, .decimal128): return -compareNumbers(b, a)
        default: return 0
        }
    }

    @inlinable
    static func cmp(_ x: Int64, _ y: Int64) -> Int { x == y ? 0 : (x < y ? -1 : 1) }

    /// NaN == NaN, NaN below everything else.
    package static func compareDoubles(_ x: Double, _ y: Double) -> Int {
        if x < y { return -1 }
        if x > y { return 1 }
        if x == y { return 0 }
        if x.isNaN { return y.isNaN ? 0 : -1 }
        return 1  // y is NaN
    }

    /// Exact comparison of an Int64 and a Double.
    package static func compareIntDouble(_ x: Int64, _ y: Double) -> Int {
        if y.isNaN { return 1 }
        if y >= 9.223372036854775808e18 { return -1 }
        if y < -9.223372036854775808e18 { return 1 }
        let t = y.rounded(.towardZero)
        let ty = Int64(t)
        if x != ty { return x < ty ? -1 : 1 }
        // integer parts equal: the fractional part decides
        if y == t { return 0 }
        return y > t ? -1 : 1
    }
}

extension BSON {
    /// MongoDB's truthiness (`coerceToBool`): false for false, null, undefined, missing and
    /// numeric zero; true for everything else (NaN, "", [] and {} included).
    @inlinable
    package static func truthy(_ v: BSON?) -> Bool {
        guard let v else { return false }
        switch v {
        case .bool(let b): return b
        case .null, .undefined: return false
        case .int32(let i): return i != 0
        case .int64(let i): return i != 0
        case .double(let d): return d != 0
        case .decimal128(let d): return !d.isZero
        default: return true
        }
    }

    /// True for null, undefined and missing (mongod's `nullish`).
    @inlinable
    package static func isNullish(_ v: BSON?) -> Bool {
        guard let v else { return true }
        switch v {
        case .null, .undefined: return true
        default: return false
        }
    }
}
