import StrataBSON

/// libbson reads `$type`, `$regex` and `$options` keys as parts of legacy
/// Extended JSON values (binary, regular expression), so the query operators
/// of the same names — `{$type: 2}`, `{$type: ["string", "null"]}`,
/// `{$regex: "^a", $options: "i", $ne: "x"}` — fail to parse or change
/// meaning. Before handing query text to libbson these keys are renamed to
/// placeholders (only where they are keys, never inside strings), and renamed
/// back in the parsed document. The canonical forms (`$binary: {base64,
/// subType}`, `$regularExpression`) are unaffected; the legacy
/// `{"$binary": "...", "$type": "00"}` form is not accepted in queries.
enum QueryKeyProtection {
    static let keys: [(key: String, placeholder: String)] = [
        ("$type", "__strata_key_type__"), ("$regex", "__strata_key_regex__"), ("$options", "__strata_key_options__"),
    ]

    /// The text with the operator keys renamed.
    static func protect(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "\"") else { out.append(b); i += 1; continue }
            // A string token: find its end, honouring escapes.
            var j = i + 1
            while j < bytes.count && bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
            let end = min(j, bytes.count - 1)
            let token = bytes[i...end]
            // It is a key when the next non-space character is a colon.
            var k = end + 1
            while k < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[k]) { k += 1 }
            let isKey = k < bytes.count && bytes[k] == UInt8(ascii: ":")
            if isKey, let match = keys.first(where: { Array(("\"" + $0.key + "\"").utf8)[...] == token }) {
                out.append(contentsOf: Array(("\"" + match.placeholder + "\"").utf8))
            } else {
                out.append(contentsOf: token)
            }
            i = end + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func restore(_ doc: Document) -> Document {
        Document(doc.map { (restoreKey($0.key), restore($0.value)) })
    }

    static func restore(_ v: BSON) -> BSON {
        switch v {
        case .document(let d): return .document(restore(d))
        case .array(let a): return .array(a.map(restore))
        default: return v
        }
    }

    static func restoreKey(_ k: String) -> String {
        keys.first { $0.placeholder == k }?.key ?? k
    }
}

extension ExtendedJSON {
    /// Parses query or pipeline text: Extended JSON v2, plus the query operators
    /// libbson would otherwise take for legacy type wrappers (`$type`, `$regex`, `$options`).
    package static func parseQueryDocument(_ text: String) throws -> Document {
        QueryKeyProtection.restore(try parseDocument(QueryKeyProtection.protect(text)))
    }

    /// `parseQueryDocument` for any JSON value (an inline pipeline array, say).
    package static func parseQueryValue(_ text: String) throws -> BSON {
        QueryKeyProtection.restore(try parseValue(QueryKeyProtection.protect(text)))
    }
}
