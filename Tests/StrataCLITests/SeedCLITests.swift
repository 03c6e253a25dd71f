import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `strata seed` as a test suite's setup runs it: the binary against the test server.
/// (That every catalog query answers on seeded collections as on the truth is
/// SeededDatasetTests'; here: reproducibility, the mix, and every refusal writing nothing.)
final class SeedCLITests: XCTestCase {
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas").path

    func seedArgs(_ collection: String, _ db: MongoDatabase, _ file: String, _ extra: [String], schemas: String = schemas) throws -> [String] {
        ["seed", "-c", collection, "--uri", try TestServer.uri(), "--db", db.name, "--schemas", schemas, file] + extra
    }

    func truthFile(_ dataset: String, count: Int) throws -> URL {
        try Datasets.generate(dataset, count: count).appendingPathComponent("\(dataset).truth.jsonl")
    }

    /// Stored versions, by `_id`.
    func versions(_ coll: MongoCollection, _ lens: Lens) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for d in try coll.find().all() {
            guard case .known(let v) = lens.storedVersion(of: d) else { XCTFail("unknown version in \(d)"); continue }
            out[ExtendedJSON.string(d["_id"]!, mode: .canonical)] = v
        }
        return out
    }

    /// The same file, mix and seed give the same collection; another seed another draw; the
    /// shares follow the mix; every document is in the shape of its version and upgrades
    /// back to the one given.
    func testSeedIsReproducibleAndFollowsTheMix() throws {
        let file = try truthFile("events", count: 4000)
        let truth = try Datasets.readJSONL(file)
        let lens = try Lens.load(collection: "events", schemasDirectory: URL(fileURLWithPath: Self.schemas))
        let db = try TestServer.freshDatabase("cli_seed_mix")
        let coll = db.collection("events")
        var r = try StrataRunner.run(try seedArgs("events", db, file.path, ["--mix", "40,30,20,10", "--seed", "11", "--json"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try ExtendedJSON.parseDocument(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(summary["documents"]?.exactInt, 4000)
        XCTAssertEqual(summary["seed"], "11")
        let first = try versions(coll, lens)
        XCTAssertEqual(first.count, 4000)
        for (v, share) in [(0, 0.4), (1, 0.3), (2, 0.2), (3, 0.1)] {
            let n = Double(first.values.filter { $0 == v }.count)
            // Binomial: 4 standard deviations at n = 4000 is under 0.032.
            XCTAssertEqual(n / 4000, share, accuracy: 0.035, "share of v\(v)")
            XCTAssertEqual(summary["perVersion"]?.documentValue?["\(v)"]?.exactInt, Int64(n))
        }
        // Each stored document: the shape of its version (no newer field), and back to the truth.
        let byId = Dictionary(uniqueKeysWithValues: truth.map { (ExtendedJSON.string($0["_id"]!, mode: .canonical), $0) })
        for d in try coll.find().all() {
            let key = ExtendedJSON.string(d["_id"]!, mode: .canonical)
            if case .known(0) = lens.storedVersion(of: d) {
                XCTAssertNil(d["v"]); XCTAssertNotNil(d["amountCents"]); XCTAssertNotNil(d["ts"]); XCTAssertNotNil(d["type"])
            }
            if let diff = BSONComparison().difference(try lens.upgrade(d), byId[key]!) { XCTFail("\(key): \(diff)") }
        }

        r = try StrataRunner.run(try seedArgs("events", db, file.path, ["--mix", "40,30,20,10", "--seed", "11", "--drop"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("seed 11, dropped first"), r.stdout)
        XCTAssertEqual(try versions(coll, lens), first, "same seed, same collection")

        r = try StrataRunner.run(try seedArgs("events", db, file.path, ["--mix", "40,30,20,10", "--seed", "12", "--drop"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotEqual(try versions(coll, lens), first, "another seed, another draw")

        // Standard input, all at the oldest version.
        r = try StrataRunner.run(try seedArgs("events", db, "-", ["--mix", "1,0,0,0", "--drop"]), stdin: try Data(contentsOf: file))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Set(try versions(coll, lens).values), [0])
        XCTAssertTrue(r.stdout.contains("seed "), "a random seed is printed: \(r.stdout)")
    }

    /// Refusals name what is wrong, exit non-zero, and leave the collection as it was.
    func testRefusalsWriteNothing() throws {
        let events = try truthFile("events", count: 50)
        let users = try truthFile("users", count: 50)
        let db = try TestServer.freshDatabase("cli_seed_refusals")
        let kept: [Document] = [["_id": 1, "note": "kept"]]
        try db.collection("users").insertMany(kept)
        try db.collection("events").insertMany(kept)

        func assertUntouched(_ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
            for c in ["users", "events"] {
                XCTAssertEqual(try db.collection(c).find().all(), kept, "\(what): \(c) untouched", file: file, line: line)
            }
        }

        // A step no down function undoes (the password hash): the CLI binds none.
        var r = try StrataRunner.run(try seedArgs("users", db, users.path, ["--mix", "25,25,25,25", "--drop"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("steps[1].operations[1]") && r.stderr.contains("crc32Hex")
                      && r.stderr.contains("registerDown"), r.stderr)
        try assertUntouched("no down function")
        // Versions 2 and 3 need no down function for it.
        r = try StrataRunner.run(try seedArgs("users", db, users.path, ["--mix", "0,0,1,1", "--seed", "3", "--dry-run"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("nothing written"), r.stdout)
        try assertUntouched("dry run")

        // A collection that holds documents, without --drop.
        r = try StrataRunner.run(try seedArgs("events", db, events.path, ["--mix", "1,1,1,1"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("already holds 1 documents") && r.stderr.contains("--drop"), r.stderr)
        try assertUntouched("non-empty")

        // Wrong number of shares; not numbers.
        r = try StrataRunner.run(try seedArgs("events", db, events.path, ["--mix", "50,50", "--drop"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("knows 4 versions (0...3)"), r.stderr)
        r = try StrataRunner.run(try seedArgs("events", db, events.path, ["--mix", "50,x,0,0", "--drop"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("'x' is not one"), r.stderr)
        r = try StrataRunner.run(try seedArgs("events", db, events.path, ["--mix", "0,0,0,0", "--drop"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        try assertUntouched("bad mix")

        // An old document in the input (line 3), a malformed line, a missing file.
        let folder = try TempFolder()
        var lines = try String(contentsOf: events, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = #"{"_id": 999, "ts": {"$date": "2024-01-01T00:00:00Z"}, "type": "View", "user": 1, "amountCents": 5, "tags": [], "region": "eu"}"#
        let old = try folder.write("old.jsonl", lines.joined(separator: "\n"))
        r = try StrataRunner.run(try seedArgs("events", db, old.path, ["--mix", "1,1,1,1", "--drop"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("old.jsonl:3") && r.stderr.contains("seed takes newest-version documents"), r.stderr)
        lines[2] = "{not json"
        let bad = try folder.write("bad.jsonl", lines.joined(separator: "\n"))
        r = try StrataRunner.run(try seedArgs("events", db, bad.path, ["--mix", "1,1,1,1", "--drop"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("bad.jsonl:3"), r.stderr)
        r = try StrataRunner.run(try seedArgs("events", db, folder.path + "/none.jsonl", ["--mix", "1,1,1,1", "--drop"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("no such file"), r.stderr)
        try assertUntouched("bad input")
    }

    /// A lens of its own: a lossy wrap (a list the old shape holds one element of) and a
    /// removed field. A document the drawn version cannot hold is refused by name and step
    /// (or, with --unrepresentable newer, stored newer); the remove needs a down function.
    func testUnrepresentableDocumentsAndStepsWithoutUndo() throws {
        let folder = try TempFolder()
        try folder.write("schemas/contacts.json", """
            {"collection": "contacts", "versionField": "v",
             "steps": [
               {"from": 0, "to": 1, "operations": [
                 {"op": "wrap", "from": "phone", "into": "phones", "element": {"kind": "phone", "value": "$$value"}}]},
               {"from": 1, "to": 2, "operations": [{"op": "rename", "from": "nick", "to": "alias"}]}
             ]}
            """)
        try folder.write("schemas/notes.json", """
            {"collection": "notes", "versionField": "v",
             "steps": [{"from": 0, "to": 1, "operations": [{"op": "remove", "field": "legacy"}]},
                       {"from": 1, "to": 2, "down": "notesDown", "operations": [{"op": "rename", "from": "a", "to": "b"}]}]}
            """)
        let docs = folder.url.appendingPathComponent("contacts.jsonl")
        try Data("""
            {"_id": 1, "v": 2, "alias": "ann", "phones": [{"kind": "phone", "value": "1"}]}
            {"_id": 2, "v": 2, "alias": "bob", "phones": [{"kind": "phone", "value": "2"}, {"kind": "phone", "value": "3"}]}
            {"_id": 3, "v": 2, "alias": "cy", "phones": []}

            """.utf8).write(to: docs)
        let db = try TestServer.freshDatabase("cli_seed_lossy")
        let coll = db.collection("contacts")
        let schemas = folder.path + "/schemas"

        var r = try StrataRunner.run(try seedArgs("contacts", db, docs.path, ["--mix", "1,0,0"], schemas: schemas))
        XCTAssertEqual(r.status, 5, r.stderr)
        XCTAssertTrue(r.stderr.contains("contacts.jsonl:2") && r.stderr.contains("_id 2") && r.stderr.contains("version 0")
                      && r.stderr.contains("steps[0].operations[0]") && r.stderr.contains("--unrepresentable newer"), r.stderr)
        XCTAssertEqual(try coll.countDocuments(), 0, "nothing written")

        r = try StrataRunner.run(try seedArgs("contacts", db, docs.path, ["--mix", "1,0,0", "--unrepresentable", "newer"], schemas: schemas))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("1 drawn at v0"), r.stdout)
        let stored = Dictionary(uniqueKeysWithValues: try coll.find().all().map { ($0["_id"]!.exactInt!, $0) })
        let want: [Int64: Document] = [
            1: ["_id": 1, "nick": "ann", "phone": "1"],
            2: ["_id": 2, "v": 1, "nick": "bob", "phones": [["kind": "phone", "value": "2"], ["kind": "phone", "value": "3"]]],
            3: ["_id": 3, "nick": "cy"],
        ]
        XCTAssertEqual(stored.count, 3)
        for (id, w) in want {
            if let d = BSONComparison().difference(try XCTUnwrap(stored[id]), w) { XCTFail("_id \(id): \(d)") }
        }

        let notes = try folder.write("notes.jsonl", #"{"_id": 1, "v": 2, "b": 1}"# + "\n")
        r = try StrataRunner.run(try seedArgs("notes", db, notes.path, ["--mix", "0,1,1"], schemas: schemas))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("steps[1].down") && r.stderr.contains("notesDown"), r.stderr)
        r = try StrataRunner.run(try seedArgs("notes", db, notes.path, ["--mix", "1,0,0"], schemas: schemas))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("steps[0].operations[0]") && r.stderr.contains("the removed value is gone"), r.stderr)
        XCTAssertEqual(try db.collection("notes").countDocuments(), 0, "nothing written")
    }
}
