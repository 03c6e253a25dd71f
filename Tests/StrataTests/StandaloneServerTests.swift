import Foundation
@testable import Strata
import Strata
import StrataBench
import StrataBSON
import StrataEvaluator
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// The embedded server started `--standalone`: the topology of a standalone mongod, with
/// no transactions, no snapshot reads and no change streams. What strata documents for
/// such servers holds: queries read the collection with one cursor (and answer exactly
/// while documents move), the live histogram polls, key changes move without
/// transactions, the migrator finishes.
final class StandaloneServerTests: XCTestCase {
    func load(_ db: MongoDatabase, count: Int) throws -> (mixed: [Document], truth: [Document]) {
        let dir = try Datasets.generate("events", count: count)
        let mixed = try Datasets.readJSONL(dir.appendingPathComponent("events.mixed.jsonl"))
        let truth = try Datasets.readJSONL(dir.appendingPathComponent("events.truth.jsonl"))
        _ = try db.collection("events").insertMany(mixed)
        _ = try db.collection("events_truth").insertMany(truth)
        return (mixed, truth)
    }

    func testEverythingStrataDocumentsForAStandaloneServer() throws {
        let server = try PrivateServer(arguments: ["--standalone"])
        let db = MongoDatabase(pool: try MongoPool(uri: server.uri), name: "standalone")
        XCTAssertFalse(try db.capabilities().supportsTransactions)
        let (mixed, truth) = try load(db, count: 900)
        let lens = try RuntimeFixture.lens("events")

        // Queries while documents move: one cursor each, every answer the truth.
        XCTAssertEqual(try ReadMechanism.detect(db, collection: "events"), .singleCursor)
        let newest = Dictionary(uniqueKeysWithValues: truth.map { (GroupKey($0["_id"]!), $0) })
        var stress = MovementStress(targets: [.init(collection: db.collection("events"), stored: mixed,
                                                    newest: mixed.map { newest[GroupKey($0["_id"]!)]! })],
                                    schemasDirectory: RuntimeFixture.schemas,
                                    queries: try DifferentialQueryTests.answeringQueries(for: "events").map { (file: $0.0, spec: $0.1) })
        stress.writers = 2
        let report = try stress.run([.init(name: "mongod plans on a standalone", options: .init(profile: .mongod),
                                           skipping: MovementStress.swiftEvaluationDivergences)], secondsEach: 3,
                                    database: db, truth: { try db.collection($0.collection + "_truth").aggregateAll($0.pipeline) })
        XCTAssertGreaterThan(report.moves, 0)
        XCTAssert(report.outcomes[0].failures.isEmpty, report.outcomes[0].failures.prefix(5).joined(separator: "\n"))

        // The live histogram polls, and says why.
        let live = LiveHistogram(collection: db.collection("events"), lens: lens, options: .init(pollInterval: 0.2))
        var snapshots: [LiveHistogram.Snapshot] = []
        try live.run { s in snapshots.append(s); return false }
        XCTAssertEqual(snapshots.first?.live, false)
        XCTAssert(snapshots.first?.pollingReason?.contains("no change streams") == true, "\(String(describing: snapshots.first?.pollingReason))")

        // The migrator finishes; key moves go without transactions.
        let summary = try Migrator(collection: db.collection("events"), lens: lens).run()
        XCTAssertTrue(summary.failures.isEmpty, "\(summary.failures)")
        XCTAssertEqual(try db.collection("events").countDocuments(["v": 3]), try db.collection("events").countDocuments())

        let accounts = try RuntimeFixture.lens("accounts")
        let coll = db.collection("accounts")
        _ = try coll.insertMany([["_id": "Ann@Example.com", "name": "Ann"]])
        let repo = try VersionedRepository(database: db, lens: accounts)
        var ann = try XCTUnwrap(repo.findOne(byId: "ann@example.com"))
        ann.document["name"] = "Ann B."
        _ = try repo.save(ann)
        XCTAssertEqual(try coll.find().all().map { $0["_id"] }, ["ann@example.com"], "moved to its new key without a transaction")
    }
}
