import Foundation

/// A JSON value as an editor sees a file: plain JSON, no Extended JSON reading.
public indirect enum JSONValue: Equatable, Sendable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }

    /// The JSON Schema type names this value has ("integer" and "number" for 1).
    var typeNames: Set<String> {
        switch self {
        case .null: return ["null"]
        case .bool: return ["boolean"]
        case .number(let n): return n.rounded() == n && n.isFinite ? ["integer", "number"] : ["number"]
        case .string: return ["string"]
        case .array: return ["array"]
        case .object: return ["object"]
        }
    }

    /// Short text for messages.
    var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let n): return n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s): return "\"\(s)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Validates JSON against a JSON Schema (draft 2020-12) for the subset `schemas/lens.schema.json`
/// uses: `type`, `properties`, `required`, `additionalProperties`, `propertyNames`, `items`,
/// `enum`, `const`, `oneOf`, `anyOf`, `$ref` (to `#/...` in the same schema), `minimum`,
/// `minItems`, `minProperties`, `minLength`, `pattern`. Annotations (`title`, `description`,
/// `$schema`, `$id`, `$defs`) are ignored; `supportedKeywords` lists what is understood so a
/// test can refuse a schema that uses anything else.
///
/// Each failure names its place as a JSON pointer (`/steps/0/operations/1/op`). A failed
/// `oneOf`/`anyOf` reports the alternatives whose `const` keywords held (the one the
/// discriminator, e.g. `"op": {"const": "rename"}`, chose) when there is exactly one.
public struct JSONSchemaValidator: Sendable {
    public struct Failure: Equatable, Sendable, CustomStringConvertible {
        /// A JSON pointer to the value at fault ("" for the whole document).
        public var path: String
        public var message: String
        /// The keyword that failed.
        public var keyword: String
        public var description: String { "\(path.isEmpty ? "/" : path): \(message)" }
    }

    public static let supportedKeywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "propertyNames", "items", "enum", "const",
        "oneOf", "anyOf", "$ref", "minimum", "minItems", "minProperties", "minLength", "pattern",
        "title", "description", "$schema", "$id", "$defs",
    ]

    public let schema: JSONValue

    public init(schema: JSONValue) { self.schema = schema }

    public func validate(_ instance: JSONValue) -> [Failure] {
        check(instance, schema, "")
    }

    /// Every keyword the schema uses (keys of schema objects, not of `properties`/`$defs` maps).
    public static func keywords(of schema: JSONValue) -> Set<String> {
        guard case .object(let o) = schema else { return [] }
        var out = Set(o.keys)
        for (k, v) in o {
            switch k {
            case "properties", "$defs":
                for sub in v.objectValue?.values.map({ $0 }) ?? [] { out.formUnion(keywords(of: sub)) }
            case "oneOf", "anyOf":
                for sub in v.arrayValue ?? [] { out.formUnion(keywords(of: sub)) }
            case "items", "additionalProperties", "propertyNames":
                out.formUnion(keywords(of: v))
            default: break
            }
        }
        return out
    }

    /// The schema `#/a/b` points at.
    public func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        var node = schema
        for part in ref.dropFirst().split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    static func pointer(_ path: String, _ key: String) -> String {
        path + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    func check(_ v: JSONValue, _ s: JSONValue, _ path: String) -> [Failure] {
        switch s {
        case .bool(true): return []
        case .bool(false): return [Failure(path: path, message: "no value is allowed here", keyword: "false")]
        case .object: break
        default: return [Failure(path: path, message: "the schema here is not an object", keyword: "schema")]
        }
        var out: [Failure] = []
        func fail(_ keyword: String, _ message: String, at p: String? = nil) {
            out.append(Failure(path: p ?? path, message: message, keyword: keyword))
        }

        if case .string(let ref)? = s["$ref"] {
            if let target = resolve(ref) { out += check(v, target, path) } else { fail("$ref", "the schema's $ref '\(ref)' points nowhere") }
        }
        if let t = s["type"] {
            let wanted = t.stringValue.map { [$0] } ?? (t.arrayValue ?? []).compactMap(\.stringValue)
            if v.typeNames.isDisjoint(with: wanted) {
                fail("type", "expected \(wanted.joined(separator: " or ")), got \(v.summary)")
                return out  // the other keywords would only repeat it
            }
        }
        if case .array(let options)? = s["enum"], !options.contains(v) {
            fail("enum", "\(v.summary) is not one of \(options.map(\.summary).joined(separator: ", "))")
        }
        if let c = s["const"], c != v {
            fail("const", "expected \(c.summary), got \(v.summary)")
        }
        switch v {
        case .string(let text):
            if case .number(let n)? = s["minLength"], Double(text.count) < n { fail("minLength", "must have at least \(Int(n)) character(s)") }
            if case .string(let pattern)? = s["pattern"] {
                let re = try? NSRegularExpression(pattern: pattern)
                if re?.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                    fail("pattern", "\(v.summary) does not match \(pattern)")
                }
            }
        case .number(let n):
            if case .number(let m)? = s["minimum"], n < m { fail("minimum", "must be at least \(m)") }
        case .array(let items):
            if case .number(let n)? = s["minItems"], Double(items.count) < n { fail("minItems", "needs at least \(Int(n)) item(s)") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { out += check(item, itemSchema, path + "/\(i)") }
            }
        case .object(let o):
            if case .number(let n)? = s["minProperties"], Double(o.count) < n { fail("minProperties", "needs at least \(Int(n)) key(s)") }
            let properties = s["properties"]?.objectValue ?? [:]
            for key in (s["required"]?.arrayValue ?? []).compactMap(\.stringValue) where o[key] == nil {
                fail("required", "missing required key '\(key)'")
            }
            for key in o.keys.sorted() {
                let value = o[key]!
                let p = Self.pointer(path, key)
                if let nameSchema = s["propertyNames"] {
                    out += check(.string(key), nameSchema, p).map { Failure(path: $0.path, message: "key '\(key)': \($0.message)", keyword: $0.keyword) }
                }
                if let sub = properties[key] {
                    out += check(value, sub, p)
                } else if let extra = s["additionalProperties"] {
                    if extra == .bool(false) {
                        fail("additionalProperties", "key '\(key)' is not allowed (allowed: \(properties.keys.sorted().joined(separator: ", ")))", at: p)
                    } else {
                        out += check(value, extra, p)
                    }
                }
            }
        default: break
        }
        for keyword in ["oneOf", "anyOf"] {
            guard case .array(let branches)? = s[keyword] else { continue }
            let results = branches.map { check(v, $0, path) }
            let matching = results.filter(\.isEmpty).count
            if matching == 1 || (keyword == "anyOf" && matching > 1) { continue }
            if matching > 1 {
                fail(keyword, "matches \(matching) of the alternatives, where exactly one must match")
                continue
            }
            // The alternatives the discriminator chose: those with no failed `const`.
            let chosen = results.filter { !$0.contains { $0.keyword == "const" } }
            if chosen.count == 1 { out += chosen[0] } else {
                fail(keyword, "matches none of the \(branches.count) alternatives")
            }
        }
        return out
    }
}
