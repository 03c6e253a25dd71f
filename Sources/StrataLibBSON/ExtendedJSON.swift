import CBSON
import StrataBSON

/// MongoDB Extended JSON v2, both ways, done by libbson.
package enum ExtendedJSON {
    package enum Mode: Sendable { case relaxed, canonical }

    /// Parses one JSON object (relaxed or canonical Extended JSON) into a document.
    package static func parseDocument(_ text: String) throws -> Document {
        var error = bson_error_t()
        let bytes = Array(text.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: UInt8.self) { bson_new_from_json($0.baseAddress, buf.count, &error) }
        }
        guard let parsed else {
            throw ExtendedJSONError(message: cleanParseMessage(messageText(of: error)))
        }
        return BSONBuffer(owning: parsed).document
    }

    /// Parses any JSON value (object, array, string, number...).
    package static func parseValue(_ text: String) throws -> BSON {
        let doc = try parseDocument("{\"v\": \(text)\n}")
        guard doc.count == 1, let v = doc["v"] else {
            throw ExtendedJSONError(message: "expected a single JSON value")
        }
        return v
    }

    package static func string(_ document: Document, mode: Mode = .relaxed) -> String {
        let buffer = BSONBuffer(document)
        var len = 0
        let cstr: UnsafeMutablePointer<CChar>? = switch mode {
        case .relaxed: bson_as_relaxed_extended_json(buffer.pointer, &len)
        case .canonical: bson_as_canonical_extended_json(buffer.pointer, &len)
        }
        guard let cstr else { return "{}" }
        defer { bson_free(cstr) }
        return String(cString: cstr)
    }

    /// A single value as Extended JSON (rendered inside a one-key document).
    package static func string(_ value: BSON, mode: Mode = .relaxed) -> String {
        let wrapped = string(Document([("v", value)]), mode: mode)
        // `{ "v" : <value> }`
        guard let colon = wrapped.firstIndex(of: ":") else { return wrapped }
        var inner = wrapped[wrapped.index(after: colon)...]
        inner = inner.drop(while: { $0 == " " })
        if inner.hasSuffix(" }") { inner = inner.dropLast(2) }
        return String(inner)
    }

    private static func cleanParseMessage(_ m: String) -> String {
        m.isEmpty ? "invalid JSON" : m
    }
}

package struct ExtendedJSONError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package var description: String { message }
}
