import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

final class ExprParseTests: XCTestCase {
    func parse(_ s: String) throws -> Expr { try Expr.parse(J(s), at: Location(path: "expr")) }

    func testShapes() throws {
        XCTAssertEqual(try parse(#""$a.b""#), .fieldPath(["a", "b"]))
        XCTAssertEqual(try parse(#""$$ROOT.a""#), .variable("ROOT", ["a"]))
        XCTAssertEqual(try parse(#""$$this""#), .variable("this", []))
        XCTAssertEqual(try parse(#""plain""#), .literal("plain"))
        XCTAssertEqual(try parse(#"{"$literal": "$notapath"}"#), .literal("$notapath"))
        XCTAssertEqual(try parse(#"{"$toLower": "$a"}"#), .op("$toLower", .positional([.fieldPath(["a"])])))
        XCTAssertEqual(try parse(#"{"$toLower": ["$a"]}"#), .op("$toLower", .positional([.fieldPath(["a"])])))
        XCTAssertEqual(try parse(#"{"$size": [[1, 2]]}"#), .op("$size", .positional([.array([.literal(1), .literal(2)])])))
        XCTAssertEqual(try parse(#"{"x": "$a", "y": [1]}"#), .object([("x", .fieldPath(["a"])), ("y", .array([.literal(1)]))]))
        XCTAssertEqual(try parse(#"{"$map": {"input": "$a", "as": "v", "in": "$$v.x"}}"#),
                       .op("$map", .named([("input", .fieldPath(["a"])), ("as", .literal("v")), ("in", .variable("v", ["x"]))])))
        XCTAssertEqual(try parse(#"{"$year": {"date": "$d", "timezone": "UTC"}}"#),
                       .op("$year", .named([("date", .fieldPath(["d"])), ("timezone", .literal("UTC"))])))
        XCTAssertEqual(try parse(#"{"$year": {"$toDate": "$s"}}"#),
                       .op("$year", .positional([.op("$toDate", .positional([.fieldPath(["s"])]))])))
        XCTAssertEqual(try parse(#"{"$getField": "price"}"#),
                       .op("$getField", .named([("field", .literal("price")), ("input", .variable("CURRENT", []))])))
    }

    func testErrorsNameTheirPlace() throws {
        func expect(_ s: String, _ kind: StrataError.Kind, _ path: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try parse(s), line: line) { e in
                guard let e = e as? StrataError else { return XCTFail("\(e)", line: line) }
                XCTAssertEqual(e.kind, kind, "\(e)", line: line)
                XCTAssertEqual(e.location?.path, path, "\(e)", line: line)
                XCTAssertTrue(e.message.contains(fragment), "\(e.message)", line: line)
            }
        }
        expect(#"{"$foo": 1}"#, .badInput, "expr.$foo", "unknown expression operator $foo")
        expect(#"{"$add": [1, {"$bar": 2}]}"#, .badInput, "expr.$add[1].$bar", "unknown expression operator $bar")
        expect(#"{"$add": 1, "x": 2}"#, .badInput, "expr", "exactly one field")
        expect(#"{"x": 1, "$add": 2}"#, .badInput, "expr.$add", "may not start with '$'")
        expect(#"{"$size": [1, 2]}"#, .badInput, "expr.$size", "takes exactly 1 arguments")
        expect(#"{"$map": {"input": "$a"}}"#, .badInput, "expr.$map", "Missing 'in'")
        expect(#"{"$map": {"input": "$a", "in": 1, "bogus": 1}}"#, .badInput, "expr.$map.bogus", "Unrecognized argument")
        expect(#"{"$let": {"vars": {"Bad": 1}, "in": 1}}"#, .badInput, "expr.$let.vars.Bad", "invalid character")
        expect(#""$a..b""#, .badInput, "expr", "empty")
        expect(#""$""#, .badInput, "expr", "by itself")
        expect(#"{"$function": {"body": "", "args": [], "lang": "js"}}"#, .unsupported, "expr.$function", "not supported")
        expect(#""$$CLUSTER_TIME""#, .unsupported, "expr", "not supported")
        expect(#"{"$switch": {"branches": []}}"#, .badInput, "expr.$switch.branches", "at least one branch")
        expect(#"{"$dateFromParts": {"month": 1}}"#, .badInput, "expr.$dateFromParts", "requires either 'year'")
    }

    func testRoundTrip() throws {
        for text in ExprCases.all + [
            #"{"$literal": {"$a": 1}}"#, #"{"$literal": [1, "$x"]}"#, #"{"$cond": {"if": true, "then": 1, "else": 2}}"#,
            #"{"$let": {"vars": {"a": 1, "b": "$x"}, "in": {"$add": ["$$a", "$$b"]}}}"#,
        ] {
            let e = try parse(text)
            XCTAssertEqual(try Expr.parse(e.bson), e, text)
            // and the serialized form evaluates like the original
            for d in Fixture.docs.prefix(3) {
                let a = Result { try Evaluator().evaluate(e, d, Variables(now: 0)) }
                let b = Result { try Evaluator().evaluate(try Expr.parse(e.bson), d, Variables(now: 0)) }
                if case .success(let x) = a, case .success(let y) = b { XCTAssertEqual(x, y, text) }
            }
        }
    }

    func testRewriteAndDependencies() throws {
        let e = try parse(#"{"$add": ["$a.b", "$$ROOT.c", "$$CURRENT.d", {"$map": {"input": "$arr", "as": "x", "in": {"$multiply": ["$$x.v", "$k"]}}}, {"$reduce": {"input": [], "initialValue": 0, "in": "$$value"}}]}"#)
        XCTAssertEqual(e.fieldPaths, [["a", "b"], ["c"], ["d"], ["arr"], ["k"]])
        XCTAssertFalse(e.usesRoot)
        XCTAssertTrue(try parse(#"{"$mergeObjects": ["$$ROOT", {"a": 1}]}"#).usesRoot)
        XCTAssertTrue(try parse(#"{"$getField": "a.b"}"#).usesRoot)
        var seen: [(String, PathBase)] = []
        let r = e.rewritingFieldPaths { path, base in
            seen.append((path.joined(separator: "."), base))
            return .fieldPath(["old"] + path)
        }
        XCTAssertEqual(seen.map(\.0), ["a.b", "c", "d", "arr", "k"])
        XCTAssertEqual(seen.map(\.1), [.current, .root, .current, .current, .current])
        XCTAssertEqual(r.fieldPaths, [["old", "a", "b"], ["old", "c"], ["old", "d"], ["old", "arr"], ["old", "k"]])
        // $$x and $$value are untouched
        XCTAssertTrue(ExtendedJSON.string(r.bson).contains("$$x.v"))
        XCTAssertTrue(ExtendedJSON.string(r.bson).contains("$$value"))
        // variable substitution respects scoping
        let lets = try parse(#"{"$add": ["$$p", {"$let": {"vars": {"p": "$$p"}, "in": "$$p"}}]}"#)
        let sub = lets.rewritingVariable("p") { _ in .literal(10) }
        XCTAssertEqual(sub, try parse(#"{"$add": [10, {"$let": {"vars": {"p": 10}, "in": "$$p"}}]}"#))
        XCTAssertEqual(lets.freeVariables, ["p"])
    }
}
