import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// schemas/accounts.json: v0 `_id` is the e-mail address as typed, v1 the lower-cased one.
final class RuntimeKeyChangeTests: XCTestCase {
    func load(_ name: String, count: Int = 150) throws -> (MongoDatabase, Lens, [Document], [Document]) {
        let db = try TestServer.freshDatabase(name)
        let (mixed, truth) = AccountsDataset.generate(count: count)
        try db.collection("accounts").insertMany(mixed)
        return (db, try RuntimeFixture.lens("accounts"), mixed, truth)
    }

    func testLensChangesTheKey() throws {
        let lens = try RuntimeFixture.lens("accounts")
        XCTAssertTrue(lens.changesPrimaryKey(from: 0))
        let filter = try XCTUnwrap(lens.legacyKeyFilter(for: "ann.0@example.com"))
        XCTAssertTrue(ExtendedJSON.string(filter).contains("$regex"), ExtendedJSON.string(filter))
        XCTAssertNil(try RuntimeFixture.lens("events").legacyKeyFilter(for: 1))
        let up = try lens.upgrade(["_id": "Ann.0@Example.COM", "name": "Ann"])
        XCTAssertEqual(up["_id"], "ann.0@example.com")
        XCTAssertEqual(up["plan"], "free")
    }

    /// Reads by the new key find documents not moved yet, before and after migration,
    /// with and without transactions.
    func testReadByNewKeyBeforeAndAfterMigration() throws {
        for use in [TransactionUse.automatic, .never] {
            let (db, lens, mixed, truth) = try load("rt_accounts_\(use.rawValue)")
            let repo = try VersionedRepository(database: db, lens: lens, options: .init(transactions: use))
            let legacy = mixed.filter { lens.storedVersion(of: $0) == .known(0) }
            XCTAssertGreaterThan(legacy.count, 50)
            XCTAssertTrue(legacy.contains { $0["_id"]!.stringValue! != $0["_id"]!.stringValue!.lowercased() })
            for t in truth.prefix(60) {
                let got = try XCTUnwrap(repo.findOne(byId: t["_id"]!), "\(t["_id"]!) (\(use))")
                XCTAssertNil(BSONComparison().difference(got.document, t))
            }
            // The old spelling is not a key of the newest schema.
            let mixedCase = try XCTUnwrap(legacy.first { $0["_id"]!.stringValue! != $0["_id"]!.stringValue!.lowercased() })
            XCTAssertNil(try repo.findOne(byId: mixedCase["_id"]!))

            let summary = try Migrator(collection: db.collection("accounts"), lens: lens,
                                       options: .init(batchSize: 40, transactions: use)).run()
            XCTAssertEqual(summary.migrated, legacy.count)
            XCTAssertTrue(summary.failures.isEmpty, "\(summary.failures)")
            XCTAssertEqual(summary.usedTransactions, use == .automatic, "SecantusDB offers transactions")
            XCTAssertNil(try RuntimeFixture.difference(db.collection("accounts"), truth))
            for t in truth.prefix(60) {
                XCTAssertNil(BSONComparison().difference(try XCTUnwrap(repo.findOne(byId: t["_id"]!)).document, t))
            }
        }
    }

    /// Saving a document read at v0 moves it to its new key; nothing is left at the old one.
    func testSaveMovesTheDocumentToItsNewKey() throws {
        for use in [TransactionUse.automatic, .never] {
            let (db, lens, mixed, _) = try load("rt_accounts_save_\(use.rawValue)", count: 60)
            let repo = try VersionedRepository(database: db, lens: lens, options: .init(transactions: use))
            let coll = db.collection("accounts")
            let old = try XCTUnwrap(mixed.first { lens.storedVersion(of: $0) == .known(0) && $0["_id"]!.stringValue! != $0["_id"]!.stringValue!.lowercased() })
            let key = BSON.string(AccountsDataset.asciiLower(old["_id"]!.stringValue!))
            var v = try XCTUnwrap(repo.findOne(byId: key))
            XCTAssertEqual(v.stored, old)
            v.document["plan"] = "enterprise"
            try repo.save(v)
            XCTAssertNil(try coll.findOne(["_id": old["_id"]!]), "the old key is gone")
            let now = try XCTUnwrap(coll.findOne(["_id": key]))
            XCTAssertEqual(now["plan"], "enterprise")
            XCTAssertEqual(now["v"], .int32(1))
            XCTAssertEqual(try coll.countDocuments(), 60)
            // A stale read of the old document cannot be saved again.
            XCTAssertThrowsError(try repo.save(v)) { e in XCTAssertEqual((e as? StrataError)?.kind, .conflict, "\(e)") }
        }
    }

