import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// Rollback: `strata migrate --to` an older version moves documents down through the
/// lens with the migrator's guards, batches and resumability, and loses nothing.
final class RollbackCLITests: XCTestCase {
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas").path
    let migrate = Helpers()

    struct Helpers {
        func load(_ dataset: String, count: Int, database: String) throws -> (MongoDatabase, [Document]) {
            let dir = try Datasets.generate(dataset, count: count)
            let db = try TestServer.freshDatabase(database)
            try db.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
            if dataset == "devices" {
                try db.collection("products").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl")))
            }
            return (db, try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
        }

        func migrateArgs(_ collection: String, _ db: MongoDatabase, _ extra: [String] = []) throws -> [String] {
            ["migrate", "-c", collection, "--uri", try TestServer.uri(), "--db", db.name, "--schemas", RollbackCLITests.schemas] + extra
        }
    }

    /// Each older version of events and devices, from the mixed dataset: every document
    /// ends at it — those below upgraded, those above down-migrated, exactly as the lens
    /// says; then `strata migrate` gives back the truth exactly.
    func testRollbackToEachOlderVersionThenUpAgainGivesTheInput() throws {
        for (dataset, count) in [("events", 1200), ("devices", 900)] {
            let lens = try Lens.load(collection: dataset, schemasDirectory: URL(fileURLWithPath: Self.schemas))
            let (db, truth) = try migrate.load(dataset, count: count, database: "cli_rollback_\(dataset)")
            let coll = db.collection(dataset)
            let mixed = try coll.find().all()
            let context = DatabaseLookup(database: db).context(functions: .builtIn)
            for target in stride(from: lens.newest - 1, through: lens.oldest, by: -1) {
                try coll.drop()
                try coll.insertMany(mixed)
                var r = try StrataRunner.run(try migrate.migrateArgs(dataset, db, ["--to", "\(target)", "--batch", "200"]), timeout: 120)
                XCTAssertEqual(r.status, 0, "\(dataset) --to \(target): \(r.stderr)")
                let summary = try XCTUnwrap(try MigrateCLITests.jsonLines(r.stdout).last)
                XCTAssertEqual(summary["failed"]?.exactInt, 0, "\(dataset) --to \(target)")
                XCTAssertEqual(summary["complete"], true)
                XCTAssertGreaterThan(summary["movedDown"]?.exactInt ?? 0, 0, "\(dataset) --to \(target): some came down")
                let expected = try mixed.map { doc -> Document in
                    let v = try lens.knownVersion(of: doc)
                    if v < target { return try lens.upgrade(doc, to: target, context: context) }
                    if v > target { return try lens.downgrade(doc, to: target, context: context) }
                    return doc
                }
                if let diff = try MigrateCLITests.difference(coll, expected) { XCTFail("\(dataset) at \(target): \(diff)") }

                r = try StrataRunner.run(try migrate.migrateArgs(dataset, db, ["--batch", "300"]), timeout: 120)
                XCTAssertEqual(r.status, 0, r.stderr)
                if let diff = try MigrateCLITests.difference(coll, truth) { XCTFail("\(dataset) back up from \(target): \(diff)") }
            }
        }
    }

    /// A rollback killed with SIGKILL partway and run again finishes, nothing lost or
    /// duplicated; migrating up again gives the input.
    func testRollbackKilledPartwayThenRestartedFinishes() throws {
        let db = try TestServer.freshDatabase("cli_rollback_kill")
        let dir = try Datasets.generate("events", count: 2500)
        let truth = try Datasets.readJSONL(dir.appendingPathComponent("events.truth.jsonl"))
        let coll = db.collection("events")
        try coll.insertMany(truth)
        let killed = try MigrateProcess.start(try migrate.migrateArgs("events", db, ["--to", "0", "--rate", "800", "--batch", "80"]))
        XCTAssertGreaterThanOrEqual(try killed.killAfter(batchLines: 4), 4)
        let down = try coll.countDocuments(["v": ["$exists": false]])
        XCTAssertGreaterThan(down, 0, "some moved down before the kill")
        XCTAssertLessThan(down, 2500, "killed before the end")
        XCTAssertEqual(try coll.countDocuments(), 2500)

        var r = try StrataRunner.run(try migrate.migrateArgs("events", db, ["--to", "0", "--batch", "400"]), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(try MigrateCLITests.jsonLines(r.stdout).last)
        XCTAssertEqual(summary["movedDown"]?.exactInt, Int64(2500 - down))
        XCTAssertEqual(try coll.countDocuments(["v": ["$exists": false]]), 2500)
        r = try StrataRunner.run(try migrate.migrateArgs("events", db, []), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        if let diff = try MigrateCLITests.difference(coll, truth) { XCTFail(diff) }
    }

    /// A step that cannot be undone (the users' password hash) refuses the rollback before
    /// anything is written; the text output names it.
    func testRollbackThroughAStepWithoutUndoIsRefused() throws {
        let (db, _) = try migrate.load("users", count: 300, database: "cli_rollback_refused")
        let coll = db.collection("users")
        let before = try coll.find().all()
        let r = try StrataRunner.run(try migrate.migrateArgs("users", db, ["--to", "1"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("steps[1].operations[1]") && r.stderr.contains("crc32Hex") && r.stderr.contains("nothing was written"), r.stderr)
        XCTAssertEqual(try coll.find().all(), before)
    }

    /// A document whose older shape cannot hold it (two phones, where version 0 holds one)
    /// is reported by _id and left untouched; the others move down. Exit 5.
    func testLossyDocumentsAreReportedAndLeftUntouched() throws {
        let folder = try TempFolder()
        try folder.write("schemas/contacts.json", """
            {"collection": "contacts", "versionField": "v",
             "steps": [{"from": 0, "to": 1, "operations": [
                 {"op": "wrap", "from": "phone", "into": "phones", "element": {"kind": "phone", "value": "$$value"}}]}]}
            """)
        let db = try TestServer.freshDatabase("cli_rollback_lossy")
        let coll = db.collection("contacts")
        let two: Document = ["_id": 2, "v": 1, "phones": [["kind": "phone", "value": "2"], ["kind": "phone", "value": "3"]]]
        try coll.insertMany([["_id": 1, "v": 1, "phones": [["kind": "phone", "value": "1"]]], two, ["_id": 3, "phone": "9"]])
        let r = try StrataRunner.run(["migrate", "-c", "contacts", "--uri", try TestServer.uri(), "--db", db.name,
                                      "--schemas", folder.path + "/schemas", "--to", "0"])
        XCTAssertEqual(r.status, 5, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"_id\": 2") && r.stdout.contains("without loss") && r.stdout.contains("steps[0].operations[0]"), r.stdout)
        let stored = Dictionary(uniqueKeysWithValues: try coll.find().all().map { ($0["_id"]!.exactInt!, $0) })
        XCTAssertNil(BSONComparison().difference(try XCTUnwrap(stored[1]), ["_id": 1, "phone": "1"]))
        XCTAssertNil(BSONComparison().difference(try XCTUnwrap(stored[2]), two), "left untouched")
        XCTAssertNil(BSONComparison().difference(try XCTUnwrap(stored[3]), ["_id": 3, "phone": "9"]))
    }
}
