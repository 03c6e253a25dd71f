/// A 12-byte ObjectId.
public struct ObjectId: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 12 else { return nil }
        self.bytes = bytes
    }

    /// Parses 24 hex digits.
    public init?(_ hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 24 else { return nil }
        var out = [UInt8](); out.reserveCapacity(12)
        var i = 0
        while i < 24 {
            guard let hi = hexNibble(utf8[i]), let lo = hexNibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo); i += 2
        }
        bytes = out
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var s = [UInt8](); s.reserveCapacity(24)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return String(decoding: s, as: UTF8.self)
    }

    public var description: String { hex }
    /// Seconds since the epoch stored in the first four bytes.
    public var timestamp: UInt32 { bytes[0..<4].reduce(0) { $0 << 8 | UInt32($1) } }

    public static func < (a: ObjectId, b: ObjectId) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

private func hexNibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

public struct BSONBinary: Sendable, Hashable {
    public var subtype: UInt8
    public var data: [UInt8]
    public init(subtype: UInt8, data: [UInt8]) { self.subtype = subtype; self.data = data }
}

public struct BSONRegex: Sendable, Hashable {
    public var pattern: String
    public var options: String
    public init(pattern: String, options: String) { self.pattern = pattern; self.options = options }
}

public struct BSONTimestamp: Sendable, Hashable, Comparable {
    public var t: UInt32
    public var i: UInt32
    public init(t: UInt32, i: UInt32) { self.t = t; self.i = i }
    public static func < (a: BSONTimestamp, b: BSONTimestamp) -> Bool { (a.t, a.i) < (b.t, b.i) }
}

/// A decimal128 value, kept as its IEEE 754-2008 BID encoding. Text conversion
/// goes through libbson (see `Decimal128+LibBSON.swift` in StrataLibBSON).
public struct Decimal128: Sendable, Hashable {
    public var low: UInt64
    public var high: UInt64
    public init(low: UInt64, high: UInt64) { self.low = low; self.high = high }
}
