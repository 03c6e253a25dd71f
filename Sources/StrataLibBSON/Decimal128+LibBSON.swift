import CBSON
import StrataBSON

extension Decimal128: CustomStringConvertible, LosslessStringConvertible {
    /// Parses a decimal string ("1.10", "-Infinity", "NaN") with libbson.
    public init?(_ text: String) {
        var d = bson_decimal128_t()
        guard bson_decimal128_from_string(text, &d) else { return nil }
        self.init(low: d.low, high: d.high)
        // libbson turns unparseable text into NaN; only accept NaN when asked for.
        if isNaN && !text.lowercased().contains("nan") { return nil }
    }

    public var description: String {
        var d = bson_decimal128_t(low: low, high: high)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buf in
            bson_decimal128_to_string(&d, buf.baseAddress)
            return String(cString: buf.baseAddress!)
        }
    }

    package var isNaN: Bool { (high >> 58) & 0x1f == 0x1f }

    /// The nearest Double (through the decimal text; exact for values a double holds).
    package var doubleValue: Double? {
        let s = description
        switch s {
        case "NaN", "-NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(s)
        }
    }
}

extension BSON {
    /// The value as a Double, for int32, int64, double and decimal128 (a decimal through
    /// libbson's text, hence here rather than with `BSON`).
    package var doubleValue: Double? {
        switch self {
        case .int32(let v): return Double(v)
        case .int64(let v): return Double(v)
        case .double(let v): return v
        case .decimal128(let d): return d.doubleValue
        default: return nil
        }
    }
}
