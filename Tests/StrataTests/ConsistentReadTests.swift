import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// How a query's reads are pinned, tested by what is sent (command monitoring) and by
/// the server's own failures (`failCommand` on a private server).
final class ConsistentReadTests: XCTestCase {
    static let queries = TestServer.repositoryRoot.appendingPathComponent("queries")

    func spec(_ file: String) throws -> QuerySpec { try QuerySpec.load(contentsOf: Self.queries.appendingPathComponent(file)) }

    /// Loads `dataset` (mixed and truth, and products for devices) into `db`.
    func load(_ dataset: String, count: Int, into db: MongoDatabase) throws {
        let dir = try Datasets.generate(dataset, count: count)
        _ = try db.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
        _ = try db.collection(dataset + "_truth").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
        if dataset == "devices" {
            _ = try db.collection("products").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl")))
        }
    }

    func run(_ spec: QuerySpec, _ db: MongoDatabase, _ options: QueryRunner.Options) throws -> (QueryRunner, QueryRunner.Statistics, [Document]) {
        let runner = QueryRunner(database: db, lens: try RuntimeFixture.lens(spec.collection), options: options)
        var out: [Document] = []
        let statistics = try runner.run(spec, versionedCollections: ["events", "devices", "users"]) { out.append($0); return true }
        return (runner, statistics, out)
    }

