import Foundation
import StrataBSON
import StrataEvaluator
@testable import StrataLens
import StrataTestFixtures
import XCTest

/// `schemas/lens.schema.json`, the lens format for editors, against the parser: every lens
/// in the repository validates, planted mistakes are refused at their place, and each
/// object's allowed keys are exactly the parser's (`allowOnly`), so the two cannot drift.
final class LensSchemaTests: XCTestCase {
    static let root = FixturePaths.repositoryRoot
    static let schemaURL = root.appendingPathComponent("schemas/lens.schema.json")

    func validator() throws -> JSONSchemaValidator {
        JSONSchemaValidator(schema: try JSONValue.parse(String(contentsOf: Self.schemaURL, encoding: .utf8)))
    }

    func failures(_ text: String) throws -> [JSONSchemaValidator.Failure] {
        try validator().validate(JSONValue.parse(text))
    }

    func testTheSchemaUsesOnlyWhatTheValidatorUnderstands() throws {
        let v = try validator()
        XCTAssertEqual(v.schema["$schema"]?.stringValue, "https://json-schema.org/draft/2020-12/schema")
        let unknown = JSONSchemaValidator.keywords(of: v.schema).subtracting(JSONSchemaValidator.supportedKeywords)
        XCTAssertEqual(unknown, [], "keywords the test validator would ignore")
        // Every $ref resolves.
        func refs(_ s: JSONValue) -> [String] {
            switch s {
            case .object(let o): return (o["$ref"]?.stringValue.map { [$0] } ?? []) + o.values.flatMap(refs)
            case .array(let a): return a.flatMap(refs)
            default: return []
            }
        }
        let all = refs(v.schema)
        XCTAssertGreaterThan(all.count, 10)
        for r in all { XCTAssertNotNil(v.resolve(r), r) }
    }

    // MARK: every lens in the repository

    /// The lens files under schemas/ (not the schema itself).
    static func lensFiles() throws -> [URL] {
        let dir = root.appendingPathComponent("schemas")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            .filter { Lens.collection(ofLensFile: $0) != nil }
            .map { dir.appendingPathComponent($0) }
    }

