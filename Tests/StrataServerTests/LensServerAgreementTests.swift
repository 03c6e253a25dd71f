import Foundation
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// Every lens operation, run in Swift (`Lens.upgrade`) and as server stages on the
/// embedded server, over generated documents (deterministic seed) with arrays at
/// every level, null, missing, existing targets and nested paths: both give the same
/// document (values and types exactly; key order aside), or both refuse it — and a
/// document a guard refuses is refused on the server with the same words, naming its
/// `_id` and the lens location.
final class LensServerAgreementTests: XCTestCase {
    typealias RNG = SplitMix64

    static let topKeys = ["a", "b", "c", "x", "n", "w", "t"]
    static let subKeys = ["b", "c", "x", "y", "k", "d"]

    static func value(_ rng: inout RNG, depth: Int) -> BSON {
        let kinds = depth >= 3 ? 5 : 9
        switch rng.int(kinds) {
        case 0: return .null
        case 1: return .int32(Int32(rng.int(5)))
        case 2: return .double(Double(rng.int(7)) / 2)
        case 3: return .string(["USD", "eur", "x", ""][rng.int(4)])
        case 4: return .bool(rng.chance(0.5))
        case 5, 6: return .document(document(&rng, keys: subKeys, depth: depth + 1))
        case 7:  // an array of sub-documents (the usual "lines")
            return .array((0..<rng.int(3)).map { _ in .document(document(&rng, keys: subKeys, depth: depth + 1)) })
        default:  // an array of anything, arrays included
            return .array((0..<rng.int(3)).map { _ in value(&rng, depth: depth + 1) })
        }
    }

    static func document(_ rng: inout RNG, keys: [String], depth: Int) -> Document {
        var d = Document()
        for k in keys where rng.chance(depth == 0 ? 0.6 : 0.45) { d[k] = value(&rng, depth: depth) }
        return d
    }

