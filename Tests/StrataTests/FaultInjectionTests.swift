import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// mongod's `failCommand` fail point on a private embedded server: for each command
/// strata sends, a dropped connection, a retryable error and a non-retryable one.
/// Queries answer exactly after a retry or fail with a clear error (never a wrong or
/// partial answer presented as whole); the migrator loses nothing and finishes when run
/// again; the live histogram reconnects.
final class FaultInjectionTests: XCTestCase {
    enum Fault: String, CaseIterable {
        case network, retryable, nonRetryable

        var data: Document {
            switch self {
            case .network: return ["closeConnection": true]
            // ShutdownInProgress: in the retryable-reads list (libmongoc retries once).
            case .retryable: return ["errorCode": 91]
            // BadValue: nothing to retry.
            case .nonRetryable: return ["errorCode": 2]
            }
        }
    }

    struct Loaded {
        let server: PrivateServer
        let pool: MongoPool
        let db: MongoDatabase
        let mixed: [Document]
        let truth: [Document]
    }

    func load(count: Int) throws -> Loaded {
        let server = try PrivateServer(arguments: ["--enable-test-commands"])
        let pool = try MongoPool(uri: server.uri)
        let db = MongoDatabase(pool: pool, name: "faults")
        let dir = try Datasets.generate("events", count: count)
        let mixed = try Datasets.readJSONL(dir.appendingPathComponent("events.mixed.jsonl"))
        let truth = try Datasets.readJSONL(dir.appendingPathComponent("events.truth.jsonl"))
        _ = try db.collection("events").insertMany(mixed)
        _ = try db.collection("events_truth").insertMany(truth)
        return Loaded(server: server, pool: pool, db: db, mixed: mixed, truth: truth)
    }

    func arm(_ l: Loaded, _ commands: [String], _ fault: Fault, times: Int = 1) throws {
        var data = fault.data
        data["failCommands"] = .array(commands.map(BSON.string))
        try l.server.failCommand(data, mode: ["times": .int32(Int32(times))], pool: l.pool)
    }

    func disarm(_ l: Loaded) { try? l.server.failCommand([:], mode: "off", pool: l.pool) }

    func testQueriesAnswerExactlyOrFailClearly() throws {
        let l = try load(count: 600)
        let lens = try RuntimeFixture.lens("events")
        let dir = TestServer.repositoryRoot.appendingPathComponent("queries")
        let specs = try ["events-by-kind.json", "events-biggest.json", "events-one-user.json"]
            .map { try QuerySpec.load(contentsOf: dir.appendingPathComponent($0)) }
        var answered: [Fault: Int] = [:], failed: [Fault: [String]] = [:]
        for fault in Fault.allCases {
            for command in ["find", "aggregate", "getMore"] {
                for profile in [nil, ServerProfile.mongod] {
                    for spec in specs {
                        let want = try l.db.collection("events_truth").aggregateAll(spec.pipeline)
                        try arm(l, [command], fault)
                        defer { disarm(l) }
                        let runner = QueryRunner(database: l.db, lens: lens, options: .init(profile: profile))
                        var got: [Document] = []
                        let what = "\(spec.file ?? "?") with \(fault) on \(command) (\(profile?.name ?? "SecantusDB") plans)"
                        do {
                            try runner.run(spec) { got.append($0); return true }
                            XCTAssertNil(ResultComparison.difference(got, want, pipeline: spec.pipeline), "\(what): a wrong answer")
                            answered[fault, default: 0] += 1
                        } catch let e as StrataError {
                            XCTAssertEqual(e.kind, .interrupted, "\(what): \(e)")
                            XCTAssert(e.message.contains("incomplete") || e.message.contains("no consistent answer"), "\(what): \(e)")
                            failed[fault, default: []].append("\(what): \(e)")
                        } catch let e as MongoError {
                            XCTAssertEqual(fault, .nonRetryable, "\(what): \(e)")
                            XCTAssertEqual(e.code, 2, "\(what): \(e)")
                            XCTAssert(e.description.contains("failCommand") || e.kind == .server, "\(what): \(e)")
                            failed[fault, default: []].append("\(what): \(e)")
                        }
                    }
                }
            }
        }
        // A dropped connection before any output: answered, exactly (libmongoc retries the
        // read, strata starts the query again once).
        XCTAssertEqual(failed[.network] ?? [], [])
        XCTAssertEqual(answered[.network], 18)
        // ShutdownInProgress: libmongoc takes the server for gone until its next check, so
        // some queries end with the clear "stopped answering" error instead (checked
        // above: `.interrupted`, nothing presented as an answer); the rest are exact.
        XCTAssertGreaterThan(answered[.retryable] ?? 0, 6)
        for f in failed[.retryable] ?? [] { XCTAssert(f.contains("stopped answering"), f) }
        // A non-retryable error fails the query whenever the failing command is one it sends.
        XCTAssertGreaterThan(failed[.nonRetryable]?.count ?? 0, 6)
    }

