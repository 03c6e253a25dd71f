import Foundation
@testable import Strata
import Strata
import StrataTestFixtures
import StrataTestSupport
import XCTest

final class RuntimeLiveHistogramTests: XCTestCase {
    func waitFor(_ what: String, timeout: Double = 20, _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTFail("timed out waiting for \(what)")
    }

    /// Inserts at every kind of version, a partial migration, deletes, in-place version
    /// changes: the live histogram ends equal to a fresh count.
    func check(_ options: LiveHistogram.Options, database: String, preImages: Bool = false) async throws {
        let d = try RuntimeFixture.load("events", count: 300, database: database)
        if preImages {
            _ = try d.database.runCommand(["collMod": "events", "changeStreamPreAndPostImages": ["enabled": true]])
        }
        let live = LiveHistogram(collection: d.collection, lens: d.lens, options: options)
        let seen = Locked<[VersionHistogram]>([])
        let task = Task {
            for try await h in live { seen.mutate { $0.append(h) } }
        }
        defer { task.cancel() }
        try await waitFor("the first count") { !seen.value.isEmpty }
        XCTAssertEqual(seen.value[0], try VersionHistogram.read(d.collection, lens: d.lens))
        try await Task.sleep(nanoseconds: 300_000_000)

        try d.collection.insertMany([["_id": 10_001, "type": "View"], ["_id": 10_002, "v": 9], ["_id": 10_003, "v": "2"],
                                     ["_id": 10_004, "v": 1], ["_id": 10_005, "v": .double(3)], ["_id": 10_006, "v": [1, 2]]])
        _ = try await Migrator(collection: d.collection, lens: d.lens, options: .init(batchSize: 64)).run()
        try d.collection.delete(["_id": ["$lt": 30]])
        try d.collection.updateMany(["v": 3, "_id": ["$lt": 90]], ["$set": ["v": 7]])
        try d.collection.updateMany(["_id": 10_002], ["$unset": ["v": ""]])
        try d.collection.updateMany(["_id": ["$gte": 200, "$lt": 220]], ["$set": ["user": 5]])
        try d.collection.replaceOne(["_id": 10_003], with: ["_id": 10_003, "v": "3"])
        let expected = try VersionHistogram.read(d.collection, lens: d.lens)
        XCTAssertEqual(expected.unknownVersions[7].map { $0 > 0 }, true)
        try await waitFor("the counts after the changes (\(options.source), pre-images: \(preImages))") { seen.value.last == expected }
        XCTAssertGreaterThan(seen.value.count, 1)
    }

    func testChangeStreamFollowsEveryChange() async throws {
        try await check(.init(), database: "rt_live_stream")
    }

    func testChangeStreamWithPreImages() async throws {
        try await check(.init(), database: "rt_live_preimages", preImages: true)
    }

    func testPollingFollowsEveryChange() async throws {
        try await check(.init(source: .polling, pollInterval: 0.3), database: "rt_live_poll")
    }

    /// A dropped collection ends the change stream; the watch recounts and follows the new one.
    func testDropAndRefillIsFollowed() async throws {
        let d = try RuntimeFixture.load("devices", count: 50, database: "rt_live_drop")
        let seen = Locked<[VersionHistogram]>([])
        let task = Task {
            for try await h in LiveHistogram(collection: d.collection, lens: d.lens) { seen.mutate { $0.append(h) } }
        }
        defer { task.cancel() }
        try await waitFor("the first count") { !seen.value.isEmpty }
        try await Task.sleep(nanoseconds: 300_000_000)
        try d.collection.drop()
        try await waitFor("the count after the drop") { seen.value.last?.total == 0 }
        try await Task.sleep(nanoseconds: 300_000_000)
        try d.collection.insertMany([["_id": 1, "schemaVersion": 1], ["_id": 2]])
        try await waitFor("the refilled collection") { seen.value.last?.total == 2 && seen.value.last?.counts[1] == 1 }
    }

    func testSnapshotsSayWhereTheyCameFrom() async throws {
        let d = try RuntimeFixture.load("devices", count: 100, database: "rt_live_snapshots")
        var iterator = LiveHistogram(collection: d.collection, lens: d.lens).snapshots().makeAsyncIterator()
        let first = try await iterator.next()
        XCTAssertEqual(first?.source, .count(reason: "first count"))
        XCTAssertEqual(first?.live, true)
        try d.collection.insertOne(["_id": "new", "schemaVersion": 2])
        let next = try await iterator.next()
        XCTAssertEqual(next?.histogram.counts[2], (first?.histogram.counts[2] ?? 0) + 1)
        if case .changeStream(let events, _)? = next?.source { XCTAssertGreaterThanOrEqual(events, 1) } else { XCTFail("\(String(describing: next?.source))") }
    }
}
