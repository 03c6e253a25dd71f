import Foundation
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

final class HistogramCLITests: XCTestCase {
    static let lens = """
        {"collection": "people", "versionField": "sv", "absentMeans": 0,
         "steps": [{"from": 0, "operations": []}, {"from": 1, "operations": []}]}
        """
    static let documents = """
        {"_id": 1, "name": "a"}
        {"_id": 2, "name": "b", "sv": 1}
        {"_id": 3, "name": "c", "sv": 1.0}

        {"_id": 4, "name": "d", "sv": {"$numberLong": "2"}}
        {"_id": 5, "name": "e", "sv": 2}
        {"_id": 6, "name": "f", "sv": 2}
        {"_id": 7, "name": "g", "sv": 7}
        {"_id": 8, "name": "h", "sv": "2"}
        {"_id": 9, "name": "i", "sv": 1.5}
        {"_id": 10, "name": "j", "sv": null}

        """

    /// Imports the documents above with the CLI into a fresh database; returns its name.
    func importPeople(_ folder: TempFolder, db: String) throws -> String {
        _ = try TestServer.freshDatabase(db)
        let dbName = "strata_test_" + db
        let file = try folder.write("people.jsonl", Self.documents)
        try folder.write("schemas/people.json", Self.lens)
        let r = try StrataRunner.run(["import", "--collection", "people", file.path, "--uri", TestServer.uri(), "--db", dbName, "--batch", "3"],
                                     in: folder.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("imported 10 documents"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\(dbName).people"), r.stdout)
        return dbName
    }

    func testTableShowsEveryVersionAndTheOddOnes() throws {
        let folder = try TempFolder()
        let db = try importPeople(folder, db: "cli_histogram")
        let r = try StrataRunner.run(["histogram", "-c", "people", "--uri", TestServer.uri(), "--db", db], in: folder.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        XCTAssertTrue(lines.contains("version count share"), r.stdout)
        XCTAssertTrue(lines.contains("0 1 10.0% 1 without 'sv'"), r.stdout)
        XCTAssertTrue(lines.contains("1 2 20.0%"), r.stdout)
        XCTAssertTrue(lines.contains("2 3 30.0% newest"), r.stdout)
        XCTAssertTrue(lines.contains("7 1 10.0% UNKNOWN: the lens knows 0...2"), r.stdout)
        XCTAssertTrue(lines.contains("\"2\" 1 10.0% NOT AN INTEGER (string)"), r.stdout)
        XCTAssertTrue(lines.contains("1.5 1 10.0% NOT AN INTEGER (double)"), r.stdout)
        XCTAssertTrue(lines.contains("null 1 10.0% NOT AN INTEGER (null)"), r.stdout)
        XCTAssertTrue(lines.contains("total 10 100.0%"), r.stdout)
        XCTAssertTrue(r.stdout.contains("counted with: one $group scan"), r.stdout)
        // Columns line up: every count ends in the same column.
        let rows = r.stdout.split(separator: "\n").filter { $0.contains("%") }
        let ends = Set(rows.map { row in row.range(of: "%")!.lowerBound.utf16Offset(in: row) })
        XCTAssertEqual(ends.count, 1, r.stdout)
    }

    func testJSONOutputParsesAndNamesTheStrategy() throws {
        let folder = try TempFolder()
        let db = try importPeople(folder, db: "cli_histogram_json")
        try MongoDatabase(pool: TestServer.pool(), name: db).collection("people").createIndexes([["key": ["sv": 1], "name": "sv_1"]])
        let r = try StrataRunner.run(["histogram", "--collection", "people", "--json", "--db", db],
                                     in: folder.url, environment: ["STRATA_URI": try TestServer.uri()])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try ExtendedJSON.parseDocument(r.stdout)
        XCTAssertEqual(doc["total"]?.exactInt, 10)
        XCTAssertEqual(doc["collection"], "people")
        XCTAssertEqual(doc["versions"]?.arrayValue?.map { $0.documentValue?["count"]?.exactInt ?? -1 }, [1, 2, 3])
        XCTAssertEqual(doc["unknownVersions"]?.arrayValue?.first?.documentValue?["version"]?.exactInt, 7)
        XCTAssertEqual(doc["nonInteger"]?.arrayValue?.count, 3)
        let strategy = doc["strategy"]?.documentValue ?? [:]
        if strategy["kind"] == "index" {
            XCTAssertEqual(strategy["index"], "sv_1")       // a server that runs the probes on the index
        } else {
            XCTAssertEqual(strategy["kind"], "scan")        // SecantusDB: its $nin plan is a COLLSCAN
            XCTAssertTrue(strategy["reason"]?.stringValue?.contains("not an index scan") ?? false, "\(strategy)")
        }
        let forced = try StrataRunner.run(["histogram", "-c", "people", "--json", "--db", db, "--strategy", "index"],
                                          in: folder.url, environment: ["STRATA_URI": try TestServer.uri()])
        if forced.status == 0 {
            XCTAssertEqual(try ExtendedJSON.parseDocument(forced.stdout)["total"]?.exactInt, 10)
        } else {
            XCTAssertEqual(forced.status, 3, forced.stderr)
            XCTAssertTrue(forced.stderr.hasPrefix("strata: cannot count '\(db).people' on an index: "), forced.stderr)
        }
        let scan = try StrataRunner.run(["histogram", "-c", "people", "--json", "--db", db, "--strategy", "scan"],
                                        in: folder.url, environment: ["STRATA_URI": try TestServer.uri()])
        XCTAssertEqual(scan.status, 0, scan.stderr)
        XCTAssertEqual(try ExtendedJSON.parseDocument(scan.stdout)["strategy"]?.documentValue?["kind"], "scan")
    }

    func testStrataDBSelectsTheDatabase() throws {
        let folder = try TempFolder()
        let db = try importPeople(folder, db: "cli_histogram_env")
        let r = try StrataRunner.run(["histogram", "-c", "people", "--json"], in: folder.url,
                                     environment: ["STRATA_URI": try TestServer.uri(), "STRATA_DB": db])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ExtendedJSON.parseDocument(r.stdout)["database"], .string(db))
    }

    func testAMissingCollectionIsAllZerosWithANote() throws {
        let folder = try TempFolder()
        try folder.write("schemas/nothing.json", #"{"collection": "nothing", "versionField": "v", "steps": []}"#)
        let r = try StrataRunner.run(["histogram", "-c", "nothing", "--uri", TestServer.uri(), "--db", "strata_test_cli_none"], in: folder.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("there is no collection 'nothing'"), r.stderr)
        XCTAssertTrue(r.stdout.contains("total"), r.stdout)
    }

    func testUnreachableServerFailsFastWithAClearMessage() throws {
        let folder = try TempFolder()
        try folder.write("schemas/people.json", Self.lens)
        let r = try StrataRunner.run(["histogram", "-c", "people", "--uri", "mongodb://127.0.0.1:9/?directConnection=true"],
                                     in: folder.url, timeout: 30)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertLessThan(r.seconds, 10)
        XCTAssertTrue(r.stderr.hasPrefix("strata: cannot reach the MongoDB server"), r.stderr)
        XCTAssertTrue(r.stderr.contains("127.0.0.1:9"), r.stderr)
        XCTAssertTrue(r.stderr.contains("from --uri"), r.stderr)
        XCTAssertTrue(r.stderr.contains("make server"), r.stderr)
        XCTAssertTrue(r.stdout.isEmpty, r.stdout)
    }

    func testNoURIAndNoEmbeddedServerTellsHowToGetOne() throws {
        let folder = try TempFolder()
        try folder.write("schemas/people.json", Self.lens)
        let r = try StrataRunner.run(["histogram", "-c", "people"], in: folder.url, timeout: 10)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("make server"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--uri"), r.stderr)
        XCTAssertTrue(r.stderr.contains("STRATA_URI"), r.stderr)

        // A recorded server whose process is gone is not used either.
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        try folder.write(".server/default/uri", "mongodb://127.0.0.1:9/?directConnection=true\n")
        try folder.write(".server/default/pid", "\(dead.processIdentifier)\n")
        let stale = try StrataRunner.run(["histogram", "-c", "people"], in: folder.url, timeout: 10)
        XCTAssertEqual(stale.status, 1, stale.stderr)
        XCTAssertTrue(stale.stderr.contains("is not running"), stale.stderr)
        XCTAssertTrue(stale.stderr.contains("make server"), stale.stderr)
    }

    func testARunningEmbeddedServerIsFoundInTheCurrentDirectory() throws {
        let folder = try TempFolder()
        let db = try importPeople(folder, db: "cli_histogram_embedded")
        try folder.write(".server/default/uri", try TestServer.uri() + "\n")
        try folder.write(".server/default/pid", "\(getpid())\n")   // alive: this test process
        let r = try StrataRunner.run(["histogram", "-c", "people", "--db", db, "--json"], in: folder.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ExtendedJSON.parseDocument(r.stdout)["total"]?.exactInt, 10)
    }

    /// Lens files with mistakes: exit 2, naming the file and the place in it.
    func testLensErrorsNameFileAndPlace() throws {
        let cases: [(name: String, text: String, expected: [String])] = [
            ("bad JSON", #"{"collection": "people", "versionField": "sv", "#, ["people.json", "not valid JSON"]),
            ("gap", #"{"collection": "people", "versionField": "sv", "steps": [{"from": 0, "operations": []}, {"from": 2, "operations": []}]}"#,
             ["people.json: steps[1].from", "gap"]),
            ("duplicate", #"{"collection": "people", "versionField": "sv", "steps": [{"from": 0, "operations": []}, {"from": 0, "operations": []}]}"#,
             ["people.json: steps[1].from", "duplicates"]),
            ("unknown key", #"{"collection": "people", "versionField": "sv", "colour": "blue", "steps": []}"#,
             ["people.json: colour", "unknown key 'colour'"]),
            ("wrong to", #"{"collection": "people", "versionField": "sv", "steps": [{"from": 0, "to": 2, "operations": []}]}"#,
             ["people.json: steps[0].to"]),
            ("other collection", #"{"collection": "others", "versionField": "sv", "steps": []}"#,
             ["people.json: collection", "'others'"]),
        ]
        for c in cases {
            let folder = try TempFolder()
            try folder.write("lenses/people.json", c.text)
            // No server is given: the lens is read (and refused) before connecting.
            let r = try StrataRunner.run(["histogram", "-c", "people", "--schemas", folder.url.appendingPathComponent("lenses").path],
                                         in: folder.url, timeout: 10)
            XCTAssertEqual(r.status, 2, "\(c.name): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("strata: "), "\(c.name): \(r.stderr)")
            for e in c.expected { XCTAssertTrue(r.stderr.contains(e), "\(c.name): expected '\(e)' in: \(r.stderr)") }
        }
        let folder = try TempFolder()
        let missing = try StrataRunner.run(["histogram", "-c", "people", "--schemas", "nowhere"], in: folder.url, timeout: 10)
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("nowhere"), missing.stderr)
        try folder.write("schemas/other.json", Self.lens)
        let noLens = try StrataRunner.run(["histogram", "-c", "people"], in: folder.url, timeout: 10)
        XCTAssertEqual(noLens.status, 2, noLens.stderr)
        XCTAssertTrue(noLens.stderr.contains("people.json does not exist"), noLens.stderr)
    }

    func testArgumentErrorsExitTwoWithUsage() throws {
        let missing = try StrataRunner.run(["histogram"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("--collection"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("Usage"), missing.stderr)
        let badStrategy = try StrataRunner.run(["histogram", "-c", "x", "--strategy", "fast"])
        XCTAssertEqual(badStrategy.status, 2, badStrategy.stderr)
        let badDB = try StrataRunner.run(["histogram", "-c", "x", "--db", "a/b"])
        XCTAssertEqual(badDB.status, 2, badDB.stderr)
        XCTAssertTrue(badDB.stderr.contains("not a database name"), badDB.stderr)
        let folder = try TempFolder()
        try folder.write("schemas/people.json", Self.lens)
        let badURI = try StrataRunner.run(["histogram", "-c", "people", "--uri", "notmongo://x"], in: folder.url)
        XCTAssertEqual(badURI.status, 2, badURI.stderr)
        XCTAssertTrue(badURI.stderr.contains("invalid MongoDB URI"), badURI.stderr)
        let unknown = try StrataRunner.run(["frobnicate"])
        XCTAssertEqual(unknown.status, 2, unknown.stderr)
    }

    func testHelpAndVersion() throws {
        let help = try StrataRunner.run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("histogram"), help.stdout)
        XCTAssertTrue(help.stdout.contains("import"), help.stdout)
        let sub = try StrataRunner.run(["histogram", "--help"])
        XCTAssertEqual(sub.status, 0)
        for option in ["--collection", "--uri", "--db", "--schemas", "--json", "--strategy"] {
            XCTAssertTrue(sub.stdout.contains(option), "\(option) in: \(sub.stdout)")
        }
        let version = try StrataRunner.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertFalse(version.stdout.isEmpty)
    }
}
