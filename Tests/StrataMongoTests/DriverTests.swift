import Foundation
import StrataBSON
import StrataMongo
import StrataTestSupport
import XCTest

final class DriverTests: XCTestCase {
    func testInsertFindAggregateAndCursorStreaming() throws {
        let db = try TestServer.freshDatabase("driver")
        let coll = db.collection("c")
        let docs: [Document] = (0..<250).map { ["_id": .int32(Int32($0)), "k": .int32(Int32($0 % 5))] }
        XCTAssertEqual(try coll.insertMany(docs), 250)
        XCTAssertEqual(try coll.countDocuments(["k": 3]), 50)
        let cursor = try coll.aggregate([["$group": ["_id": "$k", "n": ["$sum": 1]]], ["$sort": ["_id": 1]]])
        let rows = try cursor.all()
        XCTAssertEqual(rows.map { $0["n"] }, Array(repeating: .int32(50), count: 5))
        // A find with a small batch size must stream all documents across getMores.
        let found = try coll.find(["k": ["$gte": 0]], options: FindOptions(sort: ["_id": 1], batchSize: 7)).all()
        XCTAssertEqual(found.count, 250)
        XCTAssertEqual(found.last?["_id"], .int32(249))
    }

    /// A cursor read ahead on its own thread gives every document once, in order, with
    /// small chunks and a small look-ahead (so the reader waits for the caller); closing
    /// it early stops the reader and gives the client back; a server error arrives.
    func testPrefetchingCursorStreamsInOrderStopsEarlyAndReportsErrors() throws {
        let db = try TestServer.freshDatabase("driver_prefetch")
        let coll = db.collection("c")
        _ = try coll.insertMany((0..<1000).map { ["_id": .int32(Int32($0)), "pad": .string(String(repeating: "x", count: 100))] })
        let all = PrefetchingCursor(chunkSize: 7, ahead: 2) { try coll.find([:], options: FindOptions(sort: ["_id": 1], batchSize: 50)) }
        var ids: [Int64] = []
        while let d = try all.nextDocument() { ids.append(d["_id"]!.exactInt!) }
        XCTAssertEqual(ids, (0..<1000).map(Int64.init))
        XCTAssertEqual(try all.nextDocument(), nil)
        XCTAssertGreaterThan(all.bytesReceived, 100_000)
        // Early close, many times over: each gives its client back to the pool (which
        // would run dry and hang otherwise).
        for _ in 0..<100 {
            let c = PrefetchingCursor(chunkSize: 10, ahead: 1) { try coll.find([:], options: FindOptions(batchSize: 20)) }
            XCTAssertNotNil(try c.nextDocument())
            c.close()
        }
        let failing = PrefetchingCursor { try coll.aggregate([["$nosuchstage": 1]]) }
        XCTAssertThrowsError(try failing.nextDocument()) { XCTAssertEqual(($0 as? MongoError)?.kind, .server) }
    }

    func testServerErrorCarriesCodeAndMessage() throws {
        let db = try TestServer.freshDatabase("driver_errors")
        XCTAssertThrowsError(try db.collection("c").aggregateAll([["$nosuchstage": 1]])) { error in
            let e = error as? MongoError
            XCTAssertEqual(e?.kind, .server)
            XCTAssertNotEqual(e?.code, 0)
            XCTAssertFalse(e?.message.isEmpty ?? true)
        }
    }

    func testDuplicateKeyIsAWriteError() throws {
        let coll = try TestServer.freshDatabase("driver_dup").collection("c")
        try coll.insertOne(["_id": 1])
        XCTAssertThrowsError(try coll.insertOne(["_id": 1])) { error in
            let e = error as? MongoError
            XCTAssertEqual(e?.kind, .write)
            XCTAssertTrue(e?.isDuplicateKey ?? false, "\(error)")
        }
    }

    func testUnreachableServerFailsFastWithAClearMessage() throws {
        let pool = try MongoPool(uri: "mongodb://127.0.0.1:9/?directConnection=true", serverSelectionTimeoutMS: 1500)
        let start = Date()
        XCTAssertThrowsError(try MongoDatabase(pool: pool, name: "x").ping()) { error in
            XCTAssertEqual((error as? MongoError)?.kind, .connection)
            XCTAssertTrue("\(error)".contains("cannot reach"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testInvalidURIIsRejected() {
        XCTAssertThrowsError(try MongoPool(uri: "notmongo://x")) { error in
            XCTAssertEqual((error as? MongoError)?.kind, .invalidArgument)
        }
    }

    func testBlockingWorkRunsOnOwnThreads() async throws {
        let coll = try TestServer.freshDatabase("driver_async").collection("c")
        try coll.insertMany((0..<10).map { ["_id": .int32(Int32($0))] })
        let n = try await runBlocking { try coll.countDocuments() }
        XCTAssertEqual(n, 10)
        let counts = try runOnThreads((0..<4).map { i in { @Sendable in try coll.countDocuments(["_id": ["$lt": .int32(Int32(i))]]) } })
        XCTAssertEqual(counts, [0, 1, 2, 3])
    }
}
