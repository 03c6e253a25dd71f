import Foundation
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataTestFixtures
import XCTest

/// `map` and `in`: operations on array elements and sub-documents — what Swift does
/// to each element, what it leaves and refuses, how paths translate through them,
/// undo, and what loading refuses. (Server agreement: `LensServerAgreementTests`;
/// answers at every mix: `LensMapDifferentialTests`.)
final class LensMapTests: XCTestCase {
    func lens(_ ops: String) throws -> Lens {
        try Lens.parse(#"{"collection": "c", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [\#(ops)]}]}"#,
                       file: "schemas/c.json")
    }

    static let renameLines = #"{"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "code", "to": "sku"}, {"op": "convert", "field": "qty", "expr": {"$toInt": "$$value"}}]}"#

    func testMapAppliesToEveryDocumentElementAndLeavesTheRest() throws {
        let l = try lens(Self.renameLines)
        let doc: Document = ["_id": 1, "lines": [["code": "A", "qty": "2"], .null, 7, ["qty": "5", "note": "x"], []]]
        XCTAssertThrowsError(try l.upgrade(doc)) { e in  // the nested array element is refused
            XCTAssertTrue("\(e)".contains("an element of 'lines' is an array"), "\(e)")
            XCTAssertEqual((e as? StrataError)?.location?.path, "steps[0].operations[0]")
        }
        var ok = doc
        ok["lines"] = [["code": "A", "qty": "2"], .null, 7, ["qty": "5", "note": "x"]]
        let up = try l.upgrade(ok)
        XCTAssertEqual(up["lines"], [["sku": "A", "qty": .int32(2)], .null, 7, ["qty": .int32(5), "note": "x"]])
        // Missing, null, scalar and empty arrays are left as they are.
        for v in [nil, BSON.null, 5, "s", []] as [BSON?] {
            var d: Document = ["_id": 2]
            d["lines"] = v
            XCTAssertEqual(try l.upgrade(d)["lines"], v)
        }
    }

