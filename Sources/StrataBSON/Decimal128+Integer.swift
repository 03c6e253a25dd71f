extension Decimal128 {
    /// The value as an Int64 when it is an integer in Int64's range (mongod's `toLongExact`
    /// without flags), else nil; read exactly from the BID coefficient and exponent (a
    /// non-canonical coefficient is zero, as IEEE 754-2008 says).
    public var exactInt64: Int64? {
        let comb = (high >> 58) & 0x1f
        if comb >= 0x1e { return nil }  // infinity, NaN
        if (high >> 61) & 3 == 3 { return 0 }  // 11-form: coefficient above 10^34 − 1
        var c = (UInt128(high & 0x1_ffff_ffff_ffff) << 64) | UInt128(low)
        if c > 9_999_999_999_999_999_999_999_999_999_999_999 || c == 0 { return 0 }
        var e = Int((high >> 49) & 0x3fff) - 6176
        while e < 0 { if c % 10 != 0 { return nil }; c /= 10; e += 1 }
        while e > 0 { if c > UInt128(Int64.max) { return nil }; c *= 10; e -= 1 }
        let limit = UInt128(Int64.max) + (high >> 63 == 1 ? 1 : 0)
        if c > limit { return nil }
        if high >> 63 == 0 { return Int64(c) }
        return c == UInt128(Int64.max) + 1 ? .min : -Int64(c)
    }
}
