import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

final class QueryTests: XCTestCase {
    func q(_ s: String) throws -> Query { try Query.parse(JD(s), at: Location(file: "q.json", path: "filter")) }
    func m(_ filter: String, _ doc: String, line: UInt = #line) -> Bool {
        do { return try q(filter).matches(JD(doc)) } catch { XCTFail("\(error)", line: line); return false }
    }

    func testStructureIsInspectable() throws {
        XCTAssertEqual(try q(#"{"a": 1, "b": {"$gt": 2, "$lt": 5}}"#),
                       .and([.field(path: "a", [.eq(1)]), .field(path: "b", [.gt(2), .lt(5)])]))
        XCTAssertEqual(try q(#"{"a": {"$regex": "x", "$options": "i"}}"#), .field(path: "a", [.regex(BSONRegex(pattern: "x", options: "i"))]))
        XCTAssertEqual(try q(#"{"a": {"$elemMatch": {"$gt": 1}}}"#), .field(path: "a", [.elemMatchValue([.gt(1)])]))
        XCTAssertEqual(try q(#"{"a": {"$elemMatch": {"b": 1}}}"#), .field(path: "a", [.elemMatchObject(.field(path: "b", [.eq(1)]))]))
        XCTAssertEqual(try q(#"{"a": {"$type": ["number", 2]}}"#), .field(path: "a", [.type([.number, .code(2)])]))
        XCTAssertEqual(try q(#"{"$comment": "x"}"#), .and([]))
        let mapped = try q(#"{"a.b": 1, "$or": [{"c": 2}], "$expr": {"$eq": ["$a.b", 1]}}"#).mappingPaths({ "v1." + $0 }, expr: {
            $0.rewritingFieldPaths { p, _ in .fieldPath(["v1"] + p) }
        })
        XCTAssertEqual(mapped.paths, ["v1.a.b", "v1.c"])
        XCTAssertTrue(ExtendedJSON.string(mapped.bson).contains("$v1.a.b"))
    }

    func testParseErrorsNameTheirPlace() {
        func expect(_ s: String, _ kind: StrataError.Kind, _ path: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try q(s), line: line) { e in
                guard let e = e as? StrataError else { return XCTFail("\(e)", line: line) }
                XCTAssertEqual(e.kind, kind, "\(e)", line: line)
                XCTAssertEqual(e.location?.path, path, "\(e)", line: line)
                XCTAssertEqual(e.location?.file, "q.json", line: line)
                XCTAssertTrue(e.message.contains(fragment), e.message, line: line)
            }
        }
        expect(#"{"a": {"$foo": 1}}"#, .badInput, "filter.a.$foo", "unknown operator: $foo")
        expect(#"{"$foo": 1}"#, .badInput, "filter.$foo", "unknown top level operator")
        expect(#"{"a": {"$in": 1}}"#, .badInput, "filter.a.$in", "needs an array")
        expect(#"{"a": {"$size": "x"}}"#, .badInput, "filter.a.$size", "needs a number")
        expect(#"{"a": {"$size": 1.5}}"#, .badInput, "filter.a.$size", "whole number")
        expect(#"{"a": {"$mod": [0, 1]}}"#, .badInput, "filter.a.$mod", "divisor cannot be 0")
        expect(#"{"$or": []}"#, .badInput, "filter.$or", "nonempty array")
        expect(#"{"$and": [{"a": 1}, 3]}"#, .badInput, "filter.$and[1]", "full objects")
        expect(#"{"$or": [{"a": {"$bad": 1}}]}"#, .badInput, "filter.$or[0].a.$bad", "unknown operator")
        expect(#"{"a": {"$type": "nope"}}"#, .badInput, "filter.a.$type", "Unknown type name alias")
        XCTAssertThrowsError(try Query.parse(["a": ["$options": "i"]], at: Location(path: "filter"))) {
            XCTAssertTrue("\($0)".contains("filter.a: $options needs a $regex"), "\($0)")
        }
        expect(#"{"$where": "1"}"#, .unsupported, "filter.$where", "not supported")
        expect(#"{"$text": {"$search": "x"}}"#, .unsupported, "filter.$text", "not supported")
        expect(#"{"loc": {"$near": [0, 0]}}"#, .unsupported, "filter.loc.$near", "not supported")
        expect(#"{"$expr": {"$nope": 1}}"#, .badInput, "filter.$expr.$nope", "unknown expression operator")
    }

    func testNullAndMissing() {
        XCTAssertTrue(m(#"{"a": null}"#, #"{}"#))
        XCTAssertTrue(m(#"{"a": null}"#, #"{"a": null}"#))
        XCTAssertTrue(m(#"{"a": null}"#, #"{"a": [1, null]}"#))
        XCTAssertFalse(m(#"{"a": null}"#, #"{"a": []}"#))
        XCTAssertTrue(m(#"{"a.b": null}"#, #"{"a": [{"c": 1}]}"#))
        XCTAssertFalse(m(#"{"a.b": null}"#, #"{"a": [1, 2]}"#))
        XCTAssertTrue(m(#"{"a.b": null}"#, #"{"a": 5}"#))
        XCTAssertFalse(m(#"{"a": {"$ne": null}}"#, #"{}"#))
        XCTAssertTrue(m(#"{"a": {"$ne": 1}}"#, #"{}"#))
        XCTAssertTrue(m(#"{"a": {"$nin": [1]}}"#, #"{}"#))
        XCTAssertTrue(m(#"{"a": {"$gte": null}}"#, #"{}"#))
        XCTAssertFalse(m(#"{"a": {"$gt": null}}"#, #"{"a": 1}"#))
        XCTAssertTrue(m(#"{"a": {"$exists": false}}"#, #"{"b": 1}"#))
        XCTAssertTrue(m(#"{"a": {"$in": [null]}}"#, #"{}"#))
    }

    func testArraysAndBracketing() {
        XCTAssertTrue(m(#"{"a": {"$gt": 1, "$lt": 5}}"#, #"{"a": [0, 10]}"#))  // each predicate on its own element
        XCTAssertFalse(m(#"{"a": {"$elemMatch": {"$gt": 1, "$lt": 5}}}"#, #"{"a": [0, 10]}"#))
        XCTAssertFalse(m(#"{"a": {"$gt": 5}}"#, #"{"a": "z"}"#))  // type bracketing
        XCTAssertTrue(m(#"{"a": {"$lt": {"$maxKey": 1}}}"#, #"{"a": "z"}"#))
        XCTAssertTrue(m(#"{"a": [1, 2]}"#, #"{"a": [[1, 2], 3]}"#))
        XCTAssertTrue(m(#"{"a": {"$all": [[1, 2]]}}"#, #"{"a": [1, 2]}"#))  // mongod; SecantusDB disagrees
        XCTAssertTrue(m(#"{"a.1": 5}"#, #"{"a": [4, 5]}"#))
        XCTAssertTrue(m(#"{"a.0.b": 1}"#, #"{"a": [{"b": 1}]}"#))
        XCTAssertFalse(m(#"{"a.01": 5}"#, #"{"a": [4, 5]}"#))
        XCTAssertTrue(m(#"{"a.b": 2}"#, #"{"a": [{"b": [1, 2]}]}"#))
        XCTAssertFalse(m(#"{"a.b": 1}"#, #"{"a": [[{"b": 1}]]}"#))  // no traversal of nested arrays
        XCTAssertTrue(m(#"{"a": {"$size": 2}}"#, #"{"a": [[1], [2]]}"#))
        XCTAssertFalse(m(#"{"a": {"$size": 2}}"#, #"{"a": [[1, 2]]}"#))  // the array itself, not its elements
        XCTAssertTrue(m(#"{"a": {"$type": "array"}}"#, #"{"a": []}"#))
        XCTAssertTrue(m(#"{"d": {"$numberDouble": "NaN"}}"#, #"{"d": {"$numberDouble": "NaN"}}"#))
        XCTAssertFalse(m(#"{"d": {"$lt": 0}}"#, #"{"d": {"$numberDouble": "NaN"}}"#))
        XCTAssertTrue(m(#"{"a": {"$regex": "^x"}}"#, #"{"a": ["y", "xz"]}"#))
        XCTAssertTrue(m(#"{"a": {"$mod": [4, 1]}}"#, #"{"a": 5.9}"#))
        XCTAssertTrue(m(#"{"a": {"$bitsAllSet": [0, 2]}}"#, #"{"a": 5}"#))
    }

    func testExprUsesVariables() throws {
        let query = try q(#"{"$expr": {"$gt": ["$a", "$$lim"]}}"#)
        XCTAssertTrue(try query.matches(["a": 5], variables: Variables(["lim": 3])))
        XCTAssertFalse(try query.matches(["a": 2], variables: Variables(["lim": 3])))
    }
}