    /// The operations under test: every kind, plain and nested paths, each option.
    static let operations: [String] = [
        #"{"op": "rename", "from": "a", "to": "b"}"#,
        #"{"op": "rename", "from": "a", "to": "c.x"}"#,
        #"{"op": "rename", "from": "a.b", "to": "x"}"#,
        #"{"op": "rename", "from": "a.b", "to": "c.b"}"#,
        #"{"op": "rename", "from": "a", "to": "b", "overwrite": true}"#,
        #"{"op": "nest", "into": "n", "fields": {"a": "first", "b.x": "second"}}"#,
        #"{"op": "nest", "into": "c", "fields": {"a": "k", "x": "d"}}"#,
        #"{"op": "nest", "into": "a", "fields": {"a": "first", "b": "second"}}"#,
        #"{"op": "nest", "into": "c.n", "fields": {"a": "k"}}"#,
        #"{"op": "nest", "into": "c", "fields": {"a": "k"}, "overwrite": true}"#,
        #"{"op": "unnest", "from": "a", "fields": {"b": "ab", "c": "ac"}}"#,
        #"{"op": "unnest", "from": "a", "fields": {"b": "x.y"}}"#,
        #"{"op": "unnest", "from": "a", "fields": {"b": "b", "k": "n"}, "drop": true}"#,
        #"{"op": "unnest", "from": "a.c", "fields": {"x": "x"}}"#,
        #"{"op": "unnest", "from": "a", "fields": {"b": "a"}, "drop": true}"#,
        #"{"op": "unnest", "from": "a", "fields": {"b": "b"}, "overwrite": true}"#,
        #"{"op": "wrap", "from": "a", "into": "w", "element": {"k": "$$value", "t": "T"}}"#,
        #"{"op": "wrap", "from": "a.b", "into": "c.w", "element": {"k": "$$value"}}"#,
        #"{"op": "wrap", "from": "a", "into": "a", "element": {"k": "$$value"}}"#,
        #"{"op": "add", "field": "a.b", "value": 5}"#,
        #"{"op": "add", "field": "c", "value": {"z": 1}}"#,
        #"{"op": "remove", "field": "a.b"}"#,
        #"{"op": "remove", "field": "a"}"#,
        #"{"op": "convert", "field": "a", "expr": {"k": "$$value", "t": {"$type": "$$value"}}}"#,
        #"{"op": "convert", "field": "a.b", "to": "c.d", "expr": {"$ifNull": ["$$value", "nil"]}}"#,
        #"{"op": "convert", "field": "a", "to": "b", "expr": {"$ifNull": ["$x.y", "$$value"]}, "ifMissing": "evaluate"}"#,
        #"{"op": "convert", "field": "a", "to": "b", "expr": {"$type": "$$value"}, "overwrite": true}"#,
        #"{"op": "map", "field": "a", "operations": [{"op": "rename", "from": "b", "to": "k"}]}"#,
        #"{"op": "map", "field": "c", "operations": [{"op": "convert", "field": "x", "expr": {"$type": "$$value"}}, {"op": "remove", "field": "y"}]}"#,
        #"{"op": "map", "field": "a", "operations": [{"op": "rename", "from": "b", "to": "k", "overwrite": true}, {"op": "add", "field": "d", "value": 7}]}"#,
        #"{"op": "map", "field": "x", "operations": [{"op": "convert", "field": "k", "expr": {"$concat": ["$$value", "!"]}}]}"#,
        #"{"op": "map", "field": "n.b", "operations": [{"op": "rename", "from": "x", "to": "y"}]}"#,
        #"{"op": "in", "field": "c", "operations": [{"op": "rename", "from": "b", "to": "x"}, {"op": "remove", "field": "k"}]}"#,
        #"{"op": "in", "field": "a", "operations": [{"op": "add", "field": "d", "value": {"z": 1}}]}"#,
        #"{"op": "convert", "field": "a", "expr": {"$toInt": "$$value"}}"#,
        #"{"op": "convert", "field": "a", "expr": {"$toInt": "$$value"}, "onError": "null"}"#,
        #"{"op": "convert", "field": "a", "to": "k", "expr": {"$add": [{"$toDouble": "$$value"}, 1]}, "onError": "keep"}"#,
        #"{"op": "convert", "field": "a", "expr": {"$cond": [{"$eq": ["$$value", "USD"]}, 0, {"$toDouble": "$$value"}]}, "onError": "null"}"#,
        #"{"op": "map", "field": "c", "operations": [{"op": "convert", "field": "x", "expr": {"$toLong": "$$value"}, "onError": "keep"}]}"#,
        #"{"op": "map", "field": "c", "operations": [{"op": "convert", "field": "x", "expr": {"$toLong": "$$value"}}]}"#,
        #"{"op": "lookup", "field": "t", "from": "p", "localField": "a", "foreignField": "_id", "select": "tags", "default": []}"#,
        #"{"op": "lookup", "field": "c.t", "from": "p", "localField": "a.b", "foreignField": "_id", "select": "tags"}"#,
    ]

    static let products: [Document] = [
        ["_id": .int32(1), "tags": ["one"]], ["_id": .int32(2), "tags": .null], ["_id": "x", "tags": ["ex", "why"]],
        ["_id": .null, "tags": ["nothing"]],
    ]