    /// Lenses written inline in the tests that the parser accepts: raw string literals
    /// holding "versionField" and "steps", and single operations (`#"{"op": ...}"#`, put in
    /// a one-step lens); not those with interpolation.
    static func inlineLenses() throws -> [(place: String, text: String)] {
        let tests = root.appendingPathComponent("Tests")
        guard let walker = FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil) else { return [] }
        let multi = try NSRegularExpression(pattern: ##"#"""\n(.*?)\n[ \t]*"""#"##, options: [.dotMatchesLineSeparators])
        let single = try NSRegularExpression(pattern: ##"#"(\{.*?\})"#"##)
        var out: [(String, String)] = []
        for case let url as URL in walker where url.pathExtension == "swift" {
            let source = try String(contentsOf: url, encoding: .utf8)
            let range = NSRange(source.startIndex..., in: source)
            for re in [multi, single] {
                for m in re.matches(in: source, range: range) {
                    var text = String(source[Range(m.range(at: 1), in: source)!])
                    guard !text.contains(##"\#("##) else { continue }
                    if text.hasPrefix(#"{"op": "#) { text = Self.lens(text) }
                    guard text.contains(#""versionField""#), text.contains(#""steps""#) else { continue }
                    guard (try? Lens.parse(text)) != nil else { continue }  // planted mistakes
                    let line = source[..<Range(m.range, in: source)!.lowerBound].filter { $0 == "\n" }.count + 1
                    out.append(("\(url.path.replacingOccurrences(of: root.path + "/", with: "")):\(line)", text))
                }
            }
        }
        return out
    }

    func testEveryLensInTheRepositoryValidates() throws {
        let files = try Self.lensFiles()
        XCTAssertTrue(Set(files.map(\.lastPathComponent)).isSuperset(of: ["accounts.json", "devices.json", "events.json", "users.json"]), "\(files)")
        for url in files {
            let text = try String(contentsOf: url, encoding: .utf8)
            XCTAssertNoThrow(try Lens.parse(text, file: url.path))
            XCTAssertEqual(try failures(text), [], url.lastPathComponent)
        }
        let inline = try Self.inlineLenses()
        XCTAssertGreaterThan(inline.count, 60, "the inline lenses of the tests were not found")
        var notJSON: [String] = []
        for (place, text) in inline {
            // The loader reads Extended JSON; an editor reads JSON.
            guard let value = try? JSONValue.parse(text) else { notJSON.append(place); continue }
            XCTAssertEqual(try validator().validate(value), [], place)
        }
        XCTAssertLessThan(notJSON.count, inline.count / 4, "\(notJSON)")
    }

    func testTheRepositoryLensesPointAtTheSchema() throws {
        // The schema beside the lenses is not a lens: no collection "lens.schema".
        let versioned = Lens.versionedCollections(in: Self.root.appendingPathComponent("schemas"))
        XCTAssertTrue(versioned.isSuperset(of: ["users", "devices", "events", "accounts"]), "\(versioned)")
        XCTAssertFalse(versioned.contains { $0.hasSuffix(".schema") }, "\(versioned)")
        for url in try Self.lensFiles() {
            let value = try JSONValue.parse(String(contentsOf: url, encoding: .utf8))
            XCTAssertEqual(value["$schema"]?.stringValue, "./lens.schema.json", url.lastPathComponent)
        }
    }

    // MARK: planted mistakes

    static func lens(_ operations: String, step: String = #""from": 0, "to": 1"#, top: String = "") -> String {
        #"{"collection": "c", "versionField": "v", \#(top)"steps": [{\#(step), "operations": [\#(operations)]}]}"#
    }

    func testPlantedMistakesAreRefusedWhereTheyAre() throws {
        let cases: [(what: String, text: String, path: String, says: String)] = [
            ("unknown op", Self.lens(#"{"op": "frobnicate", "field": "a"}"#), "/steps/0/operations/0/op", "not one of"),
            ("unknown key in an op", Self.lens(#"{"op": "rename", "from": "a", "to": "b", "overwrites": true}"#),
             "/steps/0/operations/0/overwrites", "not allowed"),
            ("misspelt required key", Self.lens(#"{"op": "rename", "form": "a", "to": "b"}"#), "/steps/0/operations/0", "'from'"),
            ("missing from", Self.lens(#"{"op": "remove", "field": "a"}"#, step: #""to": 1"#), "/steps/0", "missing required key 'from'"),
            ("wrong type", Self.lens(#"{"op": "remove", "field": "a"}"#, step: #""from": "zero""#), "/steps/0/from", "expected integer"),
            ("a fraction for a version", Self.lens(#"{"op": "remove", "field": "a"}"#, step: #""from": 0.5"#), "/steps/0/from", "expected integer"),
            ("wrong type in an op", Self.lens(#"{"op": "rename", "from": "a", "to": "b", "overwrite": "yes"}"#),
             "/steps/0/operations/0/overwrite", "expected boolean"),
            ("not a path", Self.lens(#"{"op": "remove", "field": "a..b"}"#), "/steps/0/operations/0/field", "does not match"),
            ("a $ path", Self.lens(#"{"op": "remove", "field": "$a"}"#), "/steps/0/operations/0/field", "does not match"),
            ("bad enum", Self.lens(#"{"op": "convert", "field": "a", "expr": 1, "onError": "ignore"}"#),
             "/steps/0/operations/0/onError", "not one of"),
            ("lookup inside map", Self.lens(#"{"op": "map", "field": "a", "operations": [{"op": "lookup", "field": "t", "from": "p", "localField": "x", "foreignField": "_id", "select": "t"}]}"#),
             "/steps/0/operations/0/operations/0/op", "not one of"),
            ("empty map", Self.lens(#"{"op": "map", "field": "a", "operations": []}"#), "/steps/0/operations/0/operations", "at least 1"),
            ("custom writing nothing", Self.lens(#"{"op": "custom", "function": "f", "reads": [], "writes": []}"#),
             "/steps/0/operations/0/writes", "at least 1"),
            ("nest key with a dot", Self.lens(#"{"op": "nest", "into": "n", "fields": {"a": "x.y"}}"#), "/steps/0/operations/0/fields/a", "does not match"),
            ("unknown top-level key", Self.lens(#"{"op": "remove", "field": "a"}"#, top: #""version": 2, "#), "/version", "not allowed"),
            ("unknown step key", Self.lens(#"{"op": "remove", "field": "a"}"#, step: #""from": 0, "ops": []"#), "/steps/0/ops", "not allowed"),
            ("missing steps", #"{"collection": "c", "versionField": "v"}"#, "", "missing required key 'steps'"),
            ("a bad index key", Self.lens(#"{"op": "remove", "field": "a"}"#, top: #""indexes": [{"key": {"a": "text"}}], "#),
             "/indexes/0/key/a", "not one of"),
        ]
        for c in cases {
            let got = try failures(c.text)
            XCTAssertTrue(got.contains { $0.path == c.path && $0.message.contains(c.says) },
                          "\(c.what): wanted \(c.path.isEmpty ? "/" : c.path) '\(c.says)', got \(got)")
            // The loader refuses it too.
            XCTAssertThrowsError(try Lens.parse(c.text), c.what)
        }
    }

    // MARK: the schema's keys are the parser's

    /// The keys the parser allows in an object, read from its refusal of a key it cannot know.
    func parserKeys(_ text: String) throws -> Set<String> {
        do {
            _ = try Lens.parse(text)
            XCTFail("accepted: \(text)")
            return []
        } catch let e as StrataError {
            guard let r = e.message.range(of: #"\(allowed: ([^)]*)\)"#, options: .regularExpression) else {
                XCTFail("no allowed keys in: \(e.message)")
                return []
            }
            let list = e.message[r].dropFirst("(allowed: ".count).dropLast()
            return Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
    }

    func schemaKeys(_ def: String) throws -> Set<String> {
        Set(try XCTUnwrap(validator().resolve("#/$defs/\(def)")?["properties"]?.objectValue, def).keys)
    }

    func testEachObjectsKeysAreExactlyTheParsers() throws {
        let v = try validator()
        // The operations, and those allowed inside map/in.
        let ops = Set(try XCTUnwrap(v.resolve("#/$defs/operation/properties/op/enum")?.arrayValue).compactMap(\.stringValue))
        XCTAssertEqual(ops, Set(LensOperations.parsers.keys))
        let inner = Set(try XCTUnwrap(v.resolve("#/$defs/innerOperation/properties/op/enum")?.arrayValue).compactMap(\.stringValue))
        XCTAssertEqual(inner, ScopedOperation.allowedInside)
        for (name, list) in [("operation", ops), ("innerOperation", inner)] {
            let refs = try XCTUnwrap(v.resolve("#/$defs/\(name)/oneOf")?.arrayValue).compactMap { $0["$ref"]?.stringValue }
            XCTAssertEqual(Set(refs), Set(list.map { "#/$defs/op-\($0)" }), name)
        }
        for op in ops.sorted() {
            let parser = try parserKeys(Self.lens(#"{"op": "\#(op)", "zzzUnknown": 1}"#))
            XCTAssertEqual(try schemaKeys("op-\(op)"), parser, op)
            XCTAssertEqual(v.resolve("#/$defs/op-\(op)/properties/op/const"), .string(op))
            XCTAssertEqual(v.resolve("#/$defs/op-\(op)/additionalProperties"), .bool(false), op)
        }
        XCTAssertEqual(try schemaKeys("step"), try parserKeys(Self.lens("", step: #""from": 0, "zzzUnknown": 1"#)))
        XCTAssertEqual(try schemaKeys("index"), try parserKeys(Self.lens("", top: #""indexes": [{"zzzUnknown": 1}], "#)))
        let top = Set(try XCTUnwrap(v.schema["properties"]?.objectValue).keys)
        XCTAssertEqual(top, LensParser.topLevelKeys)
        XCTAssertEqual(top.filter { !$0.hasPrefix("$") }, try parserKeys(Self.lens("", top: #""zzzUnknown": 1, "#)))
        XCTAssertEqual(v.schema["additionalProperties"], .bool(false))
        XCTAssertEqual(v.resolve("#/$defs/step/additionalProperties"), .bool(false))
        XCTAssertEqual(v.resolve("#/$defs/index/additionalProperties"), .bool(false))
    }

    /// For each operation, one the parser accepts using every key it allows: the schema
    /// accepts it; without any one required key, both refuse it.
    static let everyKey: [String: String] = [
        "rename": #"{"op": "rename", "from": "a", "to": "b", "overwrite": true, "description": "d"}"#,
        "nest": #"{"op": "nest", "into": "n", "fields": {"a": "x", "b.c": "y"}, "overwrite": true, "description": "d"}"#,
        "unnest": #"{"op": "unnest", "from": "n", "fields": {"x": "a", "y": "b.c"}, "drop": true, "overwrite": true, "description": "d"}"#,
        "wrap": #"{"op": "wrap", "from": "p", "into": "contacts", "element": {"method": "phone", "value": "$$value"}, "overwrite": true, "description": "d"}"#,
        "add": #"{"op": "add", "field": "currency", "value": {"code": "USD"}, "description": "d"}"#,
        "remove": #"{"op": "remove", "field": "legacy", "restore": null, "description": "d"}"#,
        "convert": #"{"op": "convert", "field": "ms", "to": "s", "expr": {"$divide": ["$$value", 1000]}, "inverse": {"$multiply": ["$$value", 1000]}, "inverseExact": true, "monotone": "increasing", "ifMissing": "evaluate", "overwrite": true, "onError": "fail", "description": "d"}"#,
        "lookup": #"{"op": "lookup", "field": "tags", "from": "products", "localField": "product", "foreignField": "_id", "select": "tags", "default": [], "overwrite": true, "description": "d"}"#,
        "custom": #"{"op": "custom", "function": "crc32Hex", "reads": ["a", "b.c"], "writes": ["a"], "description": "d"}"#,
        "map": #"{"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "code", "to": "sku"}, {"op": "in", "field": "x", "operations": [{"op": "remove", "field": "y"}]}], "description": "d"}"#,
        "in": #"{"op": "in", "field": "address", "operations": [{"op": "map", "field": "lines", "operations": [{"op": "add", "field": "q", "value": 1}]}], "description": "d"}"#,
    ]

    func testAnOperationWithEveryAllowedKeyValidates() throws {
        let v = try validator()
        XCTAssertEqual(Set(Self.everyKey.keys), Set(LensOperations.parsers.keys))
        for (op, text) in Self.everyKey.sorted(by: { $0.key < $1.key }) {
            let lens = Self.lens(text)
            XCTAssertNoThrow(try Lens.parse(lens), op)
            XCTAssertEqual(try failures(lens), [], op)
            let value = try JSONValue.parse(text)
            XCTAssertEqual(Set(try XCTUnwrap(value.objectValue).keys), try schemaKeys("op-\(op)"), "\(op) does not use every key")
            let required = try XCTUnwrap(v.resolve("#/$defs/op-\(op)/required")?.arrayValue).compactMap(\.stringValue)
            for key in required where key != "op" {
                var without = try XCTUnwrap(value.objectValue)
                without[key] = nil
                let keys = without.keys.sorted()
                let lensWithout = #"{"collection": "c", "versionField": "v", "steps": [{"from": 0, "operations": [\#(try Self.encode(without, keys))]}]}"#
                XCTAssertThrowsError(try Lens.parse(lensWithout), "\(op) without \(key)")
                let got = try failures(lensWithout)
                XCTAssertTrue(got.contains { $0.path == "/steps/0/operations/0" && $0.message.contains("'\(key)'") },
                              "\(op) without \(key): \(got)")
            }
        }
        // The top level with every key, "$schema" included, loads.
        let full = #"{"$schema": "./lens.schema.json", "collection": "c", "description": "d", "versionField": "v", "absentMeans": 0, "steps": [{"from": 0, "to": 1, "description": "s", "writeBack": "never", "operations": [{"op": "remove", "field": "a"}]}], "indexes": [{"key": {"b": 1, "c": -1}, "name": "bc", "unique": false}]}"#
        XCTAssertNoThrow(try Lens.parse(full))
        XCTAssertEqual(try failures(full), [])
    }

    static func encode(_ object: [String: JSONValue], _ keys: [String]) throws -> String {
        func text(_ v: JSONValue) -> String {
            switch v {
            case .null: return "null"
            case .bool(let b): return String(b)
            case .number(let n): return n.rounded() == n ? String(Int64(n)) : String(n)
            case .string(let s): return String(data: try! JSONEncoder().encode(s), encoding: .utf8)!
            case .array(let a): return "[" + a.map(text).joined(separator: ", ") + "]"
            case .object(let o): return "{" + o.keys.sorted().map { text(.string($0)) + ": " + text(o[$0]!) }.joined(separator: ", ") + "}"
            }
        }
        return "{" + keys.map { text(.string($0)) + ": " + text(object[$0]!) }.joined(separator: ", ") + "}"
    }
}
