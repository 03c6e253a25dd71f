import CBSON
import StrataBSON

/// Encodes Swift values into a libbson `bson_t` with libbson's appenders.
enum BSONWriter {
    static func append(_ document: Document, to b: OpaquePointer) {
        for (key, value) in document { append(value, key: key, to: b) }
    }

    private static func appendArray(_ array: [BSON], to b: OpaquePointer) {
        for (i, value) in array.enumerated() { append(value, key: String(i), to: b) }
    }

    private static func withOID<T>(_ id: ObjectId, _ body: (UnsafePointer<bson_oid_t>) -> T) -> T {
        var oid = bson_oid_t()
        id.bytes.withUnsafeBufferPointer { bson_oid_init_from_data(&oid, $0.baseAddress) }
        return body(&oid)
    }

    private static func withUTF8<T>(_ s: String, _ body: (UnsafePointer<CChar>, Int32) -> T) -> T {
        var s = s
        return s.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { chars in
                // An empty String's buffer may have a nil base; libbson needs a pointer.
                if let base = chars.baseAddress { return body(base, Int32(chars.count)) }
                return "".withCString { body($0, 0) }
            }
        }
    }

    static func append(_ value: BSON, key: String, to b: OpaquePointer) {
        key.withCString { k in
            _ = appendValue(value, k, b)
        }
    }

    @discardableResult
    private static func appendValue(_ value: BSON, _ k: UnsafePointer<CChar>, _ b: OpaquePointer) -> Bool {
            switch value {
            case .double(let v): return bson_append_double(b, k, -1, v)
            case .string(let s): return withUTF8(s) { p, n in bson_append_utf8(b, k, -1, p, n) }
            case .document(let d):
                return withAlignedBSON { child in
                    bson_append_document_begin(b, k, -1, child)
                    append(d, to: child)
                    return bson_append_document_end(b, child)
                }
            case .array(let a):
                return withAlignedBSON { child in
                    bson_append_array_begin(b, k, -1, child)
                    appendArray(a, to: child)
                    return bson_append_array_end(b, child)
                }
            case .binary(let bin):
                return bin.data.withUnsafeBufferPointer { p in
                    bson_append_binary(b, k, -1, bson_subtype_t(rawValue: UInt32(bin.subtype)), p.baseAddress, UInt32(p.count))
                }
            case .undefined: return bson_append_undefined(b, k, -1)
            case .objectId(let id): return withOID(id) { bson_append_oid(b, k, -1, $0) }
            case .bool(let v): return bson_append_bool(b, k, -1, v)
            case .date(let ms): return bson_append_date_time(b, k, -1, ms)
            case .null: return bson_append_null(b, k, -1)
            case .regex(let r): return bson_append_regex(b, k, -1, r.pattern, r.options)
            case .dbPointer(let ref, let id): return withOID(id) { bson_append_dbpointer(b, k, -1, ref, $0) }
            case .javascript(let code): return bson_append_code(b, k, -1, code)
            case .symbol(let s): return withUTF8(s) { p, n in bson_append_symbol(b, k, -1, p, n) }
            case .javascriptWithScope(let code, let scope):
                let s = BSONBuffer(scope)
                return bson_append_code_with_scope(b, k, -1, code, s.pointer)
            case .int32(let v): return bson_append_int32(b, k, -1, v)
            case .timestamp(let ts): return bson_append_timestamp(b, k, -1, ts.t, ts.i)
            case .int64(let v): return bson_append_int64(b, k, -1, v)
            case .decimal128(let d):
                var dec = bson_decimal128_t(low: d.low, high: d.high)
                return bson_append_decimal128(b, k, -1, &dec)
            case .minKey: return bson_append_minkey(b, k, -1)
            case .maxKey: return bson_append_maxkey(b, k, -1)
            }
    }
}