    func testMapRefusesASubDocumentAndInRefusesAnArray() throws {
        XCTAssertThrowsError(try lens(Self.renameLines).upgrade(["_id": 1, "lines": ["code": "A"]])) { e in
            XCTAssertTrue("\(e)".contains("'lines' is a sub-document, not an array"), "\(e)")
            XCTAssertTrue("\(e)".contains("_id 1"), "\(e)")
        }
        let inLens = try lens(#"{"op": "in", "field": "customer", "operations": [{"op": "rename", "from": "zip", "to": "postcode"}]}"#)
        XCTAssertEqual(try inLens.upgrade(["_id": 1, "customer": ["zip": "123", "name": "A"]])["customer"], ["postcode": "123", "name": "A"])
        XCTAssertThrowsError(try inLens.upgrade(["_id": 1, "customer": [["zip": "1"]]])) { e in
            XCTAssertTrue("\(e)".contains("'customer' is an array, not a sub-document"), "\(e)")
        }
    }

    func testAnInnerRefusalNamesTheInnerOperation() throws {
        let l = try lens(#"{"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "code", "to": "sku"}]}"#)
        XCTAssertThrowsError(try l.upgrade(["_id": 9, "lines": [["code": "A", "sku": "B"]]])) { e in
            let se = e as? StrataError
            XCTAssertEqual(se?.kind, .upgradeFailed)
            XCTAssertEqual(se?.location?.path, "steps[0].operations[0].operations[0]")
            XCTAssertTrue(se?.message.contains("'sku' already holds a value") == true, "\(e)")
        }
    }

    func testNestedMapInsideIn() throws {
        let l = try lens(#"{"op": "in", "field": "order", "operations": [{"op": "map", "field": "lines", "operations": [{"op": "remove", "field": "old"}]}]}"#)
        XCTAssertEqual(try l.upgrade(["_id": 1, "order": ["lines": [["old": 1, "k": 2]]]])["order"], ["lines": [["k": 2]]])
        XCTAssertEqual(l.source(of: ["order", "lines", "k"], atVersion: 0), .path(["order", "lines", "k"]))
        XCTAssertFalse(l.source(of: ["order", "lines", "old"], atVersion: 0).isPath)
    }

    func testPathsTranslateThroughTheElement() throws {
        let l = try lens(Self.renameLines)
        XCTAssertEqual(l.source(of: ["lines", "sku"], atVersion: 0), .path(["lines", "code"]))
        XCTAssertEqual(l.source(of: ["lines", "note"], atVersion: 0), .path(["lines", "note"]))
        XCTAssertEqual(l.source(of: ["other"], atVersion: 0), .path(["other"]))
        // Computed inside the element, the element by position, the whole array: upgraded first.
        for p in [["lines", "qty"], ["lines", "0", "sku"], ["lines"]] {
            guard case .untranslatable = l.source(of: p, atVersion: 0).value else {
                return XCTFail("\(p): \(l.source(of: p, atVersion: 0))")
            }
        }
        // A field the element's rename moved away is missing in every element: not a plain path.
        XCTAssertFalse(l.source(of: ["lines", "code"], atVersion: 0).isPath)
    }

    func testUndoGivesTheElementsBack() throws {
        let l = try lens(#"{"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "code", "to": "sku"}, {"op": "add", "field": "cur", "value": "EUR"}]}"#)
        XCTAssertEqual(l.steps[0].operations[0].invertibility.canDowngrade, true)
        let doc: Document = ["_id": 1, "v": 0, "lines": [["code": "A"], 3]]
        var up = try l.upgrade(doc)
        XCTAssertEqual(up["lines"], [["sku": "A", "cur": "EUR"], 3])
        up = try l.downgrade(up, to: 0)
        XCTAssertEqual(up["lines"], [["code": "A"], 3])
        // An impossible inner undo makes the map's undo impossible.
        let gone = try lens(#"{"op": "map", "field": "lines", "operations": [{"op": "remove", "field": "x"}]}"#)
        XCTAssertFalse(gone.steps[0].operations[0].invertibility.canDowngrade)
    }

    func testServerFormOnlyForElementFieldOperations() throws {
        XCTAssertNotNil(try lens(Self.renameLines).serverUpgradeStages(from: 0))
        // A nest inside the element, a dotted path, a convert that reads another field: Swift.
        for inner in [#"{"op": "nest", "into": "p", "fields": {"a": "x"}}"#,
                      #"{"op": "rename", "from": "a.b", "to": "c"}"#,
                      #"{"op": "convert", "field": "a", "expr": {"$add": ["$$value", "$b"]}}"#] {
            let l = try lens(#"{"op": "map", "field": "lines", "operations": [\#(inner)]}"#)
            XCTAssertNil(l.serverUpgradeStages(from: 0), inner)
            XCTAssertEqual(l.serverUpgradeObstacle(from: 0)?.name, "map")
        }
    }

    func testLoadingRefusesWhatCannotRunInside() throws {
        func refused(_ ops: String, at path: String, saying words: String, line: UInt = #line) {
            XCTAssertThrowsError(try lens(ops), line: line) { e in
                XCTAssertEqual((e as? StrataError)?.kind, .badInput, line: line)
                XCTAssertEqual((e as? StrataError)?.location?.path, path, "\(e)", line: line)
                XCTAssertTrue("\(e)".contains(words), "\(e)", line: line)
            }
        }
        refused(#"{"op": "map", "field": "lines", "operations": [{"op": "lookup", "field": "t", "from": "p", "localField": "a", "foreignField": "_id", "select": "tags"}]}"#,
                at: "steps[0].operations[0].operations[0].op", saying: "'lookup' cannot run inside map")
        refused(#"{"op": "in", "field": "a", "operations": []}"#, at: "steps[0].operations[0].operations", saying: "at least one operation")
        refused(#"{"op": "map", "field": "_id", "operations": [{"op": "remove", "field": "x"}]}"#, at: "steps[0].operations[0].field", saying: "_id")
        // Lint looks inside: the $value slip, and reading what an earlier inner operation removed.
        refused(#"{"op": "map", "field": "lines", "operations": [{"op": "convert", "field": "q", "expr": {"$toInt": "$value"}}]}"#,
                at: "steps[0].operations[0].operations[0].expr", saying: "did you mean '$$value'")
        refused(#"{"op": "map", "field": "lines", "operations": [{"op": "remove", "field": "q"}, {"op": "rename", "from": "q", "to": "r"}]}"#,
                at: "steps[0].operations[0].operations[1]", saying: "removed earlier in this map")
        // The version field cannot be the mapped field.
        refused(#"{"op": "in", "field": "v", "operations": [{"op": "remove", "field": "x"}]}"#,
                at: "steps[0].operations[0]", saying: "changes the version field")
    }
}

/// The split the README documents: one field into several, with query translation.
final class LensSplitTests: XCTestCase {
    func testConvertIntoPartsThenUnnest() throws {
        let l = try Lens.parse(#"""
        {"collection": "c", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
          {"op": "convert", "field": "fullName", "expr": {"$let": {"vars": {"p": {"$split": ["$$value", " "]}},
            "in": {"first": {"$arrayElemAt": ["$$p", 0]}, "last": {"$arrayElemAt": ["$$p", 1]}}}}},
          {"op": "unnest", "from": "fullName", "fields": {"first": "firstName", "last": "lastName"}}]}]}
        """#, file: "c.json")
        XCTAssertEqual(try l.upgrade(["_id": 1, "fullName": "Ada Lovelace"]), ["_id": 1, "v": 1, "firstName": "Ada", "lastName": "Lovelace"])
        XCTAssertEqual(try l.upgrade(["_id": 2, "fullName": "Plato"]), ["_id": 2, "v": 1, "firstName": "Plato"])
        XCTAssertEqual(try l.upgrade(["_id": 3]), ["_id": 3, "v": 1])
        // firstName at version 0 is computed from fullName: translatable, not a plain path.
        let src = l.source(of: ["firstName"], atVersion: 0)
        guard case .computed = src.value else { return XCTFail("\(src)") }
        let e = try XCTUnwrap(src.expression)
        XCTAssertEqual(try Evaluator.evaluate(e, ["fullName": "Ada Lovelace"]), "Ada")
        XCTAssertNil(try Evaluator.evaluate(e, ["_id": 3]))
    }
}
