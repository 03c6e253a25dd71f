import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// `strata run` and `strata explain`, run as a user runs them.
final class RunCLITests: XCTestCase {
    static let root = TestServer.repositoryRoot

    /// The events dataset (mixed, all four versions) in a fresh database; returns its name.
    static func loadEvents(_ name: String, extra: [Document] = []) throws -> String {
        let db = try TestServer.freshDatabase(name)
        let dir = try Datasets.generate("events", count: 800)
        try db.collection("events").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.mixed.jsonl")) + extra)
        try db.collection("events_truth").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("events.truth.jsonl")))
        return db.name
    }

    func strata(_ args: [String], db: String, environment: [String: String] = [:]) throws -> StrataRunner.Result {
        try StrataRunner.run(args + ["--uri", TestServer.uri(), "--db", db, "--schemas", Self.root.appendingPathComponent("schemas").path],
                             in: Self.root, environment: environment)
    }

    func testRunPrintsOneDocumentPerLineEqualToTheTruth() throws {
        let db = try Self.loadEvents("cli_run")
        let query = Self.root.appendingPathComponent("queries/events-by-kind.json")
        let r = try strata(["run", query.path], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try r.stdout.split(separator: "\n").map { try ExtendedJSON.parseDocument(String($0)) }
        let spec = try ExtendedJSON.parseQueryDocument(String(contentsOf: query, encoding: .utf8))
        let pipeline = spec["pipeline"]!.arrayValue!
        let want = try MongoDatabase(pool: TestServer.pool(), name: db).collection("events_truth").aggregateAll(pipeline)
        XCTAssertGreaterThan(want.count, 5)
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: pipeline))
    }

    /// A join between two collections that are both mid-migration, end to end: the
    /// answer equals the pipeline over both migrated truths (in a database of their own,
    /// under the same names), and explain says the join runs in Swift.
    func testAJoinIntoAVersionedCollectionAnswersAsOnTheMigratedTruths() throws {
        let mixed = try TestServer.freshDatabase("cli_join_mixed")
        let truth = try TestServer.freshDatabase("cli_join_truth")
        for dataset in ["events", "users"] {
            let dir = try Datasets.generate(dataset, count: dataset == "events" ? 3000 : 1500)
            try mixed.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
            try truth.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
        }
        let query = Self.root.appendingPathComponent("queries/events-purchases-by-user-country.json")
        let r = try strata(["run", query.path], db: mixed.name)
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try r.stdout.split(separator: "\n").map { try ExtendedJSON.parseDocument(String($0)) }
        let pipeline = try XCTUnwrap(ExtendedJSON.parseQueryDocument(String(contentsOf: query, encoding: .utf8))["pipeline"]?.arrayValue)
        let want = try truth.collection("events").aggregateAll(pipeline)
        XCTAssertGreaterThanOrEqual(want.count, 2)
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: pipeline))

        let explain = try strata(["explain", query.path], db: mixed.name)
        XCTAssertEqual(explain.status, 0, explain.stderr)
        XCTAssertTrue(explain.stdout.contains("joins 'users', which has a lens of its own"), explain.stdout)
    }

    func testInlinePipelineAndOtherFormats() throws {
        let db = try Self.loadEvents("cli_formats")
        let pipeline = #"[{"$match": {"geo.region": "eu-west"}}, {"$group": {"_id": "$kind", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]"#
        let jsonl = try strata(["run", "--collection", "events", "--pipeline", pipeline], db: db)
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let lines = jsonl.stdout.split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 3)

        let json = try strata(["run", "-c", "events", "--pipeline", pipeline, "--format", "json"], db: db)
        XCTAssertEqual(json.status, 0, json.stderr)
        let array = try ExtendedJSON.parseValue(json.stdout)
        XCTAssertEqual(array.arrayValue?.count, lines.count)

        let csv = try strata(["run", "-c", "events", "--pipeline", pipeline, "--format", "csv"], db: db)
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.split(separator: "\n")
        XCTAssertEqual(rows.first, "_id,n")
        XCTAssertEqual(rows.count, lines.count + 1)

        let table = try strata(["run", "-c", "events", "--pipeline", pipeline, "--format", "table"], db: db)
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("(\(lines.count) results)"), table.stdout)
    }

    /// A lens the lint refuses (the "$value" for "$$value" slip): exit 2 naming the lens
    /// file and the place, before any document is read.
    func testLensLintExitsTwoNamingThePlace() throws {
        let folder = try TempFolder()
        let lens = try folder.write("schemas/orders.json", #"""
            {"collection": "orders", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
              {"op": "convert", "field": "price", "expr": {"$toDouble": "$value"}}]}]}
            """#)
        let r = try StrataRunner.run(["histogram", "--collection", "orders", "--uri", TestServer.uri(), "--db", "strata_test_cli_lint",
                                      "--schemas", folder.url.appendingPathComponent("schemas").path], in: Self.root)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains(lens.path + ": steps[0].operations[0].expr"), r.stderr)
        XCTAssertTrue(r.stderr.contains("did you mean '$$value'"), r.stderr)
    }

    func testMalformedQueriesExitTwoNamingThePlace() throws {
        let db = try Self.loadEvents("cli_malformed")
        let folder = try TempFolder()
        let cases: [(String, String)] = [
            (#"{"collection": "events", "pipeline": [ "#, "not valid Extended JSON"),
            (#"{"collection": "events", "pipeline": [{"$bogus": 1}]}"#, "pipeline[0].$bogus"),
            (#"{"collection": "events", "pipeline": [{"$match": {"kind": {"$almost": 1}}}]}"#, "pipeline[0].$match"),
            (#"{"collection": "events", "pipeline": [{"$project": {"x": {"$nosuchop": 1}}}]}"#, "pipeline[0].$project.x.$nosuchop"),
            (#"{"collection": "events", "pipeline": [{"$limit": "ten"}]}"#, "pipeline[0].$limit"),
            (#"{"collection": "events", "pipeline": [{"$match": {"tags": {"$in": 5}}}]}"#, "pipeline[0].$match"),
            (#"{"collection": "events", "pipeline": {"$match": {}}}"#, "pipeline"),
            (#"{"pipeline": []}"#, "needs 'collection'"),
        ]
        for (i, (text, place)) in cases.enumerated() {
            let file = try folder.write("q\(i).json", text)
            let r = try strata(["run", file.path], db: db)
            XCTAssertEqual(r.status, 2, "case \(i): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(file.path), "case \(i) names the file: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(place), "case \(i) names \(place): \(r.stderr)")
            XCTAssertTrue(r.stdout.isEmpty, "case \(i) prints no results")
        }
    }

    func testUnsupportedStagesAreRefused() throws {
        let db = try Self.loadEvents("cli_unsupported")
        let r = try strata(["run", "-c", "events", "--pipeline", #"[{"$match": {}}, {"$search": {"text": {"query": "x", "path": "kind"}}}]"#], db: db)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("pipeline[1].$search"), r.stderr)
    }

    /// A pipeline ending in $merge writes and prints one summary line; run again, the same
    /// kinds match. The target then holds what the server's own pipeline leaves on the truth.
    func testRunWritesAndPrintsASummary() throws {
        let db = try Self.loadEvents("cli_write")
        let query = Self.root.appendingPathComponent("queries/events-nightly-kind-totals.json").path
        let database = MongoDatabase(pool: try TestServer.pool(), name: db)
        let pipeline = try QuerySpec.load(contentsOf: URL(fileURLWithPath: query)).pipeline
        let kinds = try database.collection("events_truth").aggregateAll([["$group": ["_id": "$kind"]]]).count
        XCTAssertGreaterThan(kinds, 4)
        var truthPipeline = pipeline
        truthPipeline[truthPipeline.count - 1] = ["$merge": ["into": "from_truth", "on": "_id", "whenMatched": "merge", "whenNotMatched": "insert"]]
        for run in 0..<2 {
            let r = try strata(["run", query, "--format", "table"], db: db)
            XCTAssertEqual(r.status, 0, r.stderr)
            let lines = r.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stdout)
            let summary = try ExtendedJSON.parseDocument(String(lines[0]))
            XCTAssertEqual(summary.keys, ["wrote", "stage", "documents", "inserted", "matched", "replaced", "updated", "kept", "discarded"])
            XCTAssertEqual(summary["wrote"], .string(db + ".events_kind_totals"))
            XCTAssertEqual(summary["stage"], "$merge")
            XCTAssertEqual(summary["documents"]?.exactInt, Int64(kinds))
            XCTAssertEqual(summary["inserted"]?.exactInt, run == 0 ? Int64(kinds) : 0, r.stdout)
            XCTAssertEqual(summary["matched"]?.exactInt, run == 0 ? 0 : Int64(kinds), r.stdout)
            XCTAssertEqual(summary["updated"]?.exactInt, run == 0 ? 0 : Int64(kinds), r.stdout)
            _ = try database.collection("events_truth").aggregateAll(truthPipeline)
        }
        let got = try database.collection("events_kind_totals").find().all()
        let want = try database.collection("from_truth").find().all()
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: [["$out": "unordered"]]))
        XCTAssertFalse(try database.listCollectionNames().contains { $0.hasPrefix("tmp.") })
    }

    func testWritingStagesRefusedWhereMongodRefusesThem() throws {
        let db = try Self.loadEvents("cli_write_refused")
        let notLast = try strata(["run", "-c", "events", "--pipeline", #"[{"$out": "copy"}, {"$match": {}}]"#], db: db)
        XCTAssertEqual(notLast.status, 2, notLast.stderr)
        XCTAssertTrue(notLast.stderr.contains("pipeline[0].$out: $out can only be the final stage in the pipeline"), notLast.stderr)
        let intoSource = try strata(["run", "-c", "events", "--pipeline", #"[{"$match": {"kind": "view"}}, {"$merge": {"into": "events"}}]"#], db: db)
        XCTAssertEqual(intoSource.status, 2, intoSource.stderr)
        XCTAssertTrue(intoSource.stderr.contains("pipeline[1].$merge"), intoSource.stderr)
        XCTAssertTrue(intoSource.stdout.isEmpty)
        let out = try strata(["run", "-c", "events", "--pipeline", #"[{"$match": {"kind": "view"}}, {"$out": "views"}]"#], db: db)
        XCTAssertEqual(out.status, 0, out.stderr)
        let summary = try ExtendedJSON.parseDocument(out.stdout)
        XCTAssertEqual(summary.keys, ["wrote", "stage", "documents", "inserted", "previousDocuments"])
        XCTAssertEqual(summary["previousDocuments"], .null)
        let views = try MongoDatabase(pool: try TestServer.pool(), name: db).collection("events_truth").countDocuments(["kind": "view"])
        XCTAssertEqual(summary["documents"]?.exactInt, Int64(views))
    }

    func testUnknownVersionsRefuseUnlessIgnored() throws {
        let db = try Self.loadEvents("cli_unknown", extra: [["_id": 900_001, "v": 7], ["_id": 900_002, "v": "2"], ["_id": 900_003, "v": 1.5]])
        let pipeline = #"[{"$count": "n"}]"#
        let refused = try strata(["run", "-c", "events", "--pipeline", pipeline], db: db)
        XCTAssertEqual(refused.status, 4, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("3 documents"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("v = 7 (1 document)"), refused.stderr)
        XCTAssertTrue(refused.stdout.isEmpty)

        let ignored = try strata(["run", "-c", "events", "--pipeline", pipeline, "--ignore-unknown-versions"], db: db)
        XCTAssertEqual(ignored.status, 0, ignored.stderr)
        XCTAssertTrue(ignored.stderr.contains("warning: 3 documents"), ignored.stderr)
        XCTAssertEqual(try ExtendedJSON.parseDocument(ignored.stdout)["n"]?.exactInt, 800)
    }

    func testExplainShowsShardsAndMerger() throws {
        let db = try Self.loadEvents("cli_explain")
        let query = Self.root.appendingPathComponent("queries/events-revenue-by-region.json").path
        // On SecantusDB (no index on kind here) the filter runs in Swift over one fetch.
        let local = try strata(["explain", query], db: db)
        XCTAssertEqual(local.status, 0, local.stderr)
        let localDoc = try ExtendedJSON.parseQueryDocument(local.stdout)
        XCTAssertEqual(localDoc["mode"], "recordOrder")
        XCTAssertTrue(localDoc["shards"]?.arrayValue?.first?.documentValue?["note"]?.stringValue?.contains("runs in Swift") ?? false, local.stdout)
        // The plan a mongod gets: partial groups per version on the server.
        let r = try strata(["explain", query], db: db, environment: ["STRATA_SERVER_PROFILE": "mongod"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try ExtendedJSON.parseQueryDocument(r.stdout)
        XCTAssertEqual(doc["mode"], "partialGroups")
        let shards = try XCTUnwrap(doc["shards"]?.arrayValue)
        // Every version once (versions with the same rewrite share a branch).
        let versions = shards.flatMap { $0.documentValue?["versions"]?.arrayValue ?? [] }.compactMap(\.exactInt)
        XCTAssertEqual(versions.sorted(), [0, 1, 2, 3])
        for s in shards {
            XCTAssertNotNil(s.documentValue?["aggregate"], "\(s)")
            XCTAssertNotNil(s.documentValue?["serverPlan"], "\(s)")
        }
        // several branches: their partial groups sorted by key, merged as streams
        XCTAssertNotNil(doc["merger"]?.documentValue?["mergeSortedGroups"], r.stdout)
        let offline = try StrataRunner.run(["explain", "--offline", "queries/events-by-kind.json"], in: Self.root)
        XCTAssertEqual(offline.status, 0, offline.stderr)
        XCTAssertNil(try ExtendedJSON.parseQueryDocument(offline.stdout)["shards"]?.arrayValue?.first?.documentValue?["serverPlan"])
    }
}

/// `strata verify`: strata's answers against a migrated copy, one verdict per query.
final class VerifyCLITests: XCTestCase {
    func testAgreesOnTheCatalogAndCatchesAWrongReference() throws {
        let root = TestServer.repositoryRoot
        let db = try RunCLITests.loadEvents("cli_verify")
        let queries = ["events-by-kind", "events-region-kind", "events-one-user"].map { root.appendingPathComponent("queries/\($0).json").path }
        let base = ["--uri", try TestServer.uri(), "--db", db, "--schemas", root.appendingPathComponent("schemas").path]
        let ok = try StrataRunner.run(["verify"] + queries + ["--against", "{collection}_truth"] + base)
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        XCTAssertEqual(ok.stdout.split(separator: "\n").filter { $0.hasPrefix("agree") }.count, 3, ok.stdout)
        XCTAssertTrue(ok.stdout.contains("3 queries: 3 agree"), ok.stdout)

        // A reference that is not the migrated copy: the mixed collection itself.
        let wrong = try StrataRunner.run(["verify", queries[0], "--against", "events", "--json"] + base)
        XCTAssertEqual(wrong.status, 6, wrong.stdout + wrong.stderr)
        let line = try ExtendedJSON.parseDocument(String(wrong.stdout.split(separator: "\n")[0]))
        XCTAssertEqual(line["verdict"], "DIFFER")
        XCTAssertNotNil(line["detail"]?.stringValue)

        // A writing query: what it would write is verified, and nothing is written.
        let writing = try StrataRunner.run(["verify", root.appendingPathComponent("queries/events-nightly-kind-totals.json").path,
                                            "--against", "{collection}_truth"] + base)
        XCTAssertEqual(writing.status, 0, writing.stdout + writing.stderr)
        XCTAssertTrue(writing.stderr.contains("verifying the documents it would write"), writing.stderr)
        XCTAssertFalse(try MongoDatabase(pool: try TestServer.pool(), name: db).listCollectionNames().contains("events_kind_totals"))

        // Something strata refuses and the server runs (a $collStats) is 'refused', exit 3.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-verify-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let refused = dir.appendingPathComponent("refused.json")
        try #"{"collection": "events", "pipeline": [{"$collStats": {"count": {}}}]}"#
            .write(to: refused, atomically: true, encoding: .utf8)
        let r = try StrataRunner.run(["verify", refused.path, "--against", "{collection}_truth"] + base)
        XCTAssertEqual(r.status, 3, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("refused"), r.stdout)

        // A malformed query file: exit 2 before connecting.
        let bad = dir.appendingPathComponent("bad.json")
        try #"{"collection": "events", "pipeline": [{"$group": {"_id": 1, "n": {"$summ": 1}}}]}"#.write(to: bad, atomically: true, encoding: .utf8)
        let b = try StrataRunner.run(["verify", bad.path, "--against", "x", "--uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100",
                                      "--schemas", root.appendingPathComponent("schemas").path])
        XCTAssertEqual(b.status, 2, b.stderr)
        XCTAssertTrue(b.stderr.contains("bad.json: pipeline[0].$group.n"), b.stderr)
    }
}