    /// Two old spellings of one address: reads refuse to pick one, the migrator moves one
    /// and reports the other by _id, untouched; an insert of the key is refused.
    func testKeyCollisionIsReportedNotResolved() throws {
        let db = try TestServer.freshDatabase("rt_accounts_collision")
        let lens = try RuntimeFixture.lens("accounts")
        let coll = db.collection("accounts")
        try coll.insertMany([["_id": "Ann@X.com", "name": "Ann"], ["_id": "ANN@x.com", "name": "Ann 2"], ["_id": "bob@x.com", "name": "Bob"]])
        let repo = try VersionedRepository(database: db, lens: lens)
        XCTAssertThrowsError(try repo.findOne(byId: "ann@x.com")) { e in XCTAssertEqual((e as? StrataError)?.kind, .conflict, "\(e)") }
        XCTAssertThrowsError(try repo.insert(["_id": "ann@x.com", "name": "new"])) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .conflict, "\(e)")
        }
        let summary = try Migrator(collection: coll, lens: lens).run()
        XCTAssertEqual(summary.migrated, 2)
        XCTAssertEqual(summary.failures.count, 1)
        let failure = try XCTUnwrap(summary.failures.first)
        XCTAssertTrue(["Ann@X.com", "ANN@x.com"].map(BSON.string).contains(failure.id!))
        XCTAssertTrue(failure.reason.contains("already has _id \"ann@x.com\""), failure.reason)
        XCTAssertEqual(try coll.countDocuments(), 3, "nothing lost")
        XCTAssertNotNil(try coll.findOne(["_id": failure.id!]), "the failed one is untouched")
    }

    /// A move that died between its insert and its delete (no transactions) is finished by
    /// the next run, with either mode.
    func testInterruptedMoveIsCompletedByTheNextRun() throws {
        for use in [TransactionUse.automatic, .never] {
            let db = try TestServer.freshDatabase("rt_accounts_resume_\(use.rawValue)")
            let lens = try RuntimeFixture.lens("accounts")
            let coll = db.collection("accounts")
            let old: Document = ["_id": "Eve@Y.org", "name": "Eve", "plan": "pro"]
            try coll.insertMany([old, try lens.upgrade(old)])
            let repo = try VersionedRepository(database: db, lens: lens)
            XCTAssertEqual(try repo.findOne(byId: "eve@y.org")?.storedVersion, 1, "the document at the new key wins")
            let summary = try Migrator(collection: coll, lens: lens, options: .init(transactions: use)).run()
            XCTAssertEqual(summary.migrated, 1, "\(use)")
            XCTAssertTrue(summary.failures.isEmpty, "\(summary.failures)")
            XCTAssertEqual(try coll.find().all(), [try lens.upgrade(old)])
        }
    }

    /// The driver's transactions are real: uncommitted writes are invisible outside and
    /// vanish on abort.
    func testTransactionsAreAtomic() throws {
        let db = try TestServer.freshDatabase("rt_transactions")
        let coll = db.collection("t")
        try coll.insertOne(["_id": 1])
        XCTAssertTrue(try db.capabilities().supportsTransactions)
        struct Stop: Error {}
        XCTAssertThrowsError(try db.withTransaction { txn in
            try txn.insert("t", [["_id": 2]])
            XCTAssertEqual(try txn.delete("t", ["_id": 1]), 1)
            XCTAssertEqual(try txn.find("t", ["_id": 2]).count, 1, "seen inside")
            XCTAssertNil(try coll.findOne(["_id": 2]), "not seen outside before commit")
            XCTAssertNotNil(try coll.findOne(["_id": 1]))
            throw Stop()
        })
        XCTAssertEqual(try coll.find().all(), [["_id": 1]], "aborted")
        try db.withTransaction { txn in
            try txn.insert("t", [["_id": 2]])
            _ = try txn.delete("t", ["_id": 1])
        }
        XCTAssertEqual(try coll.find().all(), [["_id": 2]], "committed")
    }
}
