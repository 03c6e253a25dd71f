import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
@testable import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `MigratorService` and `LiveHistogramService` in a `ServiceGroup`, against the test server.
final class ServiceTests: XCTestCase {
    func waitFor(_ what: String, timeout: Double = 30, context: () -> String = { "" },
                 _ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("timed out waiting for \(what)\(context())")
        throw CancellationError()
    }

    func logger(_ handler: InMemoryLogHandler) -> Logger {
        var logger = Logger(label: "strata-test", factory: { _ in handler })
        logger.logLevel = .info
        return logger
    }

    func messages(_ handler: InMemoryLogHandler, _ message: String) -> [Logger.Metadata] {
        handler.entries.filter { "\($0.message)" == message }.map(\.metadata)
    }

    /// A throttled migrator over 3000 events and a live histogram in one group; graceful
    /// shutdown after a few batches: the group returns promptly, the run stopped part-way,
    /// and every document is either exactly as stored or exactly its upgrade (nothing
    /// half-written, none lost). A later run completes the migration to the truth.
    func testGracefulShutdownStopsTheMigratorBetweenBatches() async throws {
        let d = try RuntimeFixture.load("events", count: 3000, database: "svc_shutdown")
        let stored = Dictionary(uniqueKeysWithValues: d.mixed.map { (GroupKey($0["_id"]!), $0) })
        let truth = d.truthById
        let pending = d.mixed.filter { d.lens.storedVersion(of: $0) != .known(d.lens.newest) }.count
        XCTAssertGreaterThan(pending, 1000)

        let logs = InMemoryLogHandler()
        let telemetry = Telemetry(logger: logger(logs))
        let batches = Locked(0)
        let summaries = Locked<[Migrator.Summary]>([])
        // 100 documents a batch at 500 a second: about 0.2 s a batch, four seconds for all.
        let migrator = try MigratorService(collection: d.collection, lens: d.lens,
                                           options: .init(batchSize: 100, rate: 500, telemetry: telemetry),
                                           onProgress: { _ in batches.mutate { $0 += 1 } },
                                           onSummary: { s in summaries.mutate { $0.append(s) } })
        let histogram = LiveHistogramService(collection: d.collection, lens: d.lens, options: .init(telemetry: telemetry))
        let group = ServiceGroup(services: [histogram, migrator], logger: telemetry.logger)
        let ended = Locked<String?>(nil)
        let running = Task {
            do {
                try await group.run()
                ended.mutate { $0 = "returned" }
            } catch {
                ended.mutate { $0 = "threw \(error)" }
                throw error
            }
        }

        // Three batches, or the group ending first (then say how, with what the services logged).
        try await waitFor("three batches", context: {
            "; \(batches.value) so far; logged:\n  " + logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }.joined(separator: "\n  ")
        }) { batches.value >= 3 || ended.value != nil }
        if let how = ended.value {
            let log = logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }.joined(separator: "\n  ")
            return XCTFail("the group ended after \(batches.value) batches, before the shutdown: \(how)\n  \(log)")
        }
        let asked = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        let took = ContinuousClock.now - asked
        XCTAssertLessThan(took, .seconds(3), "the group took \(took) to shut down")

        let summary = try XCTUnwrap(summaries.value.last)
        XCTAssertEqual(summaries.value.count, 1)
        XCTAssertTrue(summary.stopped)
        XCTAssertFalse(summary.isComplete)
        XCTAssertGreaterThan(summary.migrated, 0)
        XCTAssertLessThan(summary.migrated, pending)

        // Consistent: each document exactly as stored, or exactly its upgrade.
        let now = try d.collection.find().all()
        XCTAssertEqual(now.count, d.mixed.count, "no document lost or added")
        var migrated = 0, untouched = 0
        for doc in now {
            let key = GroupKey(doc["_id"]!)
            let before = try XCTUnwrap(stored[key]), after = try XCTUnwrap(truth[key])
            let same = BSONComparison().difference(doc, before) == nil
            let upgraded = BSONComparison().difference(doc, after) == nil
            XCTAssertTrue(same || upgraded, "document \(ExtendedJSON.string(doc["_id"]!)) is neither as stored nor its upgrade")
            if upgraded && !same { migrated += 1 }
            if same && !upgraded { untouched += 1 }
        }
        XCTAssertEqual(migrated, summary.migrated)
        XCTAssertEqual(migrated + untouched, pending)
        XCTAssertGreaterThan(untouched, 0, "the shutdown came before the end")
        print("graceful shutdown took \(took); \(migrated) of \(pending) documents migrated before it, \(untouched) left as stored")

        // Both services logged their start and their stop, with the reason.
        XCTAssertEqual(messages(logs, "migrator service started").count, 1)
        XCTAssertEqual(messages(logs, "migrator service stopped").first?["reason"], "graceful shutdown")
        XCTAssertEqual(messages(logs, "migrator stopped").count, 1, "the migrator's own summary line")
        XCTAssertEqual(messages(logs, "live histogram service stopped").first?["reason"], "graceful shutdown")
        XCTAssertNotNil(histogram.latest)

        // The next run continues to the truth.
        let rest = try await Migrator(collection: d.collection, lens: d.lens, options: .init(batchSize: 500)).run()
        XCTAssertTrue(rest.isComplete)
        XCTAssertEqual(rest.migrated, pending - summary.migrated)
        XCTAssertNil(try RuntimeFixture.difference(d.collection, d.truth))
    }

    /// `.every`: after migrating everything the service waits, runs again, and picks up the
    /// documents an old application wrote at old versions meanwhile; shutdown during the
    /// pause ends it at once.
    func testRepeatingMigratorPicksUpOldVersionWrites() async throws {
        let d = try RuntimeFixture.load("events", count: 200, database: "svc_every")
        let logs = InMemoryLogHandler()
        let summaries = Locked<[Migrator.Summary]>([])
        let migrator = try MigratorService(collection: d.collection, lens: d.lens,
                                           options: .init(batchSize: 64, telemetry: Telemetry(logger: logger(logs))),
                                           schedule: .every(.milliseconds(200)),
                                           onSummary: { s in summaries.mutate { $0.append(s) } })
        let group = ServiceGroup(services: [migrator], logger: logger(logs))
        let running = Task { try await group.run() }
        defer { running.cancel() }

        try await waitFor("the first run") { !summaries.value.isEmpty }
        XCTAssertTrue(summaries.value[0].isComplete)
        XCTAssertNil(try RuntimeFixture.difference(d.collection, d.truth))

        // An old application writes v0 and v2 events.
        let late: [Document] = [
            ["_id": 90_001, "ts": .date(1_700_000_000_000), "type": "View", "user": 1, "amountCents": 1250, "tags": [], "region": "eu-west"],
            ["_id": 90_002, "v": 2, "at": .date(1_700_000_000_000), "type": "Purchase", "user": 2,
             "amount": ["value": 3.5, "currency": "USD"], "tags": ["a"], "region": "us-east"],
        ]
        try d.collection.insertMany(late)
        try await waitFor("the late documents migrated") {
            try d.collection.countDocuments(["_id": ["$gte": 90_000], "v": .int64(Int64(d.lens.newest))]) == late.count
        }
        for doc in late {
            XCTAssertNil(BSONComparison().difference(try XCTUnwrap(d.collection.findOne(["_id": doc["_id"]!])), try d.lens.upgrade(doc, to: d.lens.newest)))
        }
        XCTAssertGreaterThanOrEqual(summaries.value.count, 2)

        let asked = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        XCTAssertLessThan(ContinuousClock.now - asked, .seconds(2))
        let stopped = try XCTUnwrap(messages(logs, "migrator service stopped").first)
        XCTAssertEqual(stopped["reason"], "graceful shutdown")
        XCTAssertEqual(stopped["runs"], "\(summaries.value.count)")
    }

    /// A task cancelled while the migrator runs: the batch finishes and `run()` returns
    /// (no error), the collection consistent.
    func testCancellationStopsTheMigratorBetweenBatches() async throws {
        let d = try RuntimeFixture.load("events", count: 1000, database: "svc_cancel")
        let batches = Locked(0)
        let logs = InMemoryLogHandler()
        let service = try MigratorService(collection: d.collection, lens: d.lens,
                                          options: .init(batchSize: 50, rate: 250, telemetry: Telemetry(logger: logger(logs))),
                                          onProgress: { _ in batches.mutate { $0 += 1 } })
        let running = Task { try await service.run() }
        try await waitFor("two batches") { batches.value >= 2 }
        running.cancel()
        try await running.value
        XCTAssertEqual(messages(logs, "migrator service stopped").first?["reason"], "cancelled")
        let truth = d.truthById
        let stored = Dictionary(uniqueKeysWithValues: d.mixed.map { (GroupKey($0["_id"]!), $0) })
        let now = try d.collection.find().all()
        XCTAssertEqual(now.count, d.mixed.count)
        for doc in now {
            let key = GroupKey(doc["_id"]!)
            XCTAssertTrue(BSONComparison().difference(doc, stored[key]!) == nil || BSONComparison().difference(doc, truth[key]!) == nil)
        }
        XCTAssertGreaterThan(try d.collection.countDocuments(["v": ["$ne": .int64(Int64(d.lens.newest))]]), 0, "stopped before the end")
    }

    /// The live histogram service reports the first count and later changes (to `onUpdate`
    /// and `latest`), and stops on graceful shutdown: nothing is reported after.
    func testLiveHistogramServiceReportsAndStopsOnShutdown() async throws {
        let d = try RuntimeFixture.load("events", count: 300, database: "svc_histogram")
        let logs = InMemoryLogHandler()
        let seen = Locked<[VersionHistogram]>([])
        let service = LiveHistogramService(collection: d.collection, lens: d.lens,
                                           options: .init(telemetry: Telemetry(logger: logger(logs)))) { snapshot in
            seen.mutate { $0.append(snapshot.histogram) }
        }
        let group = ServiceGroup(services: [service], logger: logger(logs))
        let running = Task { try await group.run() }
        defer { running.cancel() }

        try await waitFor("the first count") { !seen.value.isEmpty }
        XCTAssertEqual(seen.value[0], try VersionHistogram.read(d.collection, lens: d.lens))
        XCTAssertEqual(service.latest?.histogram, seen.value[0])
        XCTAssertEqual(messages(logs, "live histogram service: first count").first?["live"], "true")

        try d.collection.insertMany([["_id": 80_001, "v": 1], ["_id": 80_002, "v": 1], ["_id": 80_003]])
        let expected = try VersionHistogram.read(d.collection, lens: d.lens)
        try await waitFor("the inserts counted") { seen.value.last == expected }
        XCTAssertEqual(service.latest?.histogram, expected)

        let asked = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        XCTAssertLessThan(ContinuousClock.now - asked, .seconds(2))
        let stopped = try XCTUnwrap(messages(logs, "live histogram service stopped").first)
        XCTAssertEqual(stopped["reason"], "graceful shutdown")

        let reported = seen.value.count
        try d.collection.insertMany([["_id": 80_004, "v": 1]])
        try await Task.sleep(for: .milliseconds(800))
        XCTAssertEqual(seen.value.count, reported, "nothing reported after the shutdown")
    }

    /// Cancelled (not shut down gracefully), the live histogram service stops its watch and
    /// returns without an error.
    func testLiveHistogramServiceStopsOnCancellation() async throws {
        let d = try RuntimeFixture.load("events", count: 50, database: "svc_histogram_cancel")
        let logs = InMemoryLogHandler()
        let service = LiveHistogramService(collection: d.collection, lens: d.lens,
                                           options: .init(telemetry: Telemetry(logger: logger(logs))))
        let running = Task { try await service.run() }
        try await waitFor("the first count") { service.latest != nil }
        let asked = ContinuousClock.now
        running.cancel()
        try await running.value
        XCTAssertLessThan(ContinuousClock.now - asked, .seconds(2))
        XCTAssertEqual(messages(logs, "live histogram service stopped").first?["reason"], "cancelled")
    }
}
