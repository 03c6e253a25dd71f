import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo
import StrataTestSupport
import XCTest

/// `$merge`/`$out` into a target with a lens of its own (`kind_totals`: v0 stores `count`,
/// v1 renames it `n`, v2 adds `currency: "USD"` where missing). Written documents are
/// newest-version documents stamped `v: 2`; `whenMatched: merge` and pipelines apply to
/// the stored document upgraded to v2 (so a v0 document's `count` is the `n` they see).
final class VersionedTargetWriteTests: XCTestCase {
    static let targetLens = #"""
        {"collection": "kind_totals", "versionField": "v", "steps": [
          {"from": 0, "to": 1, "operations": [{"op": "rename", "from": "count", "to": "n"}]},
          {"from": 1, "to": 2, "operations": [{"op": "add", "field": "currency", "value": "USD"}]}]}
        """#

    struct Fixture {
        let db: MongoDatabase
        let events: VersionedCollection
        let target: MongoCollection
        /// The number of events per kind, from the truth.
        let counts: [(kind: String, n: Int)]
    }

    /// The events (mixed) and a schemas folder with their lens and the target's.
    func fixture(_ name: String) throws -> Fixture {
        let db = try TestServer.freshDatabase(name)
        let dir = try Datasets.generate("events", count: 600)
        try db.collection("events").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.mixed.jsonl")))
        try db.collection("events_truth").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.truth.jsonl")))
        let schemas = FileManager.default.temporaryDirectory.appendingPathComponent("strata-versioned-target-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: schemas)
        try FileManager.default.createDirectory(at: schemas, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestServer.repositoryRoot.appendingPathComponent("schemas/events.json"),
                                         to: schemas.appendingPathComponent("events.json"))
        try Self.targetLens.write(to: schemas.appendingPathComponent("kind_totals.json"), atomically: true, encoding: .utf8)
        let events = try StrataClient(database: db, schemasDirectory: schemas).collection("events")
        let counts = try db.collection("events_truth").aggregateAll([["$group": ["_id": "$kind", "n": ["$sum": 1]]], ["$sort": ["_id": 1]]])
            .map { (kind: $0["_id"]!.stringValue!, n: Int($0["n"]!.exactInt!)) }
        XCTAssertGreaterThan(counts.count, 4)
        return Fixture(db: db, events: events, target: db.collection("kind_totals"), counts: counts)
    }

    /// The first three kinds stored at v0, v1 and v2.
    func seed(_ f: Fixture) throws {
        try f.target.drop()
        try f.target.insertMany([
            ["_id": .string(f.counts[0].kind), "count": 5, "note": "old"],
            ["_id": .string(f.counts[1].kind), "v": 1, "n": 7],
            ["_id": .string(f.counts[2].kind), "v": 2, "n": 1, "currency": "EUR"],
        ])
    }

    static let totals: [BSON] = [["$group": ["_id": "$kind", "n": ["$sum": 1]]]]

    func assertTarget(_ f: Fixture, _ expected: [Document], file: StaticString = #filePath, line: UInt = #line) throws {
        let got = try f.target.find().all()
        XCTAssertNil(ResultComparison.difference(got, expected, pipeline: [["$out": "unordered"]]), file: file, line: line)
    }

    /// The documents the seeded kinds become, given what each stored `n` turns into.
    func expected(_ f: Fixture, seededN: (Int, Int) -> Int) -> [Document] {
        f.counts.enumerated().map { i, c in
            var d: Document = ["_id": .string(c.kind), "v": 2, "n": .int32(Int32(i < 3 ? seededN(i, c.n) : c.n))]
            if i == 0 { d["note"] = "old" }
            if i < 3 { d["currency"] = i == 2 ? "EUR" : "USD" }
            return d
        }
    }

    func testMergeAppliesToTheUpgradedDocumentAndStamps() throws {
        let f = try fixture("versioned_target_merge")
        try seed(f)
        let s = try f.events.write(Self.totals + [["$merge": ["into": "kind_totals", "whenMatched": "merge"]]])
        // The result's n replaces the upgraded n; the v0 document's `count` is gone (it is
        // its n at v2), its note stays, and the lens's currency is filled in.
        try assertTarget(f, expected(f) { _, n in n })
        XCTAssertEqual([s.documents, s.matched, s.updated, s.inserted], [f.counts.count, 3, 3, f.counts.count - 3])
        XCTAssertEqual(s.version, 2)
        XCTAssertEqual(try WrittenTargets.leftovers(f.db), [])
    }

    func testPipelineAppliesToTheUpgradedDocument() throws {
        let f = try fixture("versioned_target_pipeline")
        try seed(f)
        let s = try f.events.write(Self.totals + [["$merge": [
            "into": "kind_totals", "let": ["extra": 0],
            "whenMatched": [["$set": ["n": ["$add": ["$n", "$$new.n", "$$extra"]]]]],
        ]]])
        // On the stored v0 document `$n` would be missing (the server's own $merge would
        // write null); on its upgrade it is the stored count.
        let stored = [5, 7, 1]
        try assertTarget(f, expected(f) { i, n in stored[i] + n })
        XCTAssertEqual([s.matched, s.updated, s.inserted], [3, 3, f.counts.count - 3])
    }

    func testReplaceAndKeepExistingStayOnTheServerWithTheStamp() throws {
        let f = try fixture("versioned_target_replace")
        try seed(f)
        _ = try f.events.write(Self.totals + [["$merge": ["into": "kind_totals", "whenMatched": "replace"]]])
        try assertTarget(f, f.counts.map { ["_id": .string($0.kind), "v": 2, "n": .int32(Int32($0.n))] })

        try seed(f)
        let kept = try f.events.write(Self.totals + [["$merge": ["into": "kind_totals", "whenMatched": "keepExisting"]]])
        // The stored documents stay as they are (the v0 one too); the inserted ones are stamped.
        var want: [Document] = [
            ["_id": .string(f.counts[0].kind), "count": 5, "note": "old"],
            ["_id": .string(f.counts[1].kind), "v": 1, "n": 7],
            ["_id": .string(f.counts[2].kind), "v": 2, "n": 1, "currency": "EUR"],
        ]
        want += f.counts.dropFirst(3).map { ["_id": .string($0.kind), "v": 2, "n": .int32(Int32($0.n))] }
        try assertTarget(f, want)
        XCTAssertEqual([kept.kept, kept.inserted], [3, f.counts.count - 3])
    }

    func testOutStampsEveryDocument() throws {
        let f = try fixture("versioned_target_out")
        try seed(f)
        let s = try f.events.write(Self.totals + [["$out": "kind_totals"]])
        try assertTarget(f, f.counts.map { ["_id": .string($0.kind), "v": 2, "n": .int32(Int32($0.n))] })
        XCTAssertEqual(s.previousDocuments, 3)
        XCTAssertEqual(s.version, 2)
    }

    func testOnAFieldTheTargetLensRenamesIsRefused() throws {
        let f = try fixture("versioned_target_on_renamed")
        try seed(f)
        try f.target.createIndexes([["key": ["n": 1], "name": "n_1", "unique": true]])
        let before = try f.target.find().all()
        XCTAssertThrowsError(try f.events.write(Self.totals + [["$merge": ["into": "kind_totals", "on": "n", "whenMatched": "merge"]]])) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .badInput, "\(e)")
            XCTAssert("\(e)".contains("'n' of 'kind_totals' is not stored as 'n' at version 0"), "\(e)")
            XCTAssert("\(e)".contains("pipeline[1].$merge.on"), "\(e)")
        }
        XCTAssertEqual(try f.target.find().all(), before)
    }
}