    func testSwiftAndServerAgreeOnEveryOperation() throws {
        let db = try TestServer.freshDatabase("lens_agreement")
        let coll = db.collection("c")
        try db.collection("p").insertMany(Self.products)
        let products = Self.products
        let context = LensContext(lookup: { _, _, value in
            products.first { GroupKey($0["_id"]!) == GroupKey(value ?? .null) }
        })
        var rng = RNG(state: 17)
        let exact = BSONComparison()
        var agreedOK = 0, agreedRefused = 0, guardRefusals = 0, conversionRefusals = 0
        var failures: [String] = []
        for (n, spec) in Self.operations.enumerated() {
            let lens = try Lens.parse(#"{"collection": "c", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": ["# + spec + "]}]}",
                                      file: "op\(n).json")
            let op = lens.steps[0].operations[0]
            let stages = try XCTUnwrap(lens.serverUpgradeStages(from: 0, to: 1), spec)
            var docs: [Document] = []
            for i in 0..<48 {
                var d = Document()
                d["_id"] = .int32(Int32(i))
                for (k, v) in Self.document(&rng, keys: Self.topKeys, depth: 0) { d[k] = v }
                docs.append(d)
            }
            try coll.drop()
            try coll.insertMany(docs)
            for doc in docs {
                let id = doc["_id"]!
                let swift = Result { try lens.upgrade(doc, to: 1, context: context) }
                let server = Result { try coll.aggregateAll([["$match": ["_id": id]]] + stages) }
                let guarded = op.guards.first { $0.refuses(doc) }
                switch (swift, server) {
                case (.success(let s), .success(let r)):
                    if r.count != 1 { failures.append("\(spec) \(doc): the server gave \(r.count) documents"); continue }
                    if let diff = exact.difference(s, r[0]) {
                        failures.append("\(spec)\n  on \(ExtendedJSON.string(.document(doc)))\n  swift  \(ExtendedJSON.string(.document(s)))\n  server \(ExtendedJSON.string(.document(r[0])))\n  \(diff)")
                    }
                    agreedOK += 1
                case (.failure(let e), .failure(let f)):
                    agreedRefused += 1
                    let se = e as? StrataError
                    XCTAssertEqual(se?.kind, .upgradeFailed, "\(spec): \(e)")
                    XCTAssertTrue(se?.message.contains("_id \(ExtendedJSON.string(id))") == true, "\(spec): \(e)")
                    XCTAssertTrue(se?.location?.path.hasPrefix("steps[0].operations[0]") == true, "\(spec): \(e)")
                    if se?.message.contains("conversion rejects") == true {
                        // An onError refusal: the server says the same, with the same place.
                        conversionRefusals += 1
                        let mapped = Lens.upgradeFailure(serverMessage: (f as? MongoError)?.message ?? "\(f)")
                        XCTAssertTrue(mapped?.message.contains("_id \(ExtendedJSON.string(id))") == true, "\(spec): \(f)")
                        XCTAssertTrue(mapped?.message.contains("holds a value the conversion rejects") == true, "\(spec): \(f)")
                        XCTAssertTrue(mapped?.message.contains("op\(n).json: steps[0].operations[0]") == true, "\(spec): \(f)")
                    }
                    if let guarded {
                        guardRefusals += 1
                        let text = (f as? MongoError)?.message ?? "\(f)"
                        let mapped = Lens.upgradeFailure(serverMessage: text)
                        XCTAssertNotNil(mapped, "\(spec): the server's refusal should carry the marker: \(text)")
                        XCTAssertEqual(mapped?.kind, .upgradeFailed)
                        XCTAssertTrue(mapped?.message.contains("_id \(ExtendedJSON.string(id))") == true, "\(spec): \(text)")
                        XCTAssertTrue(mapped?.message.contains(guarded.message) == true, "\(spec): \(text) should say \(guarded.message)")
                        XCTAssertTrue(mapped?.message.contains("op\(n).json: steps[0].operations[0]") == true, "\(spec): \(text)")
                    }
                case (.success(let s), .failure(let f)):
                    failures.append("\(spec)\n  on \(ExtendedJSON.string(.document(doc)))\n  swift  \(ExtendedJSON.string(.document(s)))\n  server failed: \(f)")
                case (.failure(let e), .success(let r)):
                    failures.append("\(spec)\n  on \(ExtendedJSON.string(.document(doc)))\n  swift failed: \(e)\n  server \(r.map { ExtendedJSON.string(.document($0)) })")
                }
                // Undo: an exact operation gives the stored document back (key order aside).
                if case .success(let s) = swift, op.invertibility == .exact {
                    let back = Result { try lens.downgrade(s, to: 0, context: context) }
                    if case .success(let b) = back, let diff = exact.difference(b, doc) {
                        failures.append("\(spec): undo of \(ExtendedJSON.string(.document(doc))) gave \(ExtendedJSON.string(.document(b))): \(diff)")
                    } else if case .failure(let e) = back {
                        failures.append("\(spec): undo of \(ExtendedJSON.string(.document(doc))) failed: \(e)")
                    }
                }
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) disagreements:\n" + failures.prefix(12).joined(separator: "\n"))
        // The generator reaches both outcomes, and guards, often.
        XCTAssertGreaterThan(agreedOK, 400)
        XCTAssertGreaterThan(agreedRefused, 100)
        XCTAssertGreaterThan(guardRefusals, 100)
        XCTAssertGreaterThan(conversionRefusals, 10)
    }
}

