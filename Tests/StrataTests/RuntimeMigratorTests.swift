import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataTestFixtures
import StrataTestSupport
import XCTest

final class RuntimeMigratorTests: XCTestCase {
    /// `--to 2`: documents below 2 become exactly their v2 upgrade; v3 documents come
    /// down to exactly their v2 shape (a rollback), counted in `movedDown`.
    func testMigrateToAnIntermediateVersion() throws {
        let d = try RuntimeFixture.load("events", count: 600, database: "rt_mig_to2")
        let summary = try Migrator(collection: d.collection, lens: d.lens, options: .init(target: 2, batchSize: 128)).run()
        let below = d.mixed.filter { if case .known(let v) = d.lens.storedVersion(of: $0) { return v < 2 }; return false }
        let above = d.mixed.filter { d.lens.storedVersion(of: $0) == .known(3) }
        XCTAssertGreaterThan(above.count, 0)
        XCTAssertEqual(summary.expected, below.count + above.count)
        XCTAssertEqual(summary.migrated, below.count + above.count)
        XCTAssertEqual(summary.newerThanTarget, above.count)
        XCTAssertEqual(summary.movedDown, above.count)
        XCTAssertTrue(summary.isComplete)
        let expected = try d.mixed.map { doc -> Document in
            switch d.lens.storedVersion(of: doc) {
            case .known(let v) where v < 2: return try d.lens.upgrade(doc, to: 2)
            case .known(let v) where v > 2: return try d.lens.downgrade(doc, to: 2)
            default: return doc
            }
        }
        XCTAssertNil(try RuntimeFixture.difference(d.collection, expected))
        let h = try VersionHistogram.read(d.collection, lens: d.lens)
        XCTAssertEqual(h.counts[2], d.mixed.count)
        // Again: nothing to do.
        let again = try Migrator(collection: d.collection, lens: d.lens, options: .init(target: 2)).run()
        XCTAssertEqual(again.migrated, 0)
        XCTAssertEqual(again.expected, 0)
    }

    /// Documents the upgrade cannot handle are reported by _id and left untouched; the rest
    /// migrate; documents at unknown versions are counted and left alone. A dry run writes nothing.
    func testFailuresAreReportedAndLeftUntouched() throws {
        let d = try RuntimeFixture.load("events", count: 300, database: "rt_mig_failures")
        let bad: [Document] = [
            ["_id": 10_001, "ts": .date(0), "type": "View", "user": 1, "amountCents": "twelve", "tags": [], "region": "x"],
            ["_id": 10_002, "v": 2, "at": .date(0), "type": ["not", "a", "string"], "user": 1, "amount": ["value": 1.0, "currency": "USD"], "tags": [], "region": "x"],
            ["_id": 10_003, "v": 2, "at": .date(0), "type": ["an": "object"], "user": 1, "amount": ["value": 1.0, "currency": "USD"], "tags": [], "region": "x"],
        ]
        let unknown: [Document] = [["_id": 10_004, "v": 9], ["_id": 10_005, "v": "2"]]
        try d.collection.insertMany(bad + unknown)

        let dry = try Migrator(collection: d.collection, lens: d.lens, options: .init(batchSize: 50, dryRun: true)).run()
        XCTAssertTrue(dry.dryRun)
        XCTAssertEqual(Set(dry.failures.compactMap { $0.id?.exactInt }), [10_001, 10_002, 10_003], "\(dry.failures)")
        XCTAssertNil(try RuntimeFixture.difference(d.collection, d.mixed + bad + unknown), "a dry run writes nothing")

        let summary = try Migrator(collection: d.collection, lens: d.lens, options: .init(batchSize: 50)).run()
        let failedIds = Set(summary.failures.compactMap { $0.id?.exactInt })
        XCTAssertEqual(failedIds, [10_001, 10_002, 10_003], "\(summary.failures)")
        for f in summary.failures {
            XCTAssertTrue(f.reason.contains("_id \(f.id!.exactInt!)"), f.reason)
            let original = bad.first { $0["_id"] == f.id }!
            XCTAssertEqual(try d.collection.findOne(["_id": f.id!]), original, "left untouched")
        }
        XCTAssertEqual(summary.unknownVersions, 2)
        XCTAssertFalse(summary.isComplete)
        XCTAssertEqual(summary.migrated + summary.failures.count, summary.expected)
        for u in unknown { XCTAssertEqual(try d.collection.findOne(["_id": u["_id"]!]), u) }
        // Everything else equals the truth.
        let rest = try d.collection.find(["_id": ["$lt": 10_000]]).all()
        XCTAssertEqual(rest.count, d.truth.count)
        let truth = d.truthById
        for doc in rest { XCTAssertNil(BSONComparison().difference(doc, truth[GroupKey(doc["_id"]!)]!)) }
    }

