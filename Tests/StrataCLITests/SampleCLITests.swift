import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// `strata run` with `$sample`: `--sample-seed` reproduces an answer, another seed draws
/// another; a malformed `$sample` exits 2 with mongod's message and its place.
final class SampleCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot

    func strata(_ args: [String], db: String) throws -> StrataRunner.Result {
        try StrataRunner.run(args + ["--uri", TestServer.uri(), "--db", db, "--schemas", Self.root.appendingPathComponent("schemas").path],
                             in: Self.root)
    }

    func lines(_ r: StrataRunner.Result) throws -> [Document] {
        try r.stdout.split(separator: "\n").map { try ExtendedJSON.parseDocument(String($0)) }
    }

    func testSampleSeedReproducesTheAnswer() throws {
        let db = try RunCLITests.loadEvents("cli_sample")
        let pipeline = #"[{"$match": {"amount.value": {"$gte": 1}}}, {"$sample": {"size": 12}}, {"$project": {"kind": 1, "amount": 1}}]"#
        let first = try strata(["run", "-c", "events", "--pipeline", pipeline, "--sample-seed", "7"], db: db)
        XCTAssertEqual(first.status, 0, first.stderr)
        let got = try lines(first)
        XCTAssertEqual(got.count, 12)
        let again = try strata(["run", "-c", "events", "--pipeline", pipeline, "--sample-seed", "7"], db: db)
        XCTAssertEqual(again.stdout, first.stdout, "the same seed prints the same documents in the same order")
        let other = try strata(["run", "-c", "events", "--pipeline", pipeline, "--sample-seed", "8"], db: db)
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertNotEqual(other.stdout, first.stdout)
        let unseeded = try strata(["run", "-c", "events", "--pipeline", pipeline], db: db)
        XCTAssertEqual(try lines(unseeded).count, 12, unseeded.stderr)

        // Each printed document is its migrated form, and matches the filter.
        let ids = BSON.array(got.map { $0["_id"] ?? .null })
        let truth = try MongoDatabase(pool: TestServer.pool(), name: db).collection("events_truth")
            .aggregateAll([["$match": ["_id": ["$in": ids], "amount.value": ["$gte": 1]]], ["$project": ["kind": 1, "amount": 1]]])
        // (compared as a multiset: a sample comes in random order)
        XCTAssertNil(ResultComparison.difference(got, truth, pipeline: [["$sample": ["size": 12]]]))
    }

    func testMalformedSampleExitsTwoWithMongodsMessage() throws {
        let db = try RunCLITests.loadEvents("cli_sample_bad")
        let cases = [
            (#"[{"$sample": {"size": -3}}]"#, "pipeline[0].$sample.size", "size argument to $sample must be a positive integer"),
            (#"[{"$match": {}}, {"$sample": {"size": "ten"}}]"#, "pipeline[1].$sample.size", "size argument to $sample must be a number"),
            (#"[{"$sample": {}}]"#, "pipeline[0].$sample", "$sample stage must specify a size"),
        ]
        for (pipeline, place, message) in cases {
            let r = try strata(["run", "-c", "events", "--pipeline", pipeline], db: db)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(place), r.stderr)
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
            XCTAssertTrue(r.stdout.isEmpty)
        }
    }
}
