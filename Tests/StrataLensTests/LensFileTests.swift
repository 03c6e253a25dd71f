import Foundation
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataTestFixtures
import XCTest

final class LensFileTests: XCTestCase {
    static let schemas = FixturePaths.repositoryRoot.appendingPathComponent("schemas")

    func testShippedLensesLoad() throws {
        let users = try Lens.load(collection: "users", schemasDirectory: Self.schemas)
        XCTAssertEqual(users.versionField, "schema_version")
        XCTAssertEqual(users.knownVersions, 0...3)
        XCTAssertEqual(users.steps.map(\.operations.count), [1, 2, 2])
        let devices = try Lens.load(collection: "devices", schemasDirectory: Self.schemas)
        XCTAssertEqual(devices.knownVersions, 0...2)
        let events = try Lens.load(collection: "events", schemasDirectory: Self.schemas)
        XCTAssertEqual(events.versionField, "v")
        XCTAssertEqual(events.newest, 3)
        XCTAssertEqual(events.indexes.count, 3)
        XCTAssertTrue(users.unboundFunctions(.builtIn).isEmpty)
        XCTAssertEqual(users.unboundFunctions(LensFunctions()).map(\.function), ["crc32Hex"])
    }

    /// Each malformed lens is refused with `.badInput`, naming the file and the place.
    func testMalformedLensesNameTheirPlace() throws {
        let base = #"{"collection": "c", "versionField": "v", "steps": [%STEPS%]}"#
        let ok0 = #"{"from": 0, "to": 1, "operations": [{"op": "rename", "from": "a", "to": "b"}]}"#
        let cases: [(String, String, String)] = [
            (#"{"collection": "c", "versionField": "v", "steps": [ "#, "", "not valid JSON"),
            (base.replacingOccurrences(of: "%STEPS%", with: ok0 + "," + #"{"from": 2, "to": 3, "operations": []}"#),
             "steps[1].from", "gap"),
            (base.replacingOccurrences(of: "%STEPS%", with: ok0 + "," + ok0), "steps[1].from", "duplicates"),
            (base.replacingOccurrences(of: "%STEPS%", with: #"{"from": 0, "to": 2, "operations": []}"#), "steps[0].to", "from 0 must have to 1"),
            (base.replacingOccurrences(of: "%STEPS%", with: #"{"from": 0, "to": 1, "operations": [{"op": "explode"}]}"#),
             "steps[0].operations[0].op", "unknown operation 'explode'"),
            (base.replacingOccurrences(of: "%STEPS%", with: #"{"from": 0, "to": 1, "operations": [{"op": "rename", "from": "a"}]}"#),
             "steps[0].operations[0]", "needs 'to'"),
            (base.replacingOccurrences(of: "%STEPS%", with: #"{"from": 0, "to": 1, "operations": [{"op": "rename", "from": "a", "to": 5}]}"#),
             "steps[0].operations[0].to", "must be a string"),
            (base.replacingOccurrences(of: "%STEPS%", with: #"{"from": 0, "to": 1, "operations": [{"op": "convert", "field": "a", "expr": {"$nosuch": 1}}]}"#),
             "steps[0].operations[0].expr.$nosuch", "$nosuch"),
            (base.replacingOccurrences(of: "%STEPS%", with: #"{"from": 0, "to": 1, "operations": [{"op": "nest", "into": "n", "fields": {"a": "x"}, "colour": 1}]}"#),
             "steps[0].operations[0].colour", "unknown key 'colour'"),
            (#"{"collection": "c", "steps": []}"#, "", "needs 'versionField'"),
            (#"{"collection": "c", "versionField": "v", "absentMeans": 1, "steps": [{"from": 2, "to": 3, "operations": []}]}"#,
             "steps[0].from", "no step"),
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-lens-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (i, (text, place, words)) in cases.enumerated() {
            let file = dir.appendingPathComponent("case\(i).json")
            try text.write(to: file, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try Lens.load(contentsOf: file), "case \(i) should fail") { error in
                guard let e = error as? StrataError else { return XCTFail("case \(i): \(error)") }
                XCTAssertEqual(e.kind, .badInput, "case \(i)")
                XCTAssertEqual(e.location?.file, file.path, "case \(i)")
                XCTAssertEqual(e.location?.path ?? "", place, "case \(i): \(e)")
                XCTAssertTrue(e.message.contains(words), "case \(i): '\(e.message)' should mention '\(words)'")
            }
        }
    }

    func testMissingLensFileIsBadInput() {
        XCTAssertThrowsError(try Lens.load(collection: "nope", schemasDirectory: Self.schemas)) { error in
            XCTAssertEqual((error as? StrataError)?.kind, .badInput)
            XCTAssertTrue("\(error)".contains("nope.json"))
        }
    }

    func testVersionClassification() throws {
        let lens = try Lens.load(collection: "events", schemasDirectory: Self.schemas)
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1]), .known(0))
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1, "v": 2]), .known(2))
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1, "v": .int64(3)]), .known(3))
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1, "v": 1.0]), .known(1))
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1, "v": 7]), .unknown(7))
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1, "v": "2"]), .invalid("2"))
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1, "v": 1.5]), .invalid(1.5))
        XCTAssertEqual(lens.storedVersion(of: ["_id": 1, "v": .null]), .known(0), "null is read as absent")
        XCTAssertThrowsError(try lens.upgrade(["_id": 1, "v": 7])) { error in
            XCTAssertEqual((error as? StrataError)?.kind, .unknownVersion)
        }
    }

    func testUpgradeFailureNamesTheDocumentAndOperation() throws {
        let lens = try Lens.load(collection: "devices", schemasDirectory: Self.schemas)
        // firmware must be "a.b.c"; a number cannot be split.
        let bad: Document = ["_id": "x", "schemaVersion": 1, "serial": "s", "product": "P00", "tags": [],
                             "firmware": 12, "lastSeen": .date(0), "reading": ["tempF": 50.0], "online": true]
        XCTAssertThrowsError(try lens.upgrade(bad)) { error in
            guard let e = error as? StrataError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .upgradeFailed)
            XCTAssertTrue(e.message.contains("_id \"x\""), e.message)
            XCTAssertTrue(e.location?.path.hasPrefix("steps[1].operations[1]") ?? false, "\(e)")
        }
    }
}
