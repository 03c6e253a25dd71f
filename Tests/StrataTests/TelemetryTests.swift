import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
@testable import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// The documented log lines and metrics (README "Logging and metrics"), captured with
/// swift-log's in-memory handler and swift-metrics' test backend.
final class TelemetryTests: XCTestCase {
    struct Captured {
        let logs = InMemoryLogHandler()
        let metrics = TestMetrics()
        var telemetry: Telemetry {
            var logger = Logger(label: "strata-test", factory: { [logs] _ in logs })
            logger.logLevel = .debug
            return Telemetry(logger: logger, metrics: metrics)
        }

        func entries(_ message: String) -> [InMemoryLogHandler.Entry] {
            logs.entries.filter { $0.message.description == message }
        }

        func counter(_ label: String, _ dims: [(String, String)]) -> Int64 {
            metrics.counters(label: label).filter { c in
                dims.allSatisfy { d in c.dimensions.contains { $0 == d } } && c.dimensions.count == dims.count
            }.reduce(0) { $0 + $1.totalValue }
        }
    }

    func versionCounts(_ docs: [Document], _ lens: Lens) -> [Int: Int] {
        docs.reduce(into: [:]) { acc, d in if case .known(let v) = lens.storedVersion(of: d) { acc[v, default: 0] += 1 } }
    }

    /// A query: its plan at debug level (strategy and branches), its duration, branches and
    /// the documents upgraded in Swift per stored version; a refusal: a notice and a count.
    func testQueryLogsItsPlanAndRecordsItsMetrics() throws {
        let d = try RuntimeFixture.load("users", count: 400, database: "telemetry_query")
        let captured = Captured()
        let collection = VersionedCollection(database: d.database, lens: d.lens,
                                             options: QueryRunner.Options(telemetry: captured.telemetry))
        // The password of a v0/v1 user is computed by a Swift function: those documents upgrade in Swift.
        let statistics = try collection.aggregate(try ParsedQuery(QuerySpec(collection: "users", pipeline: [
            ["$match": ["password": ["$exists": true]]], ["$project": ["password": 1]],
        ]))) { _ in true }

        let planned = captured.entries("query planned")
        XCTAssertEqual(planned.count, 1)
        let mode = try XCTUnwrap(statistics.mode)
        XCTAssertEqual(planned.first?.level, .debug)
        XCTAssertEqual(planned.first?.metadata["collection"], "users")
        XCTAssertEqual(planned.first?.metadata["strategy"], .string(mode.rawValue))
        XCTAssertTrue(planned.first?.metadata["branches"]?.description.contains("v0") ?? false, "\(planned)")

        let timers = captured.metrics.timers(label: StrataMetrics.queryDuration)
        XCTAssertEqual(timers.count, 1)
        XCTAssertEqual(timers.first.map { Dictionary(uniqueKeysWithValues: $0.dimensions) }, ["collection": "users", "strategy": mode.rawValue])
        XCTAssertGreaterThan(timers.first?.lastValue ?? 0, 0)
        XCTAssertEqual(try captured.metrics.expectRecorder(StrataMetrics.queryBranches, [("collection", "users")]).lastValue,
                       Double(statistics.branchesRun))

        let stored = versionCounts(d.mixed, d.lens)
        XCTAssertGreaterThan(stored[0] ?? 0, 0)
        for v in [0, 1] {
            XCTAssertEqual(captured.counter(StrataMetrics.upgradesOnRead, [("collection", "users"), ("from_version", "\(v)")]),
                           Int64(statistics.upgradesByVersion[v] ?? 0), "v\(v)")
            XCTAssertEqual(statistics.upgradesByVersion[v], stored[v], "every v\(v) user upgraded in Swift once")
        }

        XCTAssertThrowsError(try collection.aggregate([["$collStats": [:]]]))
        XCTAssertEqual(captured.counter(StrataMetrics.queryRefusals, [("collection", "users")]), 1)
        let refused = captured.entries("query refused")
        XCTAssertEqual(refused.first?.level, .notice)
        XCTAssertTrue(refused.first?.metadata["reason"]?.description.contains("$collStats") ?? false, "\(refused)")
    }

