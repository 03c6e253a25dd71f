import Foundation
import StrataBSON
import StrataLibBSON

/// One-line JSON for progress and summaries: numbers as people write them
/// (`657.11`, not libbson's `657.11000000000001364`), strings escaped, `_id`s and
/// other BSON values as relaxed Extended JSON.
package enum ReportJSON {
    package static func line(_ doc: Document) -> String { value(.document(doc)) }

    static func value(_ v: BSON) -> String {
        switch v {
        case .document(let d):
            return "{" + d.map { quote($0.key) + ": " + value($0.value) }.joined(separator: ", ") + "}"
        case .array(let a): return "[" + a.map(value).joined(separator: ", ") + "]"
        case .string(let s): return quote(s)
        case .int32(let i): return String(i)
        case .int64(let i): return String(i)
        case .double(let d) where d.isFinite:
            if d.rounded() == d && abs(d) < 1e15 { return String(Int64(d)) }
            return "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        default: return ExtendedJSON.string(v, mode: .relaxed)
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
