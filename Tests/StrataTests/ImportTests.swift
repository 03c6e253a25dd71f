import Foundation
@testable import Strata
import Strata
import StrataEvaluator
import StrataMongo
import StrataTestSupport
import XCTest

final class ImportTests: XCTestCase {
    var tempDir: URL!

    override func setUpWithError() throws {
        tempDir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tempDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tempDir)
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = tempDir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func testRelaxedAndCanonicalLinesWithBlankLinesAndCRLF() throws {
        let url = try write("mixed.jsonl", "\u{FEFF}{\"_id\": 1, \"n\": 5, \"at\": {\"$date\": \"2024-01-02T00:00:00Z\"}}\r\n"
            + "\n   \n"
            + "{\"_id\": {\"$numberInt\": \"2\"}, \"n\": {\"$numberLong\": \"5\"}, \"d\": {\"$numberDouble\": \"1.0\"}}\n"
            + "\t{\"_id\": 3, \"s\": \"é \\\" } {\"}  \n"
            + "{\"_id\": 4}")
        let coll = try TestServer.freshDatabase("import_basic").collection("c")
        XCTAssertEqual(try Importer.importJSONL(url, into: coll), 4)
        let docs = try coll.find([:], options: FindOptions(sort: ["_id": 1])).all()
        XCTAssertEqual(docs.count, 4)
        XCTAssertEqual(docs[0]["at"], .date(1_704_153_600_000))
        XCTAssertEqual(docs[0]["n"], .int32(5))
        XCTAssertEqual(docs[1]["n"], .int64(5))
        XCTAssertEqual(docs[1]["d"], .double(1))
        XCTAssertEqual(docs[2]["s"], .string("é \" } {"))
    }

    func testAMalformedLineNamesFileAndLineAndInsertsNothing() throws {
        let coll = try TestServer.freshDatabase("import_bad").collection("c")
        try coll.insertOne(["_id": "keep"])
        var text = ""
        for i in 0..<2500 { text += "{\"_id\": \(i)}\n" }
        text += "{\"_id\": 2500, \"x\": }\n{\"_id\": 2501}\n"
        let url = try write("bad.jsonl", text)
        XCTAssertThrowsError(try Importer.importLines(JSONLines(contentsOf: url), into: coll, batchSize: 100, dropFirst: true)) { error in
            guard let e = error as? StrataError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .badInput)
            XCTAssertEqual(e.kind.exitCode, 2)
            XCTAssertEqual(e.location?.file, url.path + ":2501")
            XCTAssertTrue(e.message.contains("not valid Extended JSON"), e.message)
        }
        // Nothing inserted, and --drop did not drop: the file was checked first.
        XCTAssertEqual(try coll.countDocuments(), 1)
    }

    func testLinesThatAreNotOneObject() throws {
        let cases: [(String, String)] = [
            ("[1, 2]", "an array"),
            ("42", "expected one JSON object"),
            ("\"text\"", "a string"),
            ("{\"a\": 1} {\"b\": 2}", "more than one JSON value"),
            ("{\"a\": 1}}", "not valid Extended JSON"),
            ("{\"a\": 1}, 5", "more than one JSON value"),
            ("{\"a\": ", "not valid Extended JSON"),
            ("{\"a\": {\"$numberInt\": \"x\"}}", "not valid Extended JSON"),
        ]
        for (line, expected) in cases {
            let lines = JSONLines(data: Data(("{\"ok\": 1}\n" + line + "\n").utf8), name: "t.jsonl")
            XCTAssertThrowsError(try lines.validate(), line) { error in
                let e = error as? StrataError
                XCTAssertEqual(e?.location?.file, "t.jsonl:2", line)
                XCTAssertTrue(e?.message.contains(expected) ?? false, "\(line): \(error)")
            }
        }
        let invalidUTF8 = JSONLines(data: Data([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D, 0x0A]), name: "u.jsonl")
        XCTAssertThrowsError(try invalidUTF8.validate()) { error in
            XCTAssertTrue("\(error)".contains("u.jsonl:1: the line is not valid UTF-8"), "\(error)")
        }
    }

    func testBatchesAndProgress() throws {
        let coll = try TestServer.freshDatabase("import_batches").collection("c")
        let text = (0..<25).map { "{\"_id\": \($0)}" }.joined(separator: "\n")
        var reports: [Importer.Progress] = []
        let summary = try Importer.importLines(JSONLines(data: Data(text.utf8), name: "b"), into: coll, batchSize: 7) {
            reports.append($0)
        }
        XCTAssertEqual(summary.documents, 25)
        XCTAssertEqual(reports.filter { $0.phase == .inserting }.map(\.done), [7, 14, 21, 25])
        XCTAssertEqual(reports.last?.total, 25)
        XCTAssertEqual(try coll.countDocuments(), 25)
        // --drop replaces the collection.
        let again = try Importer.importLines(JSONLines(data: Data(text.utf8), name: "b"), into: coll, dropFirst: true)
        XCTAssertEqual(again.documents, 25)
        XCTAssertEqual(try coll.countDocuments(), 25)
    }

    func testAnEmptyFileImportsNothing() throws {
        let coll = try TestServer.freshDatabase("import_empty").collection("c")
        XCTAssertEqual(try Importer.importJSONL(try write("empty.jsonl", "\n\n"), into: coll), 0)
        XCTAssertEqual(try Importer.importJSONL(try write("empty2.jsonl", ""), into: coll), 0)
    }

    func testAMissingFileIsBadInput() throws {
        let coll = try TestServer.freshDatabase("import_missing").collection("c")
        XCTAssertThrowsError(try Importer.importJSONL(tempDir.appendingPathComponent("nope.jsonl"), into: coll)) { error in
            XCTAssertEqual((error as? StrataError)?.kind, .badInput, "\(error)")
            XCTAssertTrue("\(error)".contains("nope.jsonl"), "\(error)")
        }
    }

    func testADuplicateKeyNamesItsLineAndKeepsEarlierBatches() throws {
        let coll = try TestServer.freshDatabase("import_dup").collection("c")
        let text = (0..<10).map { "{\"_id\": \($0)}" }.joined(separator: "\n") + "\n{\"_id\": 3}\n{\"_id\": 99}\n"
        let url = try write("dup.jsonl", text)
        XCTAssertThrowsError(try Importer.importJSONL(url, into: coll, batchSize: 4)) { error in
            guard let e = error as? MongoError else { return XCTFail("\(error)") }
            XCTAssertTrue(e.isDuplicateKey)
            XCTAssertTrue(e.message.hasPrefix(url.path + ":11: "), e.message)
            XCTAssertTrue(e.message.contains("10 documents before it were inserted"), e.message)
        }
        XCTAssertEqual(try coll.countDocuments(), 10)
    }

    func testTheGeneratedDatasetsRoundTrip() throws {
        let dir = try Datasets.generate("devices", count: 300)
        let coll = try TestServer.freshDatabase("import_devices").collection("products")
        let file = dir.appendingPathComponent("products.jsonl")
        XCTAssertEqual(try Importer.importJSONL(file, into: coll), 20)
        let expected = try Datasets.readJSONL(file)
        let stored = try coll.find([:], options: FindOptions(sort: ["_id": 1])).all()
        XCTAssertNil(BSONComparison().difference(stored, expected.sorted { ($0["_id"]?.stringValue ?? "") < ($1["_id"]?.stringValue ?? "") }))
    }
}
