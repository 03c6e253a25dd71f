import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo
import StrataTestSupport
import XCTest

/// `$out` and `$merge` as the last stage, differentially: strata's run over the MIXED
/// events into a target T1 must leave T1 holding what the server's own pipeline over the
/// fully migrated truth leaves in T2, both targets starting with the same documents (and
/// indexes). Every `whenMatched` and `whenNotMatched` mode, `on` a unique non-`_id`
/// field, `$out` over an existing target with an index of its own, and targets in another
/// database, for three version mixes (the all-oldest one included).
final class WriteDifferentialTests: XCTestCase {
    /// Per-kind totals, sorted by kind: what most cases write (one result per kind).
    static let totals: [BSON] = [
        ["$group": ["_id": "$kind", "n": ["$sum": 1], "revenue": ["$sum": "$amount.value"], "lastAt": ["$max": "$at"]]],
        ["$sort": ["_id": 1]],
    ]
    /// The same, keyed by a field of their own (`kind`) and without `_id`.
    static let totalsByKind: [BSON] = totals + [["$project": ["_id": 0, "kind": "$_id", "n": 1, "revenue": 1]]]

    struct Case: Sendable {
        var name: String
        var read: [BSON]
        /// The final stage, writing into the given collection.
        var stage: @Sendable (MongoCollection) -> BSON
        /// The field results are matched by, for the seeds and the expected counts.
        var key = "_id"
        /// Which results get a document in the target beforehand (by position).
        var seeded: @Sendable (Int) -> Bool = { $0 % 2 == 0 }
        var indexes: [Document] = []
        /// Into the second database.
        var otherDatabase = false
    }

    static func merge(_ spec: Document) -> @Sendable (MongoCollection) -> BSON {
        { target in
            var d = spec
            d["into"] = ["db": .string(target.database.name), "coll": .string(target.name)]
            return ["$merge": .document(d)]
        }
    }

    static let cases: [Case] = [
        Case(name: "replace", read: totals, stage: merge(["whenMatched": "replace", "whenNotMatched": "insert"])),
        Case(name: "keep", read: totals, stage: merge(["whenMatched": "keepExisting"])),
        Case(name: "merge", read: totals, stage: merge(["whenMatched": "merge", "whenNotMatched": "insert"])),
        Case(name: "failNoCollision", read: totals, stage: merge(["whenMatched": "fail"]), seeded: { _ in false }),
        Case(name: "pipeline", read: totals, stage: merge([
            "let": ["label": ["$concat": ["kind ", "$_id"]]],
            "whenMatched": [["$set": ["n": ["$add": [["$ifNull": ["$n", 0]], "$$new.n"]], "label": "$$label", "revenue": "$$new.revenue"]]],
        ])),
        Case(name: "discard", read: totals, stage: merge(["whenMatched": "replace", "whenNotMatched": "discard"])),
        Case(name: "notMatchedFail", read: totals, stage: merge(["whenMatched": "merge", "whenNotMatched": "fail"]), seeded: { _ in true }),
        Case(name: "onKind", read: totalsByKind, stage: merge(["on": "kind", "whenMatched": "replace"]), key: "kind",
             indexes: [["key": ["kind": 1], "name": "kind_1", "unique": true]]),
        Case(name: "onKindMerge", read: totalsByKind, stage: merge(["on": ["kind"], "whenMatched": "merge"]), key: "kind",
             indexes: [["key": ["kind": 1], "name": "kind_1", "unique": true]]),
        Case(name: "mergeOtherDb", read: totals, stage: merge(["whenMatched": "replace"]), otherDatabase: true),
        Case(name: "outExisting", read: totals, stage: { ["$out": .string($0.name)] },
             indexes: [["key": ["n": 1], "name": "n_1"]]),
        Case(name: "outOtherDb", read: totals, stage: { ["$out": ["db": .string($0.database.name), "coll": .string($0.name)]] },
             otherDatabase: true),
    ]

    /// The target's documents before the run: one per seeded result (with a field the
    /// results lack, so `merge` and `replace` differ), and one that matches nothing.
    static func seeds(_ c: Case, results: [Document]) -> [Document] {
        var out: [Document] = results.enumerated().filter { c.seeded($0.offset) }.map { i, r in
            c.key == "_id" ? ["_id": r["_id"]!, "n": -1, "note": "before"]
                : ["_id": .int32(Int32(1000 + i)), c.key: r[c.key]!, "n": -1, "note": "before"]
        }
        out.append(c.key == "_id" ? ["_id": "no-such-kind", "note": "untouched"] : ["_id": 999, c.key: "no-such-kind", "note": "untouched"])
        return out
    }

