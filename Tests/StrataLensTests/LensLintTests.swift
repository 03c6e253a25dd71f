import Foundation
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataTestFixtures
import XCTest

/// The lint at load (one test per rule) and the no-silent-data-loss rules of nest and unnest.
final class LensLintTests: XCTestCase {
    func lens(_ steps: String, indexes: String = "[]") -> String {
        #"{"collection": "c", "versionField": "v", "steps": "# + steps + #", "indexes": "# + indexes + "}"
    }

    func step(_ from: Int, _ ops: String) -> String { #"{"from": \#(from), "to": \#(from + 1), "operations": [\#(ops)]}"# }

    func assertRefused(_ text: String, at path: String, saying words: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Lens.parse(text, file: "schemas/c.json"), file: file, line: line) { error in
            guard let e = error as? StrataError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .badInput, file: file, line: line)
            XCTAssertEqual(e.location?.file, "schemas/c.json", file: file, line: line)
            XCTAssertEqual(e.location?.path, path, "\(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(words), "'\(e.message)' should say '\(words)'", file: file, line: line)
        }
    }

    // MARK: lint rules

    func testValueSlipIsRefused() throws {
        assertRefused(lens("[" + step(0, #"{"op": "convert", "field": "price", "expr": {"$toDouble": "$value"}}"#) + "]"),
                      at: "steps[0].operations[0].expr", saying: "did you mean '$$value'")
        assertRefused(lens("[" + step(0, #"{"op": "convert", "field": "p", "expr": {"$multiply": ["$$value", 100]}, "inverse": {"$divide": ["$value", 100]}}"#) + "]"),
                      at: "steps[0].operations[0].inverse", saying: "did you mean '$$value'")
        // The right spelling, and a field really named value read through $$ROOT, load.
        XCTAssertNoThrow(try Lens.parse(lens("[" + step(0, #"{"op": "convert", "field": "price", "expr": {"$toDouble": "$$value"}}"#) + "]")))
        XCTAssertNoThrow(try Lens.parse(lens("[" + step(0, #"{"op": "convert", "field": "p", "expr": {"$ifNull": ["$$ROOT.value", 0]}, "ifMissing": "evaluate"}"#) + "]")))
    }

    func testUndefinedVariableIsRefused() throws {
        assertRefused(lens("[" + step(0, #"{"op": "convert", "field": "p", "expr": {"$add": ["$$value", "$$offset"]}}"#) + "]"),
                      at: "steps[0].operations[0].expr", saying: "'$$offset' is not defined")
        // Variables bound by $let / $map are defined.
        XCTAssertNoThrow(try Lens.parse(lens("[" + step(0, #"{"op": "convert", "field": "p", "expr": {"$let": {"vars": {"o": 2}, "in": {"$map": {"input": "$$value", "as": "e", "in": {"$add": ["$$e", "$$o"]}}}}}}"#) + "]")))
    }

    func testReadingAFieldRemovedEarlierInTheStepIsRefused() throws {
        assertRefused(lens("[" + step(0, #"{"op": "rename", "from": "ts", "to": "at"}, {"op": "convert", "field": "ts", "to": "day", "expr": {"$toString": "$$value"}}"#) + "]"),
                      at: "steps[0].operations[1]", saying: "steps[0].operations[0] removed earlier in this step")
        assertRefused(lens("[" + step(0, #"{"op": "remove", "field": "a"}, {"op": "convert", "field": "b", "expr": {"$add": ["$$value", "$a.n"]}}"#) + "]"),
                      at: "steps[0].operations[1]", saying: "reads 'a.n'")
        // In an earlier step: a warning (a document stored at version 1 may have it).
        let l = try Lens.parse(lens("[" + step(0, #"{"op": "remove", "field": "a"}"#) + ", " + step(1, #"{"op": "rename", "from": "a", "to": "b"}"#) + "]"))
        XCTAssertEqual(l.warnings.count, 1)
        XCTAssertTrue(l.warnings.first?.message.contains("removed in an earlier step") == true, "\(l.warnings)")
        XCTAssertEqual(l.warnings.first?.location?.path, "steps[1].operations[0]")
    }

    func testOverwritingAFieldAnEarlierOperationWroteIsRefused() throws {
        assertRefused(lens("[" + step(0, #"{"op": "add", "field": "plan", "value": "free"}, {"op": "rename", "from": "tier", "to": "plan"}"#) + "]"),
                      at: "steps[0].operations[1]", saying: "which steps[0].operations[0] already wrote")
        assertRefused(lens("[" + step(0, #"{"op": "rename", "from": "a", "to": "b"}"#) + ", " + step(1, #"{"op": "wrap", "from": "c", "into": "b", "element": {"v": "$$value"}}"#) + "]"),
                      at: "steps[1].operations[0]", saying: "\"overwrite\": true")
        // Said explicitly: loads.
        XCTAssertNoThrow(try Lens.parse(lens("[" + step(0, #"{"op": "add", "field": "plan", "value": "free"}, {"op": "rename", "from": "tier", "to": "plan", "overwrite": true}"#) + "]")))
    }

    func testChangingTheVersionFieldIsRefused() throws {
        assertRefused(lens("[" + step(0, #"{"op": "rename", "from": "v", "to": "version"}"#) + "]"),
                      at: "steps[0].operations[0]", saying: "changes the version field 'v'")
        assertRefused(lens("[" + step(0, #"{"op": "remove", "field": "v"}"#) + "]"),
                      at: "steps[0].operations[0]", saying: "changes the version field 'v'")
    }

    func testIndexOnAPathTheNewestSchemaDoesNotHaveIsRefused() throws {
        assertRefused(lens("[" + step(0, #"{"op": "rename", "from": "ts", "to": "at"}"#) + "]", indexes: #"[{"key": {"at": 1}}, {"key": {"user": 1, "ts": -1}}]"#),
                      at: "indexes[1].key.ts", saying: "which the newest schema does not have")
        XCTAssertNoThrow(try Lens.parse(lens("[" + step(0, #"{"op": "rename", "from": "ts", "to": "at"}"#) + "]", indexes: #"[{"key": {"at": 1}}]"#)))
    }

    /// The shipped lenses pass the lint without a warning.
    func testShippedLensesPassWithoutWarnings() throws {
        let schemas = FixturePaths.repositoryRoot.appendingPathComponent("schemas")
        for c in ["users", "events", "devices", "accounts"] {
            let l = try Lens.load(collection: c, schemasDirectory: schemas)
            XCTAssertEqual(l.warnings.count, 0, "\(c): \(l.warnings)")
        }
    }

    // MARK: no silent data loss

    func oneStep(_ op: String) throws -> Lens { try Lens.parse(lens("[" + step(0, op) + "]"), file: "schemas/c.json") }

    func testNestMergesIntoAnExistingSubDocumentOrRefusesTheDocument() throws {
        let l = try oneStep(#"{"op": "nest", "into": "address", "fields": {"country": "country"}}"#)
        let merged = try l.upgrade(["_id": 1, "country": "NO", "address": ["city": "Oslo"]])
        XCTAssertEqual(merged["address"], .document(["city": "Oslo", "country": "NO"]))
        // Undo gives the sub-document its own keys back and the field its place.
        let back = try l.downgrade(merged, to: 0)
        XCTAssertNil(BSONComparison().difference(back, ["_id": 1, "country": "NO", "address": ["city": "Oslo"]]))
        for (doc, words) in [(["_id": 2, "country": "NO", "address": ["country": "SE"]] as Document, "'address.country' already holds a value"),
                             (["_id": 3, "country": "NO", "address": "Storgata 1"], "'address' holds a value that is not a sub-document")] {
            XCTAssertThrowsError(try l.upgrade(doc)) { error in
                let e = error as! StrataError
                XCTAssertEqual(e.kind, .upgradeFailed)
                XCTAssertTrue(e.message.contains("_id \(ExtendedJSON.string(doc["_id"]!))") && e.message.contains(words), e.message)
                XCTAssertEqual(e.location?.path, "steps[0].operations[0]")
            }
        }
        // overwrite: true discards what was there, as the lens says.
        let o = try oneStep(#"{"op": "nest", "into": "address", "fields": {"country": "country"}, "overwrite": true}"#)
        XCTAssertEqual(try o.upgrade(["_id": 3, "country": "NO", "address": "Storgata 1"])["address"], .document(["country": "NO"]))
    }

    func testUnnestKeepsTheKeysItDoesNotListUnlessToldToDrop() throws {
        let stored: Document = ["_id": 1, "name": ["first": "Ann", "last": "Lee", "title": "Dr"]]
        let keep = try oneStep(#"{"op": "unnest", "from": "name", "fields": {"first": "firstName", "last": "lastName"}}"#)
        let up = try keep.upgrade(stored)
        XCTAssertEqual(up["name"], .document(["title": "Dr"]))
        XCTAssertEqual(up["firstName"], "Ann")
        XCTAssertNil(BSONComparison().difference(try keep.downgrade(up, to: 0), stored))
        // Nothing left: the sub-document goes.
        XCTAssertNil(try keep.upgrade(["_id": 2, "name": ["first": "Bo"]])["name"])
        let drop = try oneStep(#"{"op": "unnest", "from": "name", "fields": {"first": "firstName"}, "drop": true}"#)
        XCTAssertNil(try drop.upgrade(stored)["name"])
        if case .lossy(let why) = drop.downgradeInvertibility(from: 1, to: 0) { XCTAssertTrue(why.contains("drop: true"), why) } else { XCTFail() }
        // A target that replaces the sub-document needs drop: true.
        assertRefused(lens("[" + step(0, #"{"op": "unnest", "from": "name", "fields": {"first": "name"}}"#) + "]"),
                      at: "steps[0].operations[0].fields.first", saying: "say \"drop\": true")
    }

    /// Issue 17 case 4: `currency` → `lines.currency` with `lines` an array is refused on
    /// both paths (the Swift upgrade used to replace the array), not answered by plan.
    func testRenameIntoAPathUnderAnArrayRefusesTheDocument() throws {
        let l = try oneStep(#"{"op": "rename", "from": "currency", "to": "lines.currency"}"#)
        XCTAssertThrowsError(try l.upgrade(["_id": "o1", "currency": "USD", "lines": [["sku": "a"], ["sku": "b"]]])) { error in
            let e = error as! StrataError
            XCTAssertEqual(e.kind, .upgradeFailed)
            XCTAssertTrue(e.message.contains(#"_id "o1""#) && e.message.contains("lies under an array"), e.message)
            XCTAssertEqual(e.location?.description, "schemas/c.json: steps[0].operations[0]")
        }
        let ok = try l.upgrade(["_id": "o2", "currency": "USD", "lines": ["n": 2]])
        XCTAssertEqual(ok["lines"], .document(["n": 2, "currency": "USD"]))
    }
}
