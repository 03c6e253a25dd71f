import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

final class ProjectionTests: XCTestCase {
    /// Canonical Extended JSON keeps the field order, so equal strings mean equal documents
    /// with the same order and types.
    func canon(_ d: Document) -> String { ExtendedJSON.string(d, mode: .canonical) }

    func project(_ spec: String, _ doc: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { return canon(try Projection.parseProject(JD(spec)).apply(to: JD(doc))) } catch {
            XCTFail("\(error)", file: file, line: line); return ""
        }
    }
    func addFields(_ spec: String, _ doc: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { return canon(try Projection.parseAddFields(JD(spec)).apply(to: JD(doc))) } catch {
            XCTFail("\(error)", file: file, line: line); return ""
        }
    }
    func c(_ s: String) -> String { canon(JD(s)) }

    func testInclusionOrderFollowsTheInputThenComputedInSpecOrder() {
        XCTAssertEqual(project(#"{"b": {"$add": [1, 1]}, "z": 1, "a": 1}"#, #"{"a": 1, "_id": 7, "z": 2, "b": 5}"#),
                       c(#"{"a": 1, "_id": 7, "z": 2, "b": 2}"#))
        XCTAssertEqual(project(#"{"a": 1, "_id": "$x"}"#, #"{"_id": 1, "x": 5, "a": 2}"#), c(#"{"a": 2, "_id": 5}"#))
        XCTAssertEqual(project(#"{"x": 2, "y": 1.5, "k": "lit", "n": null}"#, #"{"_id": 1, "y": 3, "x": 5}"#),
                       c(#"{"_id": 1, "y": 3, "x": 5, "k": "lit", "n": null}"#))  // non-zero numbers include
        XCTAssertEqual(project(#"{"_id": 0, "a": "$$REMOVE", "b": 1}"#, #"{"_id": 1, "b": 2}"#), c(#"{"b": 2}"#))
    }

    func testNestedInclusionOverArraysAndScalars() {
        let doc = #"{"_id": 1, "z": [1, {"b": 3, "q": 4}, [{"b": 5, "r": 1}], {"q": 1}], "s": 5, "o": {"c": 1, "b": 2}}"#
        XCTAssertEqual(project(#"{"z.b": 1, "s.b": 1, "o.b": 1}"#, doc), c(#"{"_id": 1, "z": [{"b": 3}, [{"b": 5}], {}], "o": {"b": 2}}"#))
        XCTAssertEqual(project(#"{"z": {"b": 1}}"#, doc), project(#"{"z.b": 1}"#, doc))
        XCTAssertEqual(project(#"{"z.b": 1, "z.c": {"$literal": 9}}"#, doc),
                       c(#"{"_id": 1, "z": [{"c": 9}, {"b": 3, "c": 9}, [{"b": 5, "c": 9}], {"c": 9}]}"#))
        XCTAssertEqual(project(#"{"s.b": {"$literal": 1}}"#, doc), c(#"{"_id": 1, "s": {"b": 1}}"#))
        XCTAssertEqual(project(#"{"m.b": {"$literal": 1}}"#, doc), c(#"{"_id": 1, "m": {"b": 1}}"#))
        // find projections do not descend into nested arrays
        XCTAssertEqual(canon(try! Projection.parseFind(JD(#"{"z.b": 1}"#)).apply(to: JD(doc))), c(#"{"_id": 1, "z": [{"b": 3}, {}]}"#))
    }

    func testExclusion() {
        let doc = #"{"_id": 1, "z": [1, {"b": 3, "q": 4}, [{"b": 5}]], "o": {"c": 1, "b": 2}, "s": 5}"#
        XCTAssertEqual(project(#"{"z.b": 0, "o.c": 0, "s.x": 0}"#, doc), c(#"{"_id": 1, "z": [1, {"q": 4}, [{}]], "o": {"b": 2}, "s": 5}"#))
        XCTAssertEqual(project(#"{"_id": 0}"#, doc), c(#"{"z": [1, {"b": 3, "q": 4}, [{"b": 5}]], "o": {"c": 1, "b": 2}, "s": 5}"#))
        XCTAssertEqual(canon(try! Projection.parseUnset(["s", "o.b"]).apply(to: JD(doc))), c(#"{"_id": 1, "z": [1, {"b": 3, "q": 4}, [{"b": 5}]], "o": {"c": 1}}"#))
    }

    func testAddFields() {
        let doc = #"{"_id": 1, "a": {"c": 1, "b": 2}, "z": [1, {"q": 4}, [{"r": 5}]], "x": 5}"#
        XCTAssertEqual(addFields(#"{"x": "$$REMOVE", "new": 1, "a": {"k": "$x"}}"#, doc),
                       c(#"{"_id": 1, "a": {"c": 1, "b": 2, "k": 5}, "z": [1, {"q": 4}, [{"r": 5}]], "new": 1}"#))
        XCTAssertEqual(addFields(#"{"z.n": "$x"}"#, doc), c(#"{"_id": 1, "a": {"c": 1, "b": 2}, "z": [{"n": 5}, {"q": 4, "n": 5}, [{"r": 5, "n": 5}]], "x": 5}"#))
        XCTAssertEqual(addFields(#"{"x": {"$add": ["$x", 1]}, "y": "$x"}"#, doc),
                       c(#"{"_id": 1, "a": {"c": 1, "b": 2}, "z": [1, {"q": 4}, [{"r": 5}]], "x": 6, "y": 5}"#))  // original x
        XCTAssertEqual(addFields(#"{"e": {}}"#, #"{"_id": 1}"#), c(#"{"_id": 1, "e": {}}"#))
    }

    func testFindOperators() throws {
        let doc = JD(#"{"_id": 1, "a": [1, 2, 3, 4], "b": [{"x": 1}, {"x": 2}], "c": 3}"#)
        XCTAssertEqual(canon(try Projection.parseFind(JD(#"{"a": {"$slice": 2}}"#)).apply(to: doc)), c(#"{"_id": 1, "a": [1, 2], "b": [{"x": 1}, {"x": 2}], "c": 3}"#))
        XCTAssertEqual(canon(try Projection.parseFind(JD(#"{"a": {"$slice": [-3, 2]}, "c": 1}"#)).apply(to: doc)), c(#"{"_id": 1, "a": [2, 3], "c": 3}"#))
        XCTAssertEqual(canon(try Projection.parseFind(JD(#"{"b": {"$elemMatch": {"x": {"$gt": 1}}}}"#)).apply(to: doc)), c(#"{"_id": 1, "b": [{"x": 2}]}"#))
        XCTAssertThrowsError(try Projection.parseFind(JD(#"{"a.$": 1}"#))) { XCTAssertEqual(($0 as? StrataError)?.kind, .unsupported) }
    }

    func testErrors() {
        func expect(_ spec: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try Projection.parseProject(JD(spec), at: Location(path: "pipeline[0].$project")), line: line) { e in
                XCTAssertEqual((e as? StrataError)?.kind, .badInput, "\(e)", line: line)
                XCTAssertTrue("\(e)".contains(fragment), "\(e)", line: line)
            }
        }
        expect(#"{}"#, "at least one field")
        expect(#"{"a": 1, "b": 0}"#, "exclusion projection")
        expect(#"{"a": 0, "b": "$x"}"#, "exclusion projection")
        expect(#"{"a": 1, "a.b": 1}"#, "Path collision at a.b")
        expect(#"{"a.b": 1, "a": 1}"#, "Path collision at a")
        expect(#"{"a": {}}"#, "empty sub-projection")
        expect(#"{"a": {"$bad": 1}}"#, "unknown expression operator $bad")
        expect(#"{"a.$b": 1}"#, "may not start with '$'")
        XCTAssertNoThrow(try Projection.parseProject(JD(#"{"_id": 0, "a": 1}"#)))
        XCTAssertEqual(try Projection.parseProject(JD(#"{"_id": 0}"#)).mode, .exclusion)
    }

    func testRoundTrip() throws {
        for spec in [#"{"a": 1, "b.c": 1, "d": {"$add": [1, 2]}, "e": {"f": 1, "g": 5}}"#, #"{"a": 0, "b": {"c": 0}}"#] {
            let p = try Projection.parseProject(JD(spec))
            XCTAssertEqual(try Projection.parseProject(p.bson), p)
        }
        let af = try Projection.parseAddFields(JD(#"{"a": 1, "b": true, "c": {"d": "$x"}, "e": {}}"#))
        XCTAssertEqual(try Projection.parseAddFields(af.bson), af)
    }
}
