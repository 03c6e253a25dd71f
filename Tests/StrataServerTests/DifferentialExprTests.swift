import Foundation
import StrataBSON
import StrataEvaluator
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// Evaluates expressions on the server (`$replaceWith: {_id, r: expr}`) and in Swift over
/// `Fixture.docs`, and compares: the same values (exact types, doubles bit for bit unless a
/// tolerance is given), the same missing fields, and errors where the server errors.
final class DifferentialExprTests: XCTestCase {
    static let exprs: [String] = ExprCases.all

    /// Where SecantusDB (the test server) is known to differ from mongod, strata follows mongod;
    /// these are checked against mongod's answer in `ExprEvalTests` instead.
    static let secantusDivergences: [String: String] = [
        #"{"$median": {"input": "$d", "method": "approximate"}}"#: "mongod returns a numeric scalar input as is for every percentile, NaN included; SecantusDB gives null for NaN",
        #"{"$add": ["$dt", 1.6]}"#: "mongod rounds the double to the nearest millisecond (llround); SecantusDB floors",
        #"{"$mod": ["$d", 2]}"#: "fmod(-inf, 2) is NaN in mongod; SecantusDB fails with an internal error",
        #"{"$pow": ["$d", 2]}"#: "1e300^2 is +inf in mongod; SecantusDB fails with an internal error",
        #"{"$pow": ["$i", -1]}"#: "mongod returns int 1 for a base of 1; SecantusDB returns 1.0",
        #"{"$regexFindAll": {"input": "$u", "regex": "\\w+"}}"#: "mongod's PCRE2 has no UCP: \\w is ASCII; SecantusDB uses Unicode",
        #"{"$regexFindAll": {"input": "$s", "regex": "x*"}}"#: "mongod stops at the end of the input; SecantusDB adds a last empty match",
        #"{"$first": "$a"}"#: "$first of [] is missing in mongod; SecantusDB gives null",
        #"{"$last": "$a"}"#: "$last of [] is missing in mongod; SecantusDB gives null",
        #"{"$zip": {"inputs": ["$a", "$tags"]}}"#: "mongod gives null for a missing input; SecantusDB errors",
        #"{"$zip": {"inputs": ["$a", "$tags"], "useLongestLength": true, "defaults": [0, "none"]}}"#: "as above",
        #"{"$sortArray": {"input": "$a", "sortBy": 1}}"#: "SecantusDB fails on mixed types (internal error)",
        #"{"$sortArray": {"input": "$arr", "sortBy": {"x": -1}}}"#: "mongod sorts by sort keys (array elements); SecantusDB compares arrays whole",
        "\"$arr.x\"": "SecantusDB does not traverse arrays in aggregation field paths (mongod: [1, 5])",
        "\"$o.x.deep\"": "as above",
        "\"$a.k\"": "as above",
        "\"$$ROOT.o.y\"": "SecantusDB gives null for a missing path under $$ROOT; mongod: missing",
        "\"$$CURRENT.s\"": "as above",
        #"{"$isoWeekYear": "$dt"}"#: "mongod's $isoWeekYear is a long; SecantusDB gives an int",
        #"{"$dateToString": {"date": "$missing", "onNull": "none"}}"#: "mongod returns onNull; SecantusDB null",
    ]

    func testExpressionsAgreeWithTheServer() throws {
        let fx = try ServerFixture.get()
        var failures: [String] = []
        let cmp = BSONComparison()
        for text in Self.exprs where Self.secantusDivergences[text] == nil {
            let bson = J(text)
            let expr: Expr
            do { expr = try Expr.parse(bson) } catch {
                failures.append("\(text): strata refused to parse: \(error)")
                continue
            }
            XCTAssertEqual(try Expr.parse(expr.bson), expr, "round trip of \(text)")
            // Swift side
            var mine: [BSON: Result<BSON?, Error>] = [:]
            for d in Fixture.docs {
                mine[d["_id"]!] = Result { try Evaluator().evaluate(expr, d, Variables(now: 0)) }
            }
            // Server side: one aggregate; on error, per document.
            let pipeline: [BSON] = [["$replaceWith": ["_id": "$_id", "r": bson]], ["$sort": ["_id": 1]]]
            var theirs: [BSON: Result<BSON?, Error>] = [:]
            do {
                for row in try fx.coll.aggregateAll(pipeline) { theirs[row["_id"]!] = .success(row["r"]) }
            } catch {
                for d in Fixture.docs {
                    let id = d["_id"]!
                    do {
                        let rows = try fx.coll.aggregateAll([["$match": ["_id": id]]] + pipeline)
                        theirs[id] = .success(rows.first?["r"])
                    } catch let e { theirs[id] = .failure(e) }
                }
            }
            for d in Fixture.docs {
                let id = d["_id"]!
                switch (mine[id]!, theirs[id]!) {
                case (.success(let a), .success(let b)):
                    switch (a, b) {
                    case (nil, nil): break
                    case (let x?, let y?):
                        if let diff = cmp.difference(.document(["r": x]), .document(["r": y])) {
                            failures.append("\(text) on _id \(id): strata \(show(a)) vs server \(show(b)) (\(diff))")
                        }
                    default: failures.append("\(text) on _id \(id): strata \(show(a)) vs server \(show(b))")
                    }
                case (.failure(let e), .failure): _ = e
                case (.failure(let e), .success(let b)):
                    if let se = e as? StrataError, se.kind == .unsupported { continue }
                    failures.append("\(text) on _id \(id): strata error \(e) vs server \(show(b))")
                case (.success(let a), .failure(let e)):
                    failures.append("\(text) on _id \(id): strata \(show(a)) vs server error \(e)")
                }
            }
        }
        if !failures.isEmpty { XCTFail("\(failures.count) differences:\n" + failures.joined(separator: "\n")) }
    }
}