    /// A migration: started and finished at info, each batch at debug, each failure a
    /// warning with its _id; documents counted by outcome and direction.
    func testMigrationLogsItsBatchesAndCountsItsDocuments() throws {
        let d = try RuntimeFixture.load("events", count: 600, database: "telemetry_migrate")
        try d.collection.insertOne(["_id": 99_999, "ts": .date(0), "type": "View", "user": 1, "amountCents": "bad", "tags": [], "region": "eu"])
        let captured = Captured()
        let summary = try Migrator(collection: d.collection, lens: d.lens,
                                   options: .init(target: 2, batchSize: 100, telemetry: captured.telemetry)).run()
        XCTAssertEqual(summary.failures.count, 1)
        XCTAssertGreaterThan(summary.movedDown, 0)

        XCTAssertEqual(captured.entries("migrator started").first?.level, .info)
        let finished = try XCTUnwrap(captured.entries("migrator finished").first)
        XCTAssertEqual(finished.metadata["migrated"], .string("\(summary.migrated)"))
        XCTAssertEqual(captured.entries("migrator batch").count, summary.batches)
        let failure = try XCTUnwrap(captured.entries("migrator left a document untouched").first)
        XCTAssertEqual(failure.level, .warning)
        XCTAssertEqual(failure.metadata["_id"], "99999")
        XCTAssertTrue(failure.metadata["reason"]?.description.contains("amountCents") ?? false)

        let events = [("collection", "events")]
        XCTAssertEqual(captured.counter(StrataMetrics.migratorDocuments, events + [("outcome", "migrated"), ("direction", "up")]),
                       Int64(summary.migrated - summary.movedDown))
        XCTAssertEqual(captured.counter(StrataMetrics.migratorDocuments, events + [("outcome", "migrated"), ("direction", "down")]),
                       Int64(summary.movedDown))
        XCTAssertEqual(captured.counter(StrataMetrics.migratorDocuments, events + [("outcome", "failed")]), 1)
    }

    /// Upgrade on read with write-back: the users' hash step is expensive, so reading a v0
    /// user writes it back; both are counted, the write-back logged at debug with its _id.
    func testWriteBackIsLoggedAndCounted() throws {
        let d = try RuntimeFixture.load("users", count: 200, database: "telemetry_writeback")
        let captured = Captured()
        let repo = try VersionedRepository(database: d.database, lens: d.lens, options: .init(telemetry: captured.telemetry))
        let old = try XCTUnwrap(d.mixed.first { d.lens.storedVersion(of: $0) == .known(0) })
        let read = try XCTUnwrap(try repo.findOne(byId: old["_id"]!))
        XCTAssertEqual(read.writtenBack, 2)
        XCTAssertEqual(captured.counter(StrataMetrics.upgradesOnRead, [("collection", "users"), ("from_version", "0")]), 1)
        XCTAssertEqual(captured.counter(StrataMetrics.writeBacks, [("collection", "users"), ("outcome", "written")]), 1)
        let entry = try XCTUnwrap(captured.entries("wrote back an upgraded document").first)
        XCTAssertEqual(entry.level, .debug)
        XCTAssertEqual(entry.metadata["_id"], .string(ExtendedJSON.string(old["_id"]!)))
        XCTAssertEqual(entry.metadata["from"], "0")
        XCTAssertEqual(entry.metadata["to"], "2")
    }

    /// The live histogram sets one gauge per known version and one for unknown versions.
    func testLiveHistogramSetsTheDocumentGauges() async throws {
        let d = try RuntimeFixture.load("events", count: 300, database: "telemetry_live")
        try d.collection.insertOne(["_id": 77_777, "v": 9])
        let captured = Captured()
        let live = LiveHistogram(collection: d.collection, lens: d.lens,
                                 options: .init(source: .polling, pollInterval: 0.2, telemetry: captured.telemetry))
        var first: VersionHistogram?
        for try await h in live { first = h; break }
        let h = try XCTUnwrap(first)
        for v in d.lens.knownVersions {
            XCTAssertEqual(try captured.metrics.expectGauge(StrataMetrics.documents, [("collection", "events"), ("version", "\(v)")]).lastValue,
                           Double(h.counts[v] ?? 0), "v\(v)")
        }
        XCTAssertEqual(try captured.metrics.expectGauge(StrataMetrics.documents, [("collection", "events"), ("version", "unknown")]).lastValue, 1)
    }
}
