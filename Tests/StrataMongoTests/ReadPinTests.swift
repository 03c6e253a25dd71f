import Foundation
import StrataMongo
import StrataTestSupport
import XCTest

/// `ReadPin` on the real embedded server: a transaction pin sees one state while
/// another client moves documents; a cluster-time pin puts one `atClusterTime` on
/// every read it sends (seen through command monitoring).
final class ReadPinTests: XCTestCase {
    func seed(_ db: MongoDatabase, count: Int = 1000) throws -> MongoCollection {
        let c = db.collection("pinned")
        _ = try c.insertMany((0..<count).map { ["_id": .int32(Int32($0)), "v": 0, "n": .int32(Int32($0))] })
        return c
    }

    func countAtVersion0(_ c: MongoCollection) throws -> Int {
        let rows = try c.aggregateAll([["$match": ["v": 0]], ["$group": ["_id": .null, "n": ["$sum": 1]]]])
        return Int(rows.first?["n"]?.exactInt ?? 0)
    }

    func testTransactionPinSeesOneStateWhileDocumentsMove() throws {
        let db = try TestServer.freshDatabase("readpin_txn")
        let plain = try seed(db)
        let pin = try ReadPin.transaction(pool: db.pool)
        defer { pin.finish() }
        let pinned = db.pinned(pin).collection("pinned")
        XCTAssertEqual(try countAtVersion0(pinned), 1000)
        // Another client moves half of them to version 3.
        let moved = try plain.updateMany(["n": ["$lt": 500]], ["$set": ["v": 3]])
        XCTAssertEqual(moved.modified, 500)
        XCTAssertEqual(try countAtVersion0(plain), 500, "outside the pin the move is visible")
        XCTAssertEqual(try countAtVersion0(pinned), 1000, "the pinned aggregate still reads the state it began in")
        XCTAssertEqual(try pinned.find(["v": 0], options: FindOptions(batchSize: 7)).all().count, 1000,
                       "a pinned find (many getMores, read on this thread) too")
        // A cursor read on another thread holds the pin's lock around each batch.
        let bodies: [@Sendable () throws -> Int] = [{ try pinned.find(["v": 3]).all().count },
                                                    { try pinned.find(["v": 0], options: FindOptions(batchSize: 10)).all().count }]
        let collected = try runOnThreads(bodies)
        XCTAssertEqual(collected, [0, 1000])
        pin.finish()
        XCTAssertEqual(try countAtVersion0(plain), 500)
    }

    func testClusterTimePinPutsOneTimeOnEveryRead() throws {
        let monitor = CommandMonitor()
        let pool = try MongoPool(uri: try TestServer.uri(), monitor: monitor)
        let db = MongoDatabase(pool: pool, name: "strata_test_readpin_time")
        try db.drop()
        _ = try seed(db, count: 300)
        let time = try db.snapshotTime(reading: "pinned")
        let pinned = db.pinned(.clusterTime(time, pool: pool)).collection("pinned")
        monitor.reset()
        XCTAssertEqual(try pinned.find([:], options: FindOptions(batchSize: 50)).all().count, 300)
        XCTAssertEqual(try countAtVersion0(pinned), 300)
        XCTAssertEqual(try db.pinned(.clusterTime(time, pool: pool)).aggregate([["$documents": [["a": 1]]]]).all().count, 1)
        let reads = monitor.startedCommands.filter { ["find", "aggregate"].contains($0.commandName) }
        XCTAssertEqual(reads.count, 3)
        for r in reads {
            XCTAssertEqual(r.command["readConcern"]?.documentValue?["level"], "snapshot", "\(r.command)")
            XCTAssertEqual(r.command["readConcern"]?.documentValue?["atClusterTime"], .timestamp(time), "\(r.command)")
        }
        // Later batches come by getMore on the cursor the pinned find opened.
        XCTAssertGreaterThanOrEqual(monitor.startedCommands.filter { $0.commandName == "getMore" }.count, 5)
    }

    func testSnapshotTimeComesFromTheServersReply() throws {
        let db = try TestServer.freshDatabase("readpin_snapshot_time")
        _ = try seed(db, count: 3)
        let a = try db.snapshotTime(reading: "pinned")
        _ = try db.collection("pinned").insertMany([["_id": 99, "v": 0]])
        let b = try db.snapshotTime(reading: "pinned")
        XCTAssertGreaterThan(a.t, 0)
        XCTAssertLessThanOrEqual(a, b)
    }
}
