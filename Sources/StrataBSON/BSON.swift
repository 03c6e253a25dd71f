/// A BSON value that keeps its exact type (int32 stays int32, a double stays a
/// double) and, for documents, the order of its keys.
///
/// `==` on `BSON` is *structural*: `.int32(1) != .double(1)`. MongoDB's own
/// comparison order (numbers compare by value across types, the canonical
/// type order between types) lives in the evaluator (`BSONOrder`).
public enum BSON: Sendable, Hashable {
    case double(Double)
    case string(String)
    case document(Document)
    case array([BSON])
    case binary(BSONBinary)
    case undefined
    case objectId(ObjectId)
    case bool(Bool)
    /// Milliseconds since the Unix epoch, UTC.
    case date(Int64)
    case null
    case regex(BSONRegex)
    case dbPointer(ref: String, id: ObjectId)
    case javascript(String)
    case symbol(String)
    case javascriptWithScope(code: String, scope: Document)
    case int32(Int32)
    case timestamp(BSONTimestamp)
    case int64(Int64)
    case decimal128(Decimal128)
    case minKey
    case maxKey
}

extension BSON {
    /// The `$type` alias MongoDB uses for this value ("double", "string", ...).
    public var typeName: String {
        switch self {
        case .double: return "double"
        case .string: return "string"
        case .document: return "object"
        case .array: return "array"
        case .binary: return "binData"
        case .undefined: return "undefined"
        case .objectId: return "objectId"
        case .bool: return "bool"
        case .date: return "date"
        case .null: return "null"
        case .regex: return "regex"
        case .dbPointer: return "dbPointer"
        case .javascript: return "javascript"
        case .symbol: return "symbol"
        case .javascriptWithScope: return "javascriptWithScope"
        case .int32: return "int"
        case .timestamp: return "timestamp"
        case .int64: return "long"
        case .decimal128: return "decimal"
        case .minKey: return "minKey"
        case .maxKey: return "maxKey"
        }
    }

    /// The numeric BSON type code (1 = double, ..., -1 = minKey, 127 = maxKey).
    public var typeCode: Int {
        switch self {
        case .double: return 1
        case .string: return 2
        case .document: return 3
        case .array: return 4
        case .binary: return 5
        case .undefined: return 6
        case .objectId: return 7
        case .bool: return 8
        case .date: return 9
        case .null: return 10
        case .regex: return 11
        case .dbPointer: return 12
        case .javascript: return 13
        case .symbol: return 14
        case .javascriptWithScope: return 15
        case .int32: return 16
        case .timestamp: return 17
        case .int64: return 18
        case .decimal128: return 19
        case .minKey: return -1
        case .maxKey: return 127
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var documentValue: Document? { if case .document(let d) = self { return d }; return nil }
    /// The one field of a one-field document (a pipeline stage, an accumulator, an
    /// operator object): its name and its value; nil for anything else.
    public var singleField: (key: String, value: BSON)? {
        guard case .document(let d) = self, d.count == 1, let f = d.fields.first else { return nil }
        return (f.key, f.value)
    }
    public var arrayValue: [BSON]? { if case .array(let a) = self { return a }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }

    /// True for int32, int64, double and decimal128.
    public var isNumber: Bool {
        switch self {
        case .int32, .int64, .double, .decimal128: return true
        default: return false
        }
    }

    /// The value as an exact integer, when it is an int32, an int64, or a double or
    /// decimal128 with an integral value that fits in an Int64 (decimals read exactly,
    /// never through a double).
    public var exactInt: Int64? {
        switch self {
        case .int32(let v): return Int64(v)
        case .int64(let v): return v
        case .double(let d):
            guard d.isFinite, d.rounded() == d, d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else { return nil }
            return Int64(d)
        case .decimal128(let d): return d.exactInt64
        default: return nil
        }
    }
}

extension BSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    /// Integer literals become int32 when they fit, int64 otherwise (as the shell does).
    public init(integerLiteral value: Int) {
        if let v = Int32(exactly: value) { self = .int32(v) } else { self = .int64(Int64(value)) }
    }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: BSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, BSON)...) { self = .document(Document(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
