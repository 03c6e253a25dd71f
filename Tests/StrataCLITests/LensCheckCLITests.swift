import Foundation
import StrataBSON
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// `strata lens check`: claims that pass loading (made-up values) but not the stored
/// documents are reported with their place and example `_id`s, as are documents the
/// lens refuses and what each operation discards; a sound claim and a sound lens over
/// its dataset pass. (A `monotone` claim that loading accepts — arithmetic with
/// constants, checked on sample numbers — holds on stored values too; the sampled test
/// is a second look, exercised here for the absence of false alarms.)
final class LensCheckCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot

    static let lens = #"""
    {"collection": "readings", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
      {"op": "convert", "field": "ms", "to": "seconds", "expr": {"$divide": ["$$value", 1000]},
       "inverse": {"$multiply": ["$$value", 1000]}, "inverseExact": true},
      {"op": "convert", "field": "level", "expr": {"$multiply": ["$$value", 2]},
       "inverse": {"$divide": ["$$value", 2]}, "monotone": "increasing"},
      {"op": "convert", "field": "price", "expr": {"$toDouble": "$$value"}},
      {"op": "remove", "field": "legacy"}]}]}
    """#

    func testBrokenClaimsAndRefusedDocumentsAreReported() throws {
        let dbName = "cli_lens_check"
        let db = try TestServer.freshDatabase(dbName)
        var docs: [Document] = []
        for i in 0..<120 {
            var d: Document = ["_id": .int32(Int32(i)), "ms": .int32(Int32(1000 + i)), "level": .double(Double(i) * 1000), "legacy": true]
            d["price"] = i % 40 == 7 ? "N/A" : .string(String(i))
            docs.append(d)
        }
        try db.collection("readings").insertMany(docs)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-lens-check-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.lens.write(to: dir.appendingPathComponent("readings.json"), atomically: true, encoding: .utf8)
        let base = ["lens", "check", "-c", "readings", "--uri", try TestServer.uri(), "--db", db.name, "--schemas", dir.path]

        let r = try StrataRunner.run(base)
        XCTAssertEqual(r.status, 6, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("sampled: v0: 120"), r.stdout)
        // 1001 ms is 1.001 s, whose inverse is 1000.9999999999999.
        let inverse = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("PROBLEM  inverseExact") }, r.stdout)
        XCTAssertTrue(inverse.contains("readings.json: steps[0].operations[0]") && inverse.contains("1001 converts to 1.00099"), String(inverse))
        // The sound monotone claim raises nothing.
        XCTAssertFalse(r.stdout.contains("monotone"), r.stdout)
        // "N/A" prices: three documents refused, named.
        let refused = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.contains("PROBLEM  upgrade") }, r.stdout)
        XCTAssertTrue(refused.contains("steps[0].operations[2]") && refused.contains("conversion rejects"), String(refused))
        XCTAssertTrue(refused.contains("3 documents") && refused.contains("_id 7"), String(refused))
        // What is discarded, said.
        XCTAssertTrue(r.stdout.contains("readings.json: steps[0].operations[3]: remove: no undo: the removed value is gone"), r.stdout)

        // The same as JSON, for scripts.
        let j = try StrataRunner.run(base + ["--json"])
        XCTAssertEqual(j.status, 6)
        let report = try XCTUnwrap(ExtendedJSON.parseQueryValue(j.stdout).documentValue, j.stdout)
        XCTAssertEqual(report["problems"]?.exactInt, 2, j.stdout)
    }

    func testASoundLensPasses() throws {
        let db = try RunCLITests.loadEvents("cli_lens_check_events")
        let r = try StrataRunner.run(["lens", "check", "-c", "events", "--sample", "50", "--uri", try TestServer.uri(), "--db", db,
                                      "--schemas", Self.root.appendingPathComponent("schemas").path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("no problem found"), r.stdout)
        XCTAssertTrue(r.stdout.contains("v0: 50"), r.stdout)
    }

    func testBadArgumentsAndAMissingLens() throws {
        let bad = try StrataRunner.run(["lens", "check", "-c", "events", "--sample", "0"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        let missing = try StrataRunner.run(["lens", "check", "-c", "nothing", "--schemas", Self.root.appendingPathComponent("schemas").path,
                                            "--uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100"])
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("nothing.json"), missing.stderr)
    }
}
