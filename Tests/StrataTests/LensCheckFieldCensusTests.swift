import Strata
import StrataBSON
import StrataLens
import XCTest

/// `strata lens check`'s unknown fields, without a server: what a step mentions (and
/// everything inside it), `_id` and the version field are known; so are the paths the
/// newest documents hold, into sub-documents and through arrays; the outermost unknown
/// path is the one reported.
final class LensCheckFieldCensusTests: XCTestCase {
    static let lens = #"""
    {"collection": "c", "versionField": "meta.v", "steps": [{"from": 0, "to": 1, "operations": [
      {"op": "rename", "from": "ts", "to": "at"},
      {"op": "convert", "field": "reading.tempF", "to": "reading.tempC",
       "expr": {"$add": ["$$value", "$offset"]}},
      {"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "code", "to": "sku"}]},
      {"op": "nest", "into": "name", "fields": {"first": "given"}}]}]}
    """#

    func census(newest: [Document] = []) throws -> FieldCensus {
        FieldCensus(lens: try Lens.parse(Self.lens), newest: newest)
    }

    func testWithoutNewestDocumentsTheLensDecides() throws {
        let doc: Document = ["_id": ["a": 1, "b": 2], "meta": ["v": 1, "origin": "x"], "at": 1, "offset": 2,
                             "reading": ["tempC": 1, "humidity": 3], "lines": [["sku": "a", "anything": 1], 4],
                             "name": ["given": "A", "other": "B"], "legacyNote": ["deep": 1]]
        let unknown = try census().unknownPaths(in: doc)
        // Inside _id, the written array and sub-document: known. Beside a mentioned path
        // (meta.v, reading.tempF/tempC): unknown. An unknown sub-document: once, whole.
        XCTAssertEqual(unknown, [["meta", "origin"], ["reading", "humidity"], ["legacyNote"]])
    }

    func testTheNewestDocumentsFieldsAreKnownThroughArrays() throws {
        let newest: [Document] = [["_id": 1, "meta": ["v": 1], "tags": [["label": "x"], "plain"], "extra": ["k": 1]],
                                  ["_id": 2, "meta": ["v": 1, "origin": "y"], "reading": ["tempC": 1, "humidity": 1]]]
        let doc: Document = ["_id": 3, "meta": ["v": 1, "origin": "x"], "reading": ["tempC": 1, "humidity": 3],
                             "tags": [["label": "y", "old": true], ["label": "z", "old": false]],
                             "extra": ["k": 2, "j": 3], "legacyNote": "n"]
        let unknown = try census(newest: newest).unknownPaths(in: doc)
        XCTAssertEqual(unknown, [["tags", "old"], ["extra", "j"], ["legacyNote"]])
        XCTAssertEqual(try census(newest: newest).unknownPaths(in: ["_id": 4, "tags": [], "extra": [:]]), [])
    }
}