    func assertTruth(_ got: [Document], _ spec: QuerySpec, _ db: MongoDatabase, file: StaticString = #filePath, line: UInt = #line) throws {
        let want = try db.collection(spec.collection + "_truth").aggregateAll(spec.pipeline)
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: spec.pipeline), file: file, line: line)
    }

    // MARK: detection

    func testTheEmbeddedServerPinsReadsWithATransaction() throws {
        // SecantusDB accepts any atClusterTime and reads the present: only a transaction pins.
        XCTAssertEqual(try ReadMechanism.detect(try TestServer.freshDatabase("detect"), collection: "c"), .transaction)
    }

    func testAStandaloneServerGetsTheSingleCursorPlan() throws {
        let server = try PrivateServer(arguments: ["--standalone"])
        let pool = try MongoPool(uri: server.uri)
        let db = MongoDatabase(pool: pool, name: "standalone")
        XCTAssertEqual(try ReadMechanism.detect(db, collection: "events"), .singleCursor)
        try load("events", count: 400, into: db)
        for file in ["events-by-kind.json", "events-users-per-region.json", "events-biggest.json"] {
            let s = try spec(file)
            let (runner, statistics, got) = try run(s, db, .init(profile: .mongod))
            XCTAssertEqual(statistics.readMechanism, .singleCursor)
            XCTAssertEqual(statistics.branchesRun, 1, file)
            try assertTruth(got, s, db)
            // A plan made for another server reads version by version: refused here.
            let perVersion = try runner.planner(indexes: []).plan(s)
            if !perVersion.readsOnce {
                XCTAssertThrowsError(try runner.collect(perVersion)) { e in
                    XCTAssertEqual((e as? StrataError)?.kind, .unsupported)
                    XCTAssert("\(e)".contains("no consistent read"), "\(e)")
                }
            }
        }
    }

    // MARK: what is sent

    /// With cluster-time reads forced (the mongod capability) and the mongod plans, every
    /// read of a query — the look for unknown versions, each branch, the lens's lookups,
    /// `$lookup`s, facets — carries `readConcern: {level: "snapshot"}`, and all but the
    /// first (which fixes the time) one and the same `atClusterTime`.
    func testEveryReadOfAQueryCarriesOneClusterTime() throws {
        let monitor = CommandMonitor()
        let pool = try MongoPool(uri: try TestServer.uri(), monitor: monitor)
        let db = MongoDatabase(pool: pool, name: "strata_test_cluster_time")
        try db.drop()
        try load("events", count: 600, into: db)
        try load("devices", count: 300, into: db)
        let files = ["events-by-kind.json", "events-biggest.json", "events-one-user.json", "devices-facet.json",
                     "devices-product-names.json", "devices-temp-by-product.json", "devices-known-products.json"]
        var singleScans = 0
        for file in files {
            let s = try spec(file)
            monitor.reset()
            let (runner, statistics, got) = try run(s, db, .init(profile: .mongod, readMechanism: .clusterTime))
            let sent = monitor.startedCommands
            try assertTruth(got, s, db)
            let reads = sent.filter { ["find", "aggregate", "distinct"].contains($0.commandName) && $0.databaseName == db.name }
            XCTAssertGreaterThanOrEqual(reads.count, 2, file)
            if statistics.readMechanism == .singleCursor {
                // A plan that reads the collection with one scan needs no pin, so none is
                // opened (the plan is made before pinning): the look for unknown versions and
                // exactly one unfiltered read, neither with a read concern.
                singleScans += 1
                XCTAssertEqual(reads.count, 2, "\(file): \(reads.map(\.commandName))")
                XCTAssertTrue(reads.allSatisfy { $0.command["readConcern"] == nil }, file)
                XCTAssertEqual(reads.filter { $0.command["filter"] == .document([:]) }.count, 1, file)
                XCTAssertFalse(sent.contains { $0.commandName == "abortTransaction" }, file)
                continue
            }
            XCTAssertEqual(statistics.readMechanism, .clusterTime)
            let concerns = reads.map { $0.command["readConcern"]?.documentValue }
            XCTAssert(concerns.allSatisfy { $0?["level"] == "snapshot" }, "\(file): a read without the snapshot read concern: \(reads.filter { $0.command["readConcern"]?.documentValue?["level"] != "snapshot" }.map { ExtendedJSON.string(.document($0.command)) })")
            XCTAssertNil(concerns[0]?["atClusterTime"], "\(file): the first read fixes the time")
            let times = Set(concerns.dropFirst().compactMap { $0?["atClusterTime"] }.map { ExtendedJSON.string($0) })
            XCTAssertEqual(times.count, 1, "\(file): \(times)")
            XCTAssertEqual(concerns.dropFirst().filter { $0?["atClusterTime"] == nil }.count, 0, file)
        }
        XCTAssertLessThanOrEqual(singleScans, 2, "most of these plans read version by version, pinned")
    }

    /// A pinned query's read transaction ends after its answer, off the caller's path by
    /// default: once `waitForDeferredReadEnds` returns, every read of the query went in
    /// one transaction (one session, one transaction number) and exactly one
    /// `abortTransaction` of that transaction followed the last of them. Asked to end it
    /// before returning, the abort has been sent when `run` returns.
    func testTheReadTransactionEndsAfterTheAnswer() throws {
        let monitor = CommandMonitor()
        let pool = try MongoPool(uri: try TestServer.uri(), monitor: monitor)
        let db = MongoDatabase(pool: pool, name: "strata_test_txn_end")
        try db.drop()
        try load("events", count: 400, into: db)
        let s = try spec("events-by-kind.json")
        for inBackground in [true, false] {
            var options = QueryRunner.Options(profile: .mongod, readMechanism: .transaction)
            options.endReadsInBackground = inBackground
            for _ in 0..<3 {
                monitor.reset()
                let (_, statistics, got) = try ReadPin.holdingDeferredEnds {
                    let answer = try run(s, db, options)
                    let names = monitor.startedCommands.map(\.commandName)
                    if inBackground {
                        XCTAssertFalse(names.contains("abortTransaction"), "returned before the end was sent: \(names)")
                    } else {
                        XCTAssertEqual(names.last, "abortTransaction", "ended before run returned")
                    }
                    return answer
                }
                XCTAssertEqual(statistics.readMechanism, .transaction)
                QueryRunner.waitForDeferredReadEnds()
                let sent = monitor.startedCommands.filter { $0.command["lsid"] != nil }
                try assertTruth(got, s, db)
                let reads = sent.filter { ["find", "aggregate"].contains($0.commandName) }
                XCTAssertGreaterThanOrEqual(reads.count, 2, "the look and the branches")
                XCTAssertEqual(Set(sent.map { ExtendedJSON.string($0.command["lsid"]!) }).count, 1, "one session")
                XCTAssertEqual(Set(sent.compactMap { $0.command["txnNumber"].map { ExtendedJSON.string($0) } }).count, 1, "one transaction")
                XCTAssertEqual(sent.filter { $0.commandName == "abortTransaction" }.count, 1)
                XCTAssertEqual(sent.last?.commandName, "abortTransaction", "\(sent.map(\.commandName))")
            }
        }
    }

    // MARK: the server's failures

    func testSnapshotTooOldStartsTheQueryAgain() throws {
        let server = try PrivateServer(arguments: ["--enable-test-commands"])
        let pool = try MongoPool(uri: server.uri)
        let db = MongoDatabase(pool: pool, name: "too_old")
        try load("events", count: 400, into: db)
        let s = try spec("events-by-kind.json")
        try server.failCommand(["failCommands": ["aggregate"], "errorCode": 239], pool: pool)
        let (runner, statistics, got) = try run(s, db, .init(profile: .mongod, readMechanism: .clusterTime))
        XCTAssertEqual(statistics.snapshotRestarts, 1)
        try assertTruth(got, s, db)

        // A transaction the server aborted (TransientTransactionError): again, in a new one.
        try server.failCommand(["failCommands": ["aggregate"], "errorCode": 251, "errorLabels": ["TransientTransactionError"]], pool: pool)
        let (_, again, got2) = try run(s, db, .init(profile: .mongod, readMechanism: .transaction))
        XCTAssertEqual(again.snapshotRestarts, 1)
        try assertTruth(got2, s, db)

        // Lost every time: a clear error, no answer.
        try server.failCommand(["failCommands": ["aggregate"], "errorCode": 239], mode: "alwaysOn", pool: pool)
        defer { try? server.failCommand([:], mode: "off", pool: pool) }
        XCTAssertThrowsError(try run(s, db, .init(profile: .mongod, readMechanism: .clusterTime))) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .interrupted)
            XCTAssert("\(e)".contains("lost the query's snapshot 4 times"), "\(e)")
        }
    }

    func testASnapshotLostAfterOutputBeganIsAnIncompleteAnswer() throws {
        let db = try TestServer.freshDatabase("lost_after_output")
        var calls = 0
        let reads = ConsistentReads(database: db, collection: "c", mechanism: .transaction)
        XCTAssertThrowsError(try reads.run { _, emitted in
            calls += 1
            emitted.count += 3
            throw MongoError(kind: .server, code: 239, codeName: "SnapshotTooOld", message: "Read timestamp is older than the oldest available")
        }) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .interrupted)
            XCTAssert("\(e)".contains("the answer is incomplete"), "\(e)")
            XCTAssert("\(e)".contains("3 results were written"), "\(e)")
        }
        XCTAssertEqual(calls, 1, "not started again once output began: two states would mix")

        // Before any output, the same error starts the body again.
        calls = 0
        let value = try reads.run { _, _ -> Int in
            calls += 1
            if calls == 1 { throw MongoError(kind: .server, code: 239, message: "too old") }
            return 42
        }
        XCTAssertEqual(value, 42)
        XCTAssertEqual(calls, 2)
    }

    /// A lens guard's refusal reported by the server reaches library callers as the
    /// `.upgradeFailed` error the Swift upgrade gives, not as a raw server error.
    func testAServerSideGuardRefusalIsAnUpgradeFailure() throws {
        let reads = ConsistentReads(database: try TestServer.freshDatabase("guard_refusal"), collection: "c", mechanism: .unpinned)
        let message = "Failed to parse number '\(LensGuard.marker)document _id 7 from version 0: c.json: steps[0].operations[0]: 'a.b' crosses an array' in $convert with no onError value"
        XCTAssertThrowsError(try reads.run { _, _ in throw MongoError(kind: .server, code: 241, message: message) }) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .upgradeFailed, "\(e)")
            XCTAssert("\(e)".contains("_id 7"), "\(e)")
        }
    }

    // MARK: the repository

    /// `VersionedRepository.find` pins its per-version fetches the same way, and reads the
    /// collection once on a server without consistent reads: the same documents each way.
    func testRepositoryFindReadsTheSameDocumentsUnderEveryMechanism() throws {
        let db = try TestServer.freshDatabase("repository_consistency")
        try load("events", count: 500, into: db)
        let lens = try RuntimeFixture.lens("events")
        let truth = try db.collection("events_truth").find(["kind": "purchase", "amount.value": ["$gt": 20]]).all()
        XCTAssertGreaterThan(truth.count, 5)
        for mechanism in [ReadMechanism.transaction, .clusterTime, .singleCursor, nil] {
            let options = VersionedRepository.Options(writeBack: false, consistency: mechanism == nil ? .bestEffort : .snapshot,
                                                      readMechanism: mechanism)
            let repo = try VersionedRepository(database: db, lens: lens, options: options)
            let got = try repo.find(["kind": "purchase", "amount.value": ["$gt": 20]], sort: ["_id": 1]).map(\.document)
            XCTAssertNil(ResultComparison.difference(got, truth.sorted { BSONOrder.compare($0["_id"]!, $1["_id"]!) < 0 },
                                                     pipeline: [["$sort": ["_id": 1]]]), "\(String(describing: mechanism))")
        }
    }
}
