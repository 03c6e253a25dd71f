import StrataTestFixtures
import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// `onError` on a `convert` whose stored values include ones the conversion rejects
/// (`"N/A"` under `$toDouble`): every plan family — SecantusDB's plans, mongod's plans,
/// the single-cursor plan — gives the same outcome. With "null" and "keep" the answers
/// equal the truth rendered by hand; with "fail" a query that does not read the field is
/// answered, and one that reads it fails with `.upgradeFailed` naming the document's
/// `_id` and the lens place, whichever side met the value.
final class ConversionPolicyTests: XCTestCase {
    static func lens(_ policy: String?) -> String {
        let onError = policy.map { #", "onError": "\#($0)""# } ?? ""
        return #"""
        {"collection": "prices", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
          {"op": "convert", "field": "price", "expr": {"$toDouble": "$$value"}\#(onError)}]}]}
        """#
    }

    /// (id, region, stored price at version 0 — nil: missing)
    static let rows: [(Int, String, BSON?)] = (0..<300).map { i in
        let price: BSON?
        switch i % 10 {
        case 0: price = "N/A"
        case 1: price = nil
        case 2: price = .int32(Int32(i % 17))
        case 3: price = "abc"
        default: price = .string(String(Double(i % 23) + 0.25))
        }
        return (i, ["north", "south", "east"][i % 3], price)
    }

    /// The collection: even ids at version 0 (as stored), odd ids already at version 1
    /// (their valid prices converted; the rejected ones left out of version 1: an
    /// application writes only what converts).
    func load(_ policy: String?, database: String) throws -> (MongoDatabase, URL) {
        let db = try TestServer.freshDatabase(database)
        var docs: [Document] = []
        for (id, region, price) in Self.rows {
            var d: Document = ["_id": .int32(Int32(id)), "region": .string(region)]
            if id % 2 == 1, let p = price {
                guard let converted = Self.toDouble(p) else { continue }
                d["price"] = .double(converted)
                d["v"] = 1
            } else {
                d["price"] = price
            }
            docs.append(d)
        }
        try db.collection("prices").insertMany(docs)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-policy-\(database)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.lens(policy).write(to: dir.appendingPathComponent("prices.json"), atomically: true, encoding: .utf8)
        return (db, dir)
    }

    static func toDouble(_ v: BSON) -> Double? {
        switch v {
        case .int32(let i): return Double(i)
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    /// The truth under `policy`: each stored document at the newest version, by hand.
    func truth(_ policy: String, db: MongoDatabase) throws -> [Document] {
        try db.collection("prices").aggregateAll([]).map { d in
            var t = d
            if d["v"] == nil, let p = d["price"] {
                if let x = Self.toDouble(p) { t["price"] = .double(x) } else { t["price"] = policy == "null" ? .null : p }
            }
            t["v"] = 1
            return t
        }
    }

    static let families: [(String, QueryRunner.Options)] = [
        ("SecantusDB plans", QueryRunner.Options()),
        ("mongod plans", QueryRunner.Options(profile: .mongod)),
        ("single cursor", QueryRunner.Options(readMechanism: .singleCursor)),
    ]

    static let readsPrice: [(String, [BSON])] = [
        ("sum by region", [["$group": ["_id": "$region", "total": ["$sum": "$price"], "n": ["$sum": 1]]]]),
        ("range", [["$match": ["price": ["$gt": 10]]], ["$count": "n"]]),
        ("types", [["$group": ["_id": ["$type": "$price"], "n": ["$sum": 1]]]]),
        ("documents", [["$match": ["region": "north"]], ["$sort": ["_id": 1]]]),
    ]
    static let readsRegionOnly: [(String, [BSON])] = [
        ("count by region", [["$group": ["_id": "$region", "n": ["$sum": 1]]]]),
        ("ids of a region", [["$match": ["region": "east"]], ["$project": ["_id": 1]], ["$sort": ["_id": 1]]]),
    ]

    func testNullAndKeepAnswerTheTruthUnderEveryPlan() throws {
        for policy in ["null", "keep"] {
            let (db, dir) = try load(policy, database: "policy_\(policy)")
            let truth = try truth(policy, db: db)
            for (family, options) in Self.families {
                let prices = try StrataClient(database: db, schemasDirectory: dir, options: options).collection("prices")
                // SecantusDB turns a `$cond` that yields `$$REMOVE` into null (mongod keeps it
                // missing); mongod's plans compute `$type` of the converted field that way there.
                for (title, pipeline) in Self.readsPrice + Self.readsRegionOnly where !(family == "mongod plans" && title == "types") {
                    let want = try PipelineExecutor(try Pipeline.parse(pipeline)).run(truth)
                    let got = try prices.aggregate(pipeline)
                    XCTAssertNil(ResultComparison.difference(got, want, pipeline: pipeline), "\(policy) \(family) \(title)")
                }
            }
        }
    }

    /// "skip": the rejected documents are in no answer, whichever plan runs, and every
    /// query says documents may be left out.
    func testSkipLeavesTheDocumentsOutUnderEveryPlan() throws {
        let (db, dir) = try load("skip", database: "policy_skip")
        let truth = try truth("keep", db: db).filter { d in
            guard let p = d["price"] else { return true }
            if case .double = p { return true }
            return false
        }
        XCTAssertEqual(truth.count, 300 - 30 - 30, "30 \"N/A\" stored at v0 left out; 30 \"abc\" (odd ids) never written")
        for (family, var options) in Self.families {
            let warnings = WarningLog()
            options.warn = { warnings.append($0) }
            let prices = try StrataClient(database: db, schemasDirectory: dir, options: options).collection("prices")
            for (title, pipeline) in Self.readsPrice + Self.readsRegionOnly where !(family == "mongod plans" && title == "types") {
                let want = try PipelineExecutor(try Pipeline.parse(pipeline)).run(truth)
                XCTAssertNil(ResultComparison.difference(try prices.aggregate(pipeline), want, pipeline: pipeline), "skip \(family) \(title)")
            }
            XCTAssertTrue(warnings.all.contains { $0.contains("left out of the answer (onError: skip") }, "\(family): \(warnings.all)")
        }
    }

    func testFailIsTheSameOutcomeUnderEveryPlan() throws {
        let (db, dir) = try load(nil, database: "policy_fail")
        let truth = try truth("keep", db: db)  // region is all these queries read
        for (family, options) in Self.families {
            let prices = try StrataClient(database: db, schemasDirectory: dir, options: options).collection("prices")
            for (title, pipeline) in Self.readsRegionOnly {
                let want = try PipelineExecutor(try Pipeline.parse(pipeline)).run(truth)
                XCTAssertNoThrow(try {
                    XCTAssertNil(ResultComparison.difference(try prices.aggregate(pipeline), want, pipeline: pipeline), "\(family) \(title)")
                }(), "\(family) \(title): a query that does not read price is answered")
            }
            for (title, pipeline) in Self.readsPrice {
                XCTAssertThrowsError(try prices.aggregate(pipeline), "\(family) \(title)") { error in
                    let e = error as? StrataError
                    XCTAssertEqual(e?.kind, .upgradeFailed, "\(family) \(title): \(error)")
                    let text = "\(error)"
                    XCTAssertTrue(text.contains("holds a value the conversion rejects"), "\(family) \(title): \(text)")
                    XCTAssertTrue(text.contains("steps[0].operations[0]"), "\(family) \(title): \(text)")
                    XCTAssertTrue(text.contains("_id 0") || text.contains("_id 10") || text.contains("_id 20") || text.range(of: #"_id \d+0\b"#, options: .regularExpression) != nil,
                                  "\(family) \(title): names a rejected document: \(text)")
                }
            }
        }
    }

    func testLoadRefusesWhatAPolicyCannotKeep() throws {
        func refused(_ op: String, saying words: String, line: UInt = #line) {
            let text = #"{"collection": "c", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [\#(op)]}]}"#
            XCTAssertThrowsError(try Lens.parse(text, file: "c.json"), line: line) { e in
                XCTAssertEqual((e as? StrataError)?.kind, .badInput, line: line)
                XCTAssertEqual((e as? StrataError)?.location?.path, "steps[0].operations[0].onError", "\(e)", line: line)
                XCTAssertTrue("\(e)".contains(words), "\(e)", line: line)
            }
        }
        refused(#"{"op": "convert", "field": "p", "expr": {"$toDouble": "$$value"}, "onError": "zero"}"#, saying: "one of fail, null, keep, skip")
        refused(#"{"op": "convert", "field": "p", "expr": {"$let": {"vars": {"s": {"$trim": {"input": "$$value"}}}, "in": {"$toDouble": "$$s"}}}, "onError": "null"}"#,
                saying: "reads the variables it binds")
        refused(#"{"op": "convert", "field": "p", "expr": {"$multiply": [{"$toDouble": "$$value"}, 100]}, "inverse": {"$divide": ["$$value", 100]}, "inverseExact": true, "onError": "keep"}"#,
                saying: "cannot be combined with inverseExact")
        // A conversion inside a branch is tested only when the branch is taken: "N/A" handled
        // by the lens itself is not a rejection.
        let guarded = try Lens.parse(#"{"collection": "c", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [{"op": "convert", "field": "p", "expr": {"$cond": [{"$eq": ["$$value", "N/A"]}, -1, {"$toDouble": "$$value"}]}}]}]}"#, file: "c.json")
        XCTAssertEqual(try guarded.upgrade(["_id": 1, "p": "N/A"])["p"], .int32(-1))
        XCTAssertEqual(try guarded.upgrade(["_id": 1, "p": "2.5"])["p"], .double(2.5))
        XCTAssertThrowsError(try guarded.upgrade(["_id": 7, "p": "x"])) { e in
            XCTAssertTrue("\(e)".contains("_id 7") && "\(e)".contains("conversion rejects"), "\(e)")
        }
    }
}

/// Collects warnings from any thread.
final class WarningLog: Sendable {
    private let items = Locked<[String]>([])
    func append(_ s: String) { items.mutate { $0.append(s) } }
    var all: [String] { items.value }
}

/// A document a lens guard refuses — a v0 event holding both `ts` and the `at` its rename
/// would write — fails the queries that read `at` under every plan (translated branches
/// check the guard on the stored document), and does not concern the others.
final class GuardConsistencyTests: XCTestCase {
    func testAGuardDecidingAReadFieldRefusesUnderEveryPlan() throws {
        let db = try DifferentialQueryTests.load("events", dist: "40,20,20,20", database: "guard_consistency")
        let events = db.collection("events")
        let victim = try XCTUnwrap(try events.aggregateAll([["$match": ["v": ["$exists": false]]], ["$limit": 1]]).first)
        let id = try XCTUnwrap(victim["_id"])
        _ = try events.updateMany(["_id": id], ["$set": ["at": .date(0)]])
        let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")
        let readsAt: [BSON] = [["$group": ["_id": ["$year": "$at"], "n": ["$sum": 1]]]]
        let readsKind: [BSON] = [["$group": ["_id": "$kind", "n": ["$sum": 1]]]]
        let truthKind = try db.collection("events_truth").aggregateAll(readsKind)
        for (family, options) in ConversionPolicyTests.families {
            let c = try StrataClient(database: db, schemasDirectory: schemas, options: options).collection("events")
            XCTAssertThrowsError(try c.aggregate(readsAt), family) { e in
                XCTAssertEqual((e as? StrataError)?.kind, .upgradeFailed, "\(family): \(e)")
                XCTAssertTrue("\(e)".contains("_id \(ExtendedJSON.string(id))") && "\(e)".contains("'at' already holds a value"), "\(family): \(e)")
            }
            XCTAssertNil(ResultComparison.difference(try c.aggregate(readsKind), truthKind, pipeline: readsKind), family)
        }
    }
}
