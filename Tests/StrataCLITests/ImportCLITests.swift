import Foundation
import StrataMongo
import StrataTestSupport
import XCTest

final class ImportCLITests: XCTestCase {
    func testAMalformedLineExitsTwoNamingFileAndLine() throws {
        let folder = try TempFolder()
        try folder.write("data.jsonl", "{\"_id\": 1}\n\n{\"_id\": 2, \"x\": [1, }\n{\"_id\": 3}\n")
        let db = try TestServer.freshDatabase("cli_import_bad")
        let r = try StrataRunner.run(["import", "-c", "c", "data.jsonl", "--uri", TestServer.uri(), "--db", db.name], in: folder.url)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("strata: data.jsonl:3: not valid Extended JSON"), r.stderr)
        XCTAssertEqual(try db.collection("c").countDocuments(), 0, "a bad file inserts nothing")
        // Without any server, the file is still checked first.
        let offline = try StrataRunner.run(["import", "-c", "c", "data.jsonl"], in: folder.url)
        XCTAssertEqual(offline.status, 2, offline.stderr)
        XCTAssertTrue(offline.stderr.contains("data.jsonl:3:"), offline.stderr)
    }

    func testStandardInputDropAndDuplicates() throws {
        let db = try TestServer.freshDatabase("cli_import_stdin")
        let text = (1...50).map { "{\"_id\": \($0), \"k\": \($0 % 3)}" }.joined(separator: "\n")
        let r = try StrataRunner.run(["import", "-c", "c", "-", "--uri", TestServer.uri(), "--db", db.name, "--batch", "7"],
                                     stdin: Data(text.utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("imported 50 documents from <stdin> into \(db.name).c in "), r.stdout)
        XCTAssertTrue(r.stdout.contains("docs/s)"), r.stdout)
        XCTAssertTrue(r.stderr.isEmpty, "no progress when stderr is not a terminal: \(r.stderr)")
        XCTAssertEqual(try db.collection("c").countDocuments(), 50)

        let again = try StrataRunner.run(["import", "-c", "c", "-", "--uri", TestServer.uri(), "--db", db.name],
                                         stdin: Data(text.utf8))
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("<stdin>:1: the server refused the document"), again.stderr)
        XCTAssertTrue(again.stderr.contains("--drop"), again.stderr)

        let dropped = try StrataRunner.run(["import", "-c", "c", "-", "--drop", "--uri", TestServer.uri(), "--db", db.name],
                                           stdin: Data("{\"_id\": 1}\n".utf8))
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertEqual(try db.collection("c").countDocuments(), 1)
    }

    func testDryRunAndArgumentErrors() throws {
        let folder = try TempFolder()
        try folder.write("ok.jsonl", "{\"a\": 1}\n{\"a\": 2}\n")
        let dry = try StrataRunner.run(["import", "-c", "c", "ok.jsonl", "--dry-run"], in: folder.url)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("ok.jsonl: 2 documents"), dry.stdout)

        let noFile = try StrataRunner.run(["import", "-c", "c", "missing.jsonl"], in: folder.url)
        XCTAssertEqual(noFile.status, 2)
        XCTAssertTrue(noFile.stderr.contains("missing.jsonl: no such file"), noFile.stderr)
        let folderArg = try StrataRunner.run(["import", "-c", "c", "."], in: folder.url)
        XCTAssertEqual(folderArg.status, 2)
        let badBatch = try StrataRunner.run(["import", "-c", "c", "ok.jsonl", "--batch", "0"], in: folder.url)
        XCTAssertEqual(badBatch.status, 2)
        XCTAssertTrue(badBatch.stderr.contains("--batch"), badBatch.stderr)
        let noArg = try StrataRunner.run(["import", "-c", "c"], in: folder.url)
        XCTAssertEqual(noArg.status, 2)
        let badCollection = try StrataRunner.run(["import", "-c", "a$b", "ok.jsonl"], in: folder.url)
        XCTAssertEqual(badCollection.status, 2)
    }
}
