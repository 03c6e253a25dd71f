import Foundation
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `--consistency`, `--read-mechanism`, what `strata explain` says of them, and a server
/// that dies mid-query.
final class ConsistencyCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot
    static let schemas = root.appendingPathComponent("schemas").path

    func strata(_ args: [String], uri: String, db: String, environment: [String: String] = [:]) throws -> StrataRunner.Result {
        try StrataRunner.run(args + ["--uri", uri, "--db", db, "--schemas", Self.schemas], in: Self.root, environment: environment)
    }

    func testExplainNamesTheMechanismAndTheGuarantee() throws {
        let db = try RunCLITests.loadEvents("cli_consistency")
        let query = Self.root.appendingPathComponent("queries/events-by-kind.json").path
        let uri = try TestServer.uri()

        // The mongod plans read version by version: one read-only transaction pins them.
        let snapshot = try strata(["explain", query], uri: uri, db: db, environment: ["STRATA_SERVER_PROFILE": "mongod"])
        XCTAssertEqual(snapshot.status, 0, snapshot.stderr)
        let doc = try ExtendedJSON.parseQueryDocument(snapshot.stdout)
        XCTAssertEqual(doc["consistency"]?.documentValue?["level"], "snapshot")
        XCTAssertEqual(doc["consistency"]?.documentValue?["mechanism"], "transaction")
        XCTAssert(doc["consistency"]?.documentValue?["guarantee"]?.stringValue?.contains("counted once") == true, snapshot.stdout)

        // SecantusDB's own plan for it is one collection scan: no pin needed.
        let own = try strata(["explain", query], uri: uri, db: db)
        XCTAssertEqual(own.status, 0, own.stderr)
        let ownDoc = try ExtendedJSON.parseQueryDocument(own.stdout)
        XCTAssertEqual(ownDoc["consistency"]?.documentValue?["mechanism"], "single-cursor")
        XCTAssert(ownDoc["consistency"]?.documentValue?["note"]?.stringValue?.contains("no transaction pin is needed") == true, own.stdout)

        let single = try strata(["explain", query, "--read-mechanism", "single-cursor"], uri: uri, db: db)
        XCTAssertEqual(single.status, 0, single.stderr)
        let plan = try ExtendedJSON.parseQueryDocument(single.stdout)
        XCTAssertEqual(plan["consistency"]?.documentValue?["mechanism"], "single-cursor")
        XCTAssert(single.stdout.contains("one collection scan in natural order"), single.stdout)

        let best = try strata(["run", query, "--consistency", "best-effort"], uri: uri, db: db,
                              environment: ["STRATA_SERVER_PROFILE": "mongod"])
        XCTAssertEqual(best.status, 0, best.stderr)
        XCTAssert(best.stderr.contains("warning: --consistency best-effort"), best.stderr)
        XCTAssert(best.stderr.contains("counted twice or not at all"), best.stderr)

        let both = try strata(["run", query, "--consistency", "best-effort", "--read-mechanism", "transaction"], uri: uri, db: db)
        XCTAssertEqual(both.status, 2)
        XCTAssert(both.stderr.contains("--read-mechanism goes with --consistency snapshot"), both.stderr)

        let bad = try strata(["run", query, "--consistency", "eventual"], uri: uri, db: db)
        XCTAssertEqual(bad.status, 2, bad.stderr)
    }

    /// The server is killed while `strata run` waits on a branch: exit 7, and a message
    /// saying the answer is incomplete.
    func testAServerStoppedMidQueryIsAnIncompleteAnswer() throws {
        let server = try PrivateServer(arguments: ["--enable-test-commands"])
        let pool = try MongoPool(uri: server.uri)
        let db = MongoDatabase(pool: pool, name: "killed")
        let dir = try Datasets.generate("events", count: 400)
        _ = try db.collection("events").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.mixed.jsonl")))
        // Every aggregate waits 20 s: the query's partial-group branches (mongod plans) hang.
        try server.failCommand(["failCommands": ["aggregate"], "blockConnection": true, "blockTimeMS": 20000],
                               mode: "alwaysOn", pool: pool)
        let query = Self.root.appendingPathComponent("queries/events-by-kind.json").path
        let box = ResultBox()
        let args = ["run", query, "--uri", server.uri, "--db", "killed", "--schemas", Self.schemas]
        let thread = Thread {
            box.set(Result { try StrataRunner.run(args, in: Self.root, environment: ["STRATA_SERVER_PROFILE": "mongod"]) })
        }
        thread.start()
        Thread.sleep(forTimeInterval: 3)
        server.kill()
        let r = try box.wait(timeout: 60).get()
        XCTAssertEqual(r.status, 7, r.stderr)
        XCTAssert(r.stderr.contains("the answer is incomplete"), r.stderr)
        XCTAssert(r.stderr.contains("no result was written"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }
}

final class ResultBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<StrataRunner.Result, Error>?

    func set(_ r: Result<StrataRunner.Result, Error>) {
        condition.lock(); result = r; condition.broadcast(); condition.unlock()
    }

    func wait(timeout: TimeInterval) throws -> Result<StrataRunner.Result, Error> {
        condition.lock(); defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while result == nil {
            if !condition.wait(until: deadline) { throw TestSupportError("strata did not finish within \(timeout) s") }
        }
        return result!
    }
}
