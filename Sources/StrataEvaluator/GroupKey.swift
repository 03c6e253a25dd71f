import StrataBSON
import StrataLibBSON

/// A `Hashable` wrapper of a BSON value with MongoDB's equality: numbers by value across
/// types (1 == 1.0 == 1L == decimal 1, -0.0 == 0, NaN == NaN), strings by bytes (a symbol
/// equals the string with the same text), documents field by field in order, arrays
/// element by element, missing == undefined (but not null). Used by `$group` keys,
/// `$addToSet`, the set operators and `$in`.
///
/// `$group` itself turns a missing `_id` expression into null before building the key
/// (mongod does the same), so missing and null fall in one group there.
package struct GroupKey: Hashable, Sendable, CustomStringConvertible {
    package let value: BSON?

    @inlinable package init(_ value: BSON?) { self.value = value }

    package static func == (a: GroupKey, b: GroupKey) -> Bool { BSONOrder.compare(a.value, b.value) == 0 }

    package func hash(into h: inout Hasher) { GroupKey.hash(value, into: &h) }

    static func hash(_ v: BSON?, into h: inout Hasher) {
        let r = BSONOrder.rank(v)
        h.combine(r)
        guard let v else { return }
        switch v {
        case .int32(let i): h.combine(Int64(i))
        case .int64(let i): h.combine(i)
        case .double(let d): hashDouble(d, into: &h)
        case .decimal128(let d):
            // equal numbers hash alike: an integral decimal in Int64's range like that Int64,
            // any other like its nearest double (a double equal to it is that double)
            if let i = d.exactInt64 { h.combine(i) } else { hashDouble(d.toDouble().0, into: &h) }
        case .string(let s), .symbol(let s), .javascript(let s):
            for b in s.utf8 { h.combine(b) }
            h.combine(0xFF as UInt8)
        case .document(let d):
            h.combine(d.count)
            for (k, x) in d {
                for b in k.utf8 { h.combine(b) }
                h.combine(0xFF as UInt8)
                hash(x, into: &h)
            }
        case .array(let a):
            h.combine(a.count)
            for x in a { hash(x, into: &h) }
        case .binary(let b): h.combine(b.subtype); h.combine(b.data)
        case .objectId(let o): h.combine(o.bytes)
        case .bool(let b): h.combine(b)
        case .date(let d): h.combine(d)
        case .timestamp(let t): h.combine(t.t); h.combine(t.i)
        case .regex(let r): h.combine(Array(r.pattern.utf8)); h.combine(Array(r.options.utf8))
        case .dbPointer(let ref, let id): h.combine(Array(ref.utf8)); h.combine(id.bytes)
        case .javascriptWithScope(let c, let s): h.combine(Array(c.utf8)); hash(.document(s), into: &h)
        case .null, .undefined, .minKey, .maxKey: break
        }
    }

    static func hashDouble(_ d: Double, into h: inout Hasher) {
        if d.isNaN { h.combine(Int64.min); h.combine(1 as UInt8); return }
        if d.rounded(.towardZero) == d, d >= -9.223372036854775808e18, d < 9.223372036854775808e18 {
            h.combine(Int64(d))  // integral: hash like the equal Int64 (covers -0.0)
        } else {
            h.combine(d.bitPattern)
        }
    }

    package var description: String {
        guard let value else { return "(missing)" }
        return ExtendedJSON.string(value, mode: .relaxed)
    }
}
