import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo
import StrataTestSupport
import XCTest

/// What a writing pipeline refuses, and what a failure leaves behind: mongod's errors,
/// the versioned source never written, a `$out` that fails leaving its target as it was,
/// and temporary collections always dropped.
final class WriteRefusalTests: XCTestCase {
    /// `count` mixed events (and their truth) in a fresh database.
    func load(_ name: String, count: Int = 600) throws -> (MongoDatabase, VersionedCollection) {
        let db = try TestServer.freshDatabase(name)
        let dir = try Datasets.generate("events", count: count)
        try db.collection("events").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.mixed.jsonl")))
        try db.collection("events_truth").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.truth.jsonl")))
        let events = try StrataClient(database: db, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
            .collection("events")
        return (db, events)
    }

    static let totals = WriteDifferentialTests.totals
    static let totalsByKind = WriteDifferentialTests.totalsByKind

    func assertBadInput(_ body: @autoclosure () throws -> Any, _ message: String, at place: String? = nil,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .badInput, "\(e)", file: file, line: line)
            XCTAssert("\(e)".contains(message), "\(e)", file: file, line: line)
            if let place { XCTAssert("\(e)".contains(place), "\(e)", file: file, line: line) }
        }
    }

    func testOutOrMergeNotLastIsRefused() throws {
        for name in ["$out", "$merge"] {
            let spec = QuerySpec(collection: "events", pipeline: [[name: "x"], ["$match": ["kind": "view"]]], file: "q.json")
            assertBadInput(try ParsedQuery(spec), "\(name) can only be the final stage in the pipeline", at: "q.json: pipeline[0].\(name)")
        }
    }

    func testMergeOnWithoutAUniqueIndexIsMongodsErrorAndWritesNothing() throws {
        let (db, events) = try load("write_refuse_unique")
        let target = db.collection("by_kind")
        try target.createIndexes([["key": ["kind": 1], "name": "kind_1"]])  // not unique
        try target.insertMany([["_id": 1, "kind": "view", "n": -1]])
        let before = try target.find().all()
        assertBadInput(try events.write(Self.totalsByKind + [["$merge": ["into": "by_kind", "on": "kind"]]]),
                       "Cannot find index to verify that join fields will be unique", at: "pipeline[3].$merge.on")
        // A target that does not exist has no index but _id's.
        assertBadInput(try events.write(Self.totalsByKind + [["$merge": ["into": "no_such_target", "on": ["kind"]]]]),
                       "Cannot find index to verify that join fields will be unique")
        XCTAssertEqual(try target.find().all(), before)
        XCTAssertFalse(try db.listCollectionNames().contains("no_such_target"))
        XCTAssertEqual(try WrittenTargets.leftovers(db), [])
    }

    func testWritingIntoTheVersionedSourceIsRefused() throws {
        let (db, events) = try load("write_refuse_source")
        let before = try db.collection("events").find([:], options: FindOptions(sort: ["_id": 1])).all()
        for stage: BSON in [["$out": "events"], ["$merge": "events"], ["$merge": ["into": ["db": .string(db.name), "coll": "events"]]]] {
            let name = stage.singleField!.key
            assertBadInput(try events.write(Self.totals + [stage]), "the versioned collection this query reads, is refused",
                           at: "pipeline[2].\(name)")
        }
        XCTAssertEqual(try db.collection("events").find([:], options: FindOptions(sort: ["_id": 1])).all(), before)
        XCTAssertEqual(try WrittenTargets.leftovers(db), [])
    }

    /// `whenMatched: fail` meeting a match partway: the stage fails, and what it wrote
    /// before stays — as on mongod, whose manual says the changes from previous documents
    /// are not reverted. This server writes result by result, so exactly the results
    /// before the colliding one are there and none after; mongod writes in batches, so
    /// after the collision it may differ within the failing batch (not asserted of mongod).
    func testWhenMatchedFailStopsPartwayKeepingWhatWasWritten() throws {
        let (db, events) = try load("write_refuse_fail_partway")
        let results = try db.collection("events_truth").aggregateAll(Self.totals)
        XCTAssertGreaterThan(results.count, 4)
        let target = db.collection("partway")
        try target.insertMany([["_id": results[2]["_id"]!, "note": "seed"]])
        XCTAssertThrowsError(try events.write(Self.totals + [["$merge": ["into": "partway", "whenMatched": "fail"]]]))
        let ids = try target.find().all().map { $0["_id"]! }
        XCTAssertEqual(Set(ids.map { GroupKey($0) }), Set([results[0]["_id"]!, results[1]["_id"]!, results[2]["_id"]!].map { GroupKey($0) }))
        XCTAssertEqual(try target.findOne(["_id": results[2]["_id"]!])?["note"], "seed")
        XCTAssertEqual(try WrittenTargets.leftovers(db), [])
    }

    func testWhenNotMatchedFailIsMongodsError() throws {
        let (db, events) = try load("write_refuse_not_matched")
        XCTAssertThrowsError(try events.write(Self.totals + [["$merge": ["into": "empty_target", "whenNotMatched": "fail"]]])) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .evaluation, "\(e)")
            XCTAssert("\(e)".contains("$merge could not find a matching document in the target collection for at least one document in the source collection"), "\(e)")
        }
        XCTAssertEqual(try db.collection("empty_target").countDocuments(), 0)
        XCTAssertEqual(try WrittenTargets.leftovers(db), [])
    }

    /// A result without its `on` field is mongod's error, found before anything is written.
    func testAResultWithoutItsOnFieldIsRefusedBeforeWriting() throws {
        let (db, events) = try load("write_refuse_on_missing")
        let target = db.collection("by_kind")
        try target.createIndexes([["key": ["kind": 1], "name": "kind_1", "unique": true]])
        let read: [BSON] = Self.totals + [["$project": ["_id": 0, "n": 1, "kind": ["$cond": [["$eq": ["$_id", "view"]], "$$REMOVE", "$_id"]]]]]
        XCTAssertThrowsError(try events.write(read + [["$merge": ["into": "by_kind", "on": "kind"]]])) { e in
            XCTAssert("\(e)".contains("'on' field cannot be missing, null, undefined or an array"), "\(e)")
        }
        XCTAssertEqual(try target.countDocuments(), 0)
        XCTAssertEqual(try WrittenTargets.leftovers(db), [])
    }

    /// `$out` failing after two batches of results went into its temporary collection (a
    /// duplicate `_id` the third batch meets), or in the read part: the target keeps its
    /// documents and its index, and nothing temporary is left.
    func testOutFailingMidwayLeavesTheTargetAsItWas() throws {
        let (db, events) = try load("write_refuse_out_midway", count: 2500)
        let target = db.collection("segment")
        try target.insertMany([["_id": 1, "x": "a"], ["_id": 2, "x": "b"]])
        try target.createIndexes([["key": ["x": 1], "name": "x_1"]])
        let before = try target.find().all()
        let duplicate: [BSON] = [["$project": ["kind": 1, "_id": ["$cond": [["$eq": ["$_id", 2400]], 0, "$_id"]]]], ["$out": "segment"]]
        XCTAssertThrowsError(try events.write(duplicate)) { e in XCTAssert("\(e)".contains("E11000") || "\(e)".contains("duplicate"), "\(e)") }
        let failing: [BSON] = [["$project": ["x": ["$divide": [1, ["$cond": [["$eq": ["$_id", 2400]], 0, 1]]]]]], ["$out": "segment"]]
        XCTAssertThrowsError(try events.write(failing)) { e in XCTAssertEqual((e as? StrataError)?.kind, .evaluation, "\(e)") }
        XCTAssertEqual(try target.find().all(), before)
        XCTAssert(try target.listIndexes().contains { $0["name"] == "x_1" })
        XCTAssertEqual(try WrittenTargets.leftovers(db), [])
    }

    func testAggregateAndExplainOfAWritingPipeline() throws {
        let (_, events) = try load("write_refuse_aggregate", count: 200)
        assertBadInput(try events.aggregate(Self.totals + [["$out": "x"]]), "which writes its results instead of returning them")
        let explained = try events.explain(Self.totals + [["$out": "x"]])
        XCTAssertEqual(explained["output"]?.documentValue?["stage"], ["$out": "x"])
    }
}