    func check(dist: String?) throws {
        let suffix = (dist ?? "default").replacingOccurrences(of: ",", with: "_")
        let db = try DifferentialQueryTests.load("events", dist: dist, database: "write_diff_\(suffix)")
        let other = try TestServer.freshDatabase("write_diff_other_\(suffix)")
        let collection = try StrataClient(database: db, schemasDirectory: DifferentialQueryTests.root.appendingPathComponent("schemas"))
            .collection("events")
        var failures: [String] = []
        for c in Self.cases {
            let where_ = c.otherDatabase ? other : db
            let t1 = where_.collection("w_\(c.name)"), t2 = where_.collection("w_\(c.name)_truth")
            let results = try db.collection("events_truth").aggregateAll(c.read)
            let seeds = Self.seeds(c, results: results)
            for t in [t1, t2] {
                try t.drop()
                try t.createIndexes(c.indexes)
                try t.insertMany(seeds)
            }
            let summary: WriteSummary
            do { summary = try collection.write(c.read + [c.stage(t1)]) } catch {
                failures.append("\(c.name) [\(suffix)]: strata failed: \(error)")
                continue
            }
            _ = try db.collection("events_truth").aggregateAll(c.read + [c.stage(t2)])
            if let d = try WrittenTargets.difference(t1, t2, stripObjectIds: c.key != "_id") {
                failures.append("\(c.name) [\(suffix)]: \(d)")
            }
            checkSummary(summary, c, results: results, seeds: seeds, target: t1)
            if c.name == "outExisting" {
                // mongod's $out keeps the replaced collection's indexes (SecantusDB's own drops them).
                XCTAssert(try t1.listIndexes().contains { $0["name"] == "n_1" }, "outExisting [\(suffix)]: the index n_1 was lost")
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) writes differ:\n" + failures.joined(separator: "\n"))
        XCTAssertEqual(try WrittenTargets.leftovers(db) + WrittenTargets.leftovers(other), [], "temporary collections left behind")
    }

    /// The counts strata reports, from the seeds and the results.
    func checkSummary(_ s: WriteSummary, _ c: Case, results: [Document], seeds: [Document], target: MongoCollection) {
        let what = "\(c.name): \(s.json)"
        XCTAssertEqual(s.namespace, target.namespace, what)
        XCTAssertEqual(s.documents, results.count, what)
        guard s.stage == .merge else {
            XCTAssertEqual(s.inserted, results.count, what)
            XCTAssertEqual(s.previousDocuments, seeds.count, what)
            return
        }
        let seeded = Set(seeds.compactMap { $0[c.key].map(GroupKey.init) })
        let matched = results.filter { seeded.contains(GroupKey($0[c.key])) }.count
        XCTAssertEqual(s.matched, matched, what)
        XCTAssertEqual(s.matched + s.inserted + s.discarded, s.documents, what)
        XCTAssertEqual(s.replaced + s.updated + s.kept, s.matched, what)
    }

    /// mongod's `whenMatched: "merge"` sets the result's top-level fields: a sub-document
    /// is replaced whole, not merged into (SecantusDB 0.7.0b3's own `merge` merges it
    /// recursively; strata sends mongod's meaning as a pipeline). Results without `_id`
    /// get new ones, as on mongod, and each is inserted.
    func testMergeSetsTopLevelFieldsAndResultsWithoutIdAreInserted() throws {
        let db = try DifferentialQueryTests.load("events", dist: nil, database: "write_merge_semantics")
        let events = try StrataClient(database: db, schemasDirectory: DifferentialQueryTests.root.appendingPathComponent("schemas"))
            .collection("events")
        let target = db.collection("by_region")
        try target.insertMany([["_id": "eu-west", "geo": ["region": "old", "country": "FR"], "note": "kept"]])
        _ = try events.write([["$group": ["_id": "$geo.region", "n": ["$sum": 1]]],
                              ["$set": ["geo": ["region": "$_id"]]], ["$merge": ["into": "by_region", "whenMatched": "merge"]]])
        let euWest = try XCTUnwrap(target.findOne(["_id": "eu-west"]))
        XCTAssertEqual(euWest["geo"], ["region": "eu-west"], "\(euWest)")
        XCTAssertEqual(euWest["note"], "kept")

        let anonymous = db.collection("anonymous")
        let s = try events.write([["$match": ["kind": "purchase"]], ["$project": ["_id": 0, "user": 1]], ["$merge": "anonymous"]])
        let purchases = try db.collection("events_truth").countDocuments(["kind": "purchase"])
        XCTAssertEqual([s.documents, s.inserted, s.matched], [purchases, purchases, 0])
        XCTAssertEqual(try anonymous.countDocuments(), purchases)
    }

    func testDefaultMix() throws { try check(dist: nil) }
    func testAllOldest() throws { try check(dist: "100,0,0,0") }
    func testMiddleVersionAbsent() throws { try check(dist: "30,30,0,40") }
}