    /// A NaN makes SecantusDB's `$eq` say a document differs from itself, so the pipeline
    /// guard never passes: the transaction fallback migrates and saves it all the same.
    func testDocumentsHoldingNaNMigrateAndSave() throws {
        let db = try TestServer.freshDatabase("rt_mig_nan")
        let lens = try RuntimeFixture.lens("devices")
        let coll = db.collection("devices")
        let docs: [Document] = [
            ["_id": "n1", "schemaVersion": 1, "serial": "s1", "product": "P00", "firmware": "1.2.3", "lastSeen": .date(0),
             "reading": ["tempF": .double(.nan)], "online": true, "tags": []],
            ["_id": "n2", "schemaVersion": 1, "serial": "s2", "product": "P00", "firmware": "1.2.3", "lastSeen": .date(0),
             "reading": ["tempF": 50.0], "online": true, "tags": [.double(.nan)]],
        ]
        try coll.insertMany(docs)
        let repo = try VersionedRepository(database: db, lens: lens)
        var v = try XCTUnwrap(repo.findOne(byId: "n2"))
        v.document["online"] = false
        try repo.save(v)
        XCTAssertEqual(try coll.findOne(["_id": "n2"])?["online"], false)
        let summary = try Migrator(collection: coll, lens: lens).run()
        XCTAssertEqual(summary.migrated, 1, "\(summary.json)")
        XCTAssertTrue(summary.isComplete, "\(summary.json)")
        let n1 = try XCTUnwrap(coll.findOne(["_id": "n1"]))
        XCTAssertEqual(n1["schemaVersion"], .int32(2))
        XCTAssertTrue(n1.value(atPath: "reading.tempC")?.doubleValue?.isNaN == true)
    }

    /// An application-defined function that throws an error of its own fails that document only.
    func testApplicationFunctionErrorsFailTheirDocumentsOnly() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom: no hashing today" } }
        let d = try RuntimeFixture.load("users", count: 200, database: "rt_mig_boom")
        let functions = LensFunctions.builtIn.registering("crc32Hex") { _, _, _ in throw Boom() }
        let summary = try Migrator(collection: d.collection, lens: d.lens, options: .init(functions: functions)).run()
        let hashed = d.mixed.filter { if case .known(let v) = d.lens.storedVersion(of: $0) { return v < 2 }; return false }
        XCTAssertEqual(summary.failures.count, hashed.count)
        XCTAssertTrue(summary.failures.allSatisfy { $0.reason.contains("boom: no hashing today") }, "\(summary.failures.first!)")
        XCTAssertEqual(summary.migrated, summary.expected - hashed.count)
        for doc in hashed { XCTAssertEqual(try d.collection.findOne(["_id": doc["_id"]!]), doc) }
    }

    /// The migrator reports the rate it achieved (no timing assertion) and never takes more
    /// than one second's worth of documents per batch.
    func testRateIsReported() throws {
        let d = try RuntimeFixture.load("devices", count: 300, database: "rt_mig_rate")
        let options = Migrator.Options(batchSize: 500, rate: 150)
        let migrator = try Migrator(collection: d.collection, lens: d.lens, options: options)
        XCTAssertEqual(migrator.effectiveBatchSize, 150)
        let seen = Locked<[Migrator.Progress]>([])
        let summary = try migrator.run { p in seen.mutate { $0.append(p) } }
        XCTAssertEqual(summary.requestedRate, 150)
        XCTAssertGreaterThan(summary.rate, 0)
        XCTAssertTrue(seen.value.allSatisfy { $0.batchDocuments <= 150 })
        XCTAssertTrue(seen.value.allSatisfy { $0.rate > 0 && $0.json["rate"] != nil && $0.json["etaSeconds"] != nil })
        XCTAssertNotNil(summary.json["rate"])
        XCTAssertNil(try RuntimeFixture.difference(d.collection, d.truth))
        XCTAssertThrowsError(try Migrator(collection: d.collection, lens: d.lens, options: .init(rate: 0)))
        XCTAssertThrowsError(try Migrator(collection: d.collection, lens: d.lens, options: .init(target: 7)))
    }
}

