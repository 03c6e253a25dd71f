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

    /// A lens whose every step undoes exactly (so the round trip is checked), over a
    /// collection with planted faults.
    static let parcelsLens = #"""
    {"collection": "parcels", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
      {"op": "rename", "from": "ts", "to": "at"},
      {"op": "convert", "field": "code", "expr": {"$toInt": "$$value"}, "inverse": {"$toString": "$$value"}, "inverseExact": true}]}]}
    """#

    /// Unknown fields (top level and in a sub-document), a value the conversion rejects, a
    /// document that does not come back on undo, documents at versions the lens does not
    /// know: every one found, counted, with example `_id`s, in the text and the JSON report
    /// (which also holds the histogram); fields the newest documents hold are not reported.
    func testPlantedFaultsAreAllFound() throws {
        let db = try TestServer.freshDatabase("cli_lens_check_faults")
        var docs: [Document] = []
        for i in 0..<60 {
            var d: Document = ["_id": .int32(Int32(i)), "ts": .date(Int64(i) * 86_400_000), "code": .string(String(100 + i)),
                               "note": "kept at v1 too", "meta": ["source": "web"], "items": [["sku": "a", "qty": 1]], "rare": "x"]
            if i % 10 == 3 { d["legacyNote"] = "from the old form" }  // 6 documents: 3, 13, ... 53
            if i == 5 { d["meta"] = ["source": "web", "legacy": true] }
            if i == 17 || i == 37 { d["code"] = "N/A" }  // refused: $toInt rejects it
            if i == 21 { d["code"] = "0042" }  // 42, whose inverse is "42"
            docs.append(d)
        }
        for i in 100..<130 {
            var d: Document = ["_id": .int32(Int32(i)), "v": 1, "at": .date(Int64(i) * 86_400_000), "code": .int32(Int32(i)),
                               "note": "n", "meta": ["source": "app"], "items": [["sku": "b", "qty": 2]]]
            if i == 117 { d["rare"] = "y" }  // one newest document holds 'rare': it is known
            docs.append(d)
        }
        docs += [["_id": 200, "v": 7, "code": 1], ["_id": 201, "v": 7, "code": 2], ["_id": 202, "v": "1", "code": 3]]
        try db.collection("parcels").insertMany(docs)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-lens-check-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.parcelsLens.write(to: dir.appendingPathComponent("parcels.json"), atomically: true, encoding: .utf8)
        let base = ["lens", "check", "-c", "parcels", "--uri", try TestServer.uri(), "--db", db.name, "--schemas", dir.path]

        let r = try StrataRunner.run(base)
        XCTAssertEqual(r.status, 6, r.stdout + r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        func line(_ prefix: String, _ containing: String = "") throws -> String {
            try XCTUnwrap(lines.first { $0.hasPrefix(prefix) && (containing.isEmpty || $0.contains(containing)) }, "\(prefix) … \(containing)\n" + r.stdout)
        }
        // The histogram heads the report.
        XCTAssertTrue(r.stdout.contains("stored: 93 documents"), r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  v0: 60") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  v1: 30 (newest)") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  v7: 2 (UNKNOWN") }, r.stdout)
        XCTAssertTrue(r.stdout.contains("sampled: v0: 60; v1 (newest, for its fields): 30"), r.stdout)
        // Unknown fields, per path, counted, with examples.
        let legacy = try line("PROBLEM  unknownField", "'legacyNote'")
        XCTAssertTrue(legacy.contains("6 documents") && legacy.contains("_id 3, 13, 23, 33, 43"), legacy)
        XCTAssertTrue(legacy.contains("stored at v0") && legacy.contains("none of the 30 documents stored at v1"), legacy)
        let nested = try line("PROBLEM  unknownField", "'meta.legacy'")
        XCTAssertTrue(nested.contains("1 document,") && nested.contains("_id 5"), nested)
        // Fields the newest documents hold, and those the lens mentions, are not reported.
        for known in ["'note'", "'meta'", "'meta.source'", "'items", "'at'", "'code'", "'ts'", "'rare'"] {
            XCTAssertFalse(lines.contains { $0.contains("unknownField") && $0.contains(known) }, known + "\n" + r.stdout)
        }
        // The value the conversion rejects.
        let refused = try line("PROBLEM  upgrade")
        XCTAssertTrue(refused.contains("steps[0].operations[1]") && refused.contains("2 documents") && refused.contains("_id 17, 37"), refused)
        // The document that does not come back.
        let undo = try line("PROBLEM  undo")
        XCTAssertTrue(undo.contains("undo to v0 is declared exact") && undo.contains("_id 21") && undo.contains("1 document"), undo)
        _ = try line("PROBLEM  inverseExact", "\"0042\" converts to 42")
        // Documents no query can read.
        _ = try line("PROBLEM  unknownVersion", "stored at version 7")
        _ = try line("PROBLEM  unknownVersion", "\"1\"")
        XCTAssertTrue(r.stdout.contains("7 problems found"), r.stdout)

        // A field few newest documents hold, missing from a small sample of them, is asked
        // of them all: 'rare' (on one v1 document of 30) is known with --sample 5 too.
        let small = try StrataRunner.run(base + ["--sample", "5"])
        XCTAssertEqual(small.status, 6, small.stdout + small.stderr)
        XCTAssertTrue(small.stdout.contains("(newest, for its fields): 5"), small.stdout)
        XCTAssertFalse(small.stdout.contains("'rare'"), small.stdout)

        let j = try StrataRunner.run(base + ["--json"])
        XCTAssertEqual(j.status, 6, j.stderr)
        let report = try XCTUnwrap(ExtendedJSON.parseQueryValue(j.stdout).documentValue, j.stdout)
        XCTAssertEqual(report["problems"]?.exactInt, 7, j.stdout)
        let byCheck = try XCTUnwrap(report["problemsByCheck"]?.documentValue, j.stdout)
        XCTAssertEqual(byCheck["unknownField"]?.exactInt, 2)
        XCTAssertEqual(byCheck["upgrade"]?.exactInt, 1)
        XCTAssertEqual(byCheck["undo"]?.exactInt, 1)
        XCTAssertEqual(byCheck["inverseExact"]?.exactInt, 1)
        XCTAssertEqual(byCheck["unknownVersion"]?.exactInt, 2)
        let findings = try XCTUnwrap(report["findings"]?.arrayValue?.compactMap(\.documentValue))
        let field = try XCTUnwrap(findings.first { $0["field"] == "legacyNote" }, j.stdout)
        XCTAssertEqual(field["check"], "unknownField")
        XCTAssertEqual(field["severity"], "problem")
        XCTAssertEqual(field["count"]?.exactInt, 6)
        XCTAssertEqual(field["examples"]?.arrayValue?.compactMap(\.exactInt), [3, 13, 23, 33, 43])
        XCTAssertEqual(findings.first { $0["check"] == "upgrade" }?["count"]?.exactInt, 2)
        XCTAssertEqual(findings.first { $0["check"] == "undo" }?["count"]?.exactInt, 1)
        XCTAssertEqual(report["sampledNewest"]?.documentValue?["count"]?.exactInt, 30)
        let histogram = try XCTUnwrap(report["histogram"]?.documentValue, j.stdout)
        XCTAssertEqual(histogram["total"]?.exactInt, 93)
        let versions = try XCTUnwrap(histogram["versions"]?.arrayValue?.compactMap(\.documentValue))
        XCTAssertEqual(versions.map { [$0["version"]?.exactInt, $0["count"]?.exactInt] }, [[0, 60], [1, 30]])
        XCTAssertEqual(histogram["unknownVersions"]?.arrayValue?.first?.documentValue?["count"]?.exactInt, 2)
        XCTAssertEqual(histogram["nonInteger"]?.arrayValue?.first?.documentValue?["count"]?.exactInt, 1)
    }

    /// The shared datasets' lenses pass over their datasets: no spurious unknown field
    /// (users needs crc32Hex, bound by default; devices looks tags up in products).
    func testTheSharedDatasetsPass() throws {
        let db = try TestServer.freshDatabase("cli_lens_check_shared")
        for dataset in ["users", "devices", "events"] {
            let dir = try Datasets.generate(dataset, count: 800)
            try db.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
            if dataset == "devices" {
                try db.collection("products").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl")))
            }
        }
        for dataset in ["users", "devices", "events"] {
            let r = try StrataRunner.run(["lens", "check", "-c", dataset, "--sample", "100", "--uri", try TestServer.uri(), "--db", db.name,
                                          "--schemas", Self.root.appendingPathComponent("schemas").path])
            XCTAssertEqual(r.status, 0, dataset + ":\n" + r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains("no problem found"), r.stdout)
            XCTAssertTrue(r.stdout.contains("stored: 800 documents"), r.stdout)
            XCTAssertFalse(r.stdout.contains("unknownField"), r.stdout)
            let j = try StrataRunner.run(["lens", "check", "-c", dataset, "--sample", "20", "--json", "--uri", try TestServer.uri(), "--db", db.name,
                                          "--schemas", Self.root.appendingPathComponent("schemas").path])
            XCTAssertEqual(j.status, 0, dataset + ":\n" + j.stdout + j.stderr)
            let report = try XCTUnwrap(ExtendedJSON.parseQueryValue(j.stdout).documentValue, j.stdout)
            XCTAssertEqual(report["problems"]?.exactInt, 0)
            XCTAssertEqual(report["histogram"]?.documentValue?["total"]?.exactInt, 800)
        }
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
