import CBSON
import StrataBSON

/// Turns libbson documents into Swift `Document`s by walking them with
/// `bson_iter_t` (libbson does the decoding; this only copies values out).
package enum BSONReader {
    package static func document(from b: OpaquePointer) -> Document {
        withAlignedIter { iter in
            guard bson_iter_init(iter, b) else { return Document() }
            return readDocument(iter)
        }
    }

    private static func readDocument(_ iter: OpaquePointer) -> Document {
        var fields: [(String, BSON)] = []
        while bson_iter_next(iter) {
            fields.append((String(cString: bson_iter_key(iter)), readValue(iter)))
        }
        return Document(fields)
    }

    private static func readArray(_ iter: OpaquePointer) -> [BSON] {
        var out: [BSON] = []
        while bson_iter_next(iter) { out.append(readValue(iter)) }
        return out
    }

    private static func string(_ p: UnsafePointer<CChar>?, _ len: UInt32) -> String {
        guard let p else { return "" }
        return p.withMemoryRebound(to: UInt8.self, capacity: Int(len)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(len)), as: UTF8.self)
        }
    }

    private static func oid(_ p: UnsafePointer<bson_oid_t>?) -> ObjectId {
        var raw = p!.pointee
        let bytes = withUnsafeBytes(of: &raw.bytes) { Array($0) }
        return ObjectId(bytes: bytes)!
    }

    static func readValue(_ iter: OpaquePointer) -> BSON {
        let t = bson_iter_type(iter)
        switch t {
        case BSON_TYPE_DOUBLE: return .double(bson_iter_double(iter))
        case BSON_TYPE_UTF8:
            var len: UInt32 = 0
            let p = bson_iter_utf8(iter, &len)
            return .string(string(p, len))
        case BSON_TYPE_DOCUMENT:
            return withAlignedIter { child in
                bson_iter_recurse(iter, child) ? .document(readDocument(child)) : .document(Document())
            }
        case BSON_TYPE_ARRAY:
            return withAlignedIter { child in
                bson_iter_recurse(iter, child) ? .array(readArray(child)) : .array([])
            }
        case BSON_TYPE_BINARY:
            var subtype = BSON_SUBTYPE_BINARY
            var len: UInt32 = 0
            var data: UnsafePointer<UInt8>?
            bson_iter_binary(iter, &subtype, &len, &data)
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: Int(len))) } ?? []
            return .binary(BSONBinary(subtype: UInt8(truncatingIfNeeded: subtype.rawValue), data: bytes))
        case BSON_TYPE_UNDEFINED: return .undefined
        case BSON_TYPE_OID: return .objectId(oid(bson_iter_oid(iter)))
        case BSON_TYPE_BOOL: return .bool(bson_iter_bool(iter))
        case BSON_TYPE_DATE_TIME: return .date(bson_iter_date_time(iter))
        case BSON_TYPE_NULL: return .null
        case BSON_TYPE_REGEX:
            var options: UnsafePointer<CChar>?
            let pattern = bson_iter_regex(iter, &options)
            return .regex(BSONRegex(pattern: pattern.map { String(cString: $0) } ?? "",
                                    options: options.map { String(cString: $0) } ?? ""))
        case BSON_TYPE_DBPOINTER:
            var len: UInt32 = 0
            var coll: UnsafePointer<CChar>?
            var id: UnsafePointer<bson_oid_t>?
            bson_iter_dbpointer(iter, &len, &coll, &id)
            return .dbPointer(ref: string(coll, len), id: oid(id))
        case BSON_TYPE_CODE:
            var len: UInt32 = 0
            return .javascript(string(bson_iter_code(iter, &len), len))
        case BSON_TYPE_SYMBOL:
            var len: UInt32 = 0
            return .symbol(string(bson_iter_symbol(iter, &len), len))
        case BSON_TYPE_CODEWSCOPE:
            var len: UInt32 = 0
            var scopeLen: UInt32 = 0
            var scopeData: UnsafePointer<UInt8>?
            let code = string(bson_iter_codewscope(iter, &len, &scopeLen, &scopeData), len)
            var scope = Document()
            if let scopeData, let b = bson_new_from_data(scopeData, Int(scopeLen)) {
                scope = BSONBuffer(owning: b).document
            }
            return .javascriptWithScope(code: code, scope: scope)
        case BSON_TYPE_INT32: return .int32(bson_iter_int32(iter))
        case BSON_TYPE_TIMESTAMP:
            var ts: UInt32 = 0, inc: UInt32 = 0
            bson_iter_timestamp(iter, &ts, &inc)
            return .timestamp(BSONTimestamp(t: ts, i: inc))
        case BSON_TYPE_INT64: return .int64(bson_iter_int64(iter))
        case BSON_TYPE_DECIMAL128:
            var d = bson_decimal128_t()
            bson_iter_decimal128(iter, &d)
            return .decimal128(Decimal128(low: d.low, high: d.high))
        case BSON_TYPE_MINKEY: return .minKey
        case BSON_TYPE_MAXKEY: return .maxKey
        default: return .undefined
        }
    }
}