    /// A connection closed under a batch's write (twice in a row): the migrator sends the
    /// batch again on another connection and finishes in one run — the guarded
    /// replacements make the repeat safe.
    func testTheMigratorRetriesAWriteWhoseConnectionBroke() throws {
        let l = try load(count: 300)
        let lens = try RuntimeFixture.lens("events")
        try arm(l, ["update"], .network, times: 2)
        let summary = try Migrator(collection: l.db.collection("events"), lens: lens, options: .init(batchSize: 100)).run()
        disarm(l)
        XCTAssertTrue(summary.isComplete, "\(summary.failures)")
        XCTAssertNil(try RuntimeFixture.difference(l.db.collection("events"), l.truth))
    }

    func testTheMigratorLosesNothingAndFinishesWhenRunAgain() throws {
        let l = try load(count: 400)
        let lens = try RuntimeFixture.lens("events")
        for fault in Fault.allCases {
            try arm(l, ["update"], fault, times: 2)
            _ = try? Migrator(collection: l.db.collection("events"), lens: lens, options: .init(target: fault == .network ? 1 : 2, batchSize: 50)).run()
            disarm(l)
            XCTAssertEqual(try l.db.collection("events").countDocuments(), 400, "nothing lost (\(fault))")
        }
        let summary = try Migrator(collection: l.db.collection("events"), lens: lens).run()
        XCTAssert(summary.failures.isEmpty, "\(summary.failures)")
        XCTAssertNil(try RuntimeFixture.difference(l.db.collection("events"), l.truth))

        // Key moves without transactions are an insert, then a delete: fail either.
        let accounts = try RuntimeFixture.lens("accounts")
        let (mixed, truth) = AccountsDataset.generate(count: 120)
        let coll = l.db.collection("accounts")
        _ = try coll.insertMany(mixed)
        for (command, fault) in [("insert", Fault.network), ("insert", .nonRetryable), ("delete", .retryable), ("delete", .nonRetryable)] {
            try arm(l, [command], fault, times: 2)
            _ = try? Migrator(collection: coll, lens: accounts, options: .init(batchSize: 20, transactions: .never)).run()
            disarm(l)
            XCTAssertGreaterThanOrEqual(try coll.countDocuments(), 120, "nothing lost (\(fault) on \(command))")
        }
        let moved = try Migrator(collection: coll, lens: accounts, options: .init(transactions: .never)).run()
        XCTAssert(moved.failures.isEmpty, "\(moved.failures)")
        XCTAssertNil(try RuntimeFixture.difference(coll, truth))
    }

    func testTheLiveHistogramReconnects() throws {
        let l = try load(count: 200)
        let lens = try RuntimeFixture.lens("events")
        let live = LiveHistogram(collection: l.db.collection("events"), lens: lens, options: .init(coalesce: 0.05))
        var snapshots: [LiveHistogram.Snapshot] = []
        var step = 0
        let deadline = Date().addingTimeInterval(60)
        try live.run(stop: { Date() > deadline }) { s in
            snapshots.append(s)
            step += 1
            if step == 1 {
                // The stream's getMores fail (more than libmongoc's one resume), then a change lands.
                try self.arm(l, ["getMore"], .network, times: 3)
                _ = try l.db.collection("events").insertMany([["_id": 900_001, "v": 1, "amount": ["value": 2.5, "currency": "USD"]]])
            }
            let fresh = try VersionHistogram.read(l.db.collection("events"), lens: lens)
            return !(step > 1 && s.histogram == fresh && fresh.total == 201)
        }
        disarm(l)
        XCTAssertEqual(snapshots.last?.histogram.total, 201, "the change after the failures is counted")
        XCTAssertLessThan(Date(), deadline)
    }
}
