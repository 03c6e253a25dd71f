import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import XCTest

/// PCRE2Tests' differential run against the test server.
final class PCRE2ServerTests: XCTestCase {

    static let subjects: [String] = ["hello world", "Héllo Wörld", "line1\nline2\r\nline3", "", "aaa", "日本語 text 123",
                                     "a.b*c", "x😀y", "CamelCaseWord", "tab\there"]
    static let patterns: [(String, String)] = [
        ("\\w+", ""), ("o", "i"), ("^l", "m"), ("l.*3", "s"), ("(\\w)(\\d)?", ""), ("a*", ""), ("\\bw", "i"),
        ("[A-Z][a-z]+", ""), ("\\s", ""), (".", ""), ("(?<=l)l", ""), ("t e x t # comment", "x"), ("$", "m"),
        ("é|ö", "i"), ("😀", ""), ("\\d+", ""), ("(?i)WORLD", ""), ("\\Qa.b\\E", ""),
    ]
    /// Where SecantusDB (the test server, Python's `re`) differs from mongod's PCRE2; strata
    /// follows mongod.
    static let secantusDivergences: [String: String] = [
        "\\w+": "Python's re is Unicode-aware: \\w matches é ö 日; PCRE2 without UCP does not",
        "(\\w)(\\d)?": "as above",
        "a*": "SecantusDB finds empty matches where Python's re.finditer does (after a non-empty match, at the end); mongod steps one code point past an empty match and stops at the end",
        "\\Qa.b\\E": "Python's re has no \\Q...\\E (SecantusDB: internal error / bad escape)",
    ]

    func testRegexExpressionsAgreeWithTheServer() throws {
        let fx = try ServerFixture.get()
        let docs: [Document] = Self.subjects.enumerated().map { ["_id": .int32(Int32($0.offset)), "s": .string($0.element)] }
        let coll = try fx.collection("pcre2_subjects", docs)
        var failures: [String] = []
        let cmp = BSONComparison()
        for (pattern, options) in Self.patterns where Self.secantusDivergences[pattern] == nil {
            for op in ["$regexFindAll", "$regexFind", "$regexMatch"] {
                let expr: BSON = [op: ["input": "$s", "regex": .regex(BSONRegex(pattern: pattern, options: options))]]
                let rows: [Document]
                do { rows = try coll.aggregateAll([["$project": ["r": expr]], ["$sort": ["_id": 1]]]) } catch {
                    failures.append("\(op) /\(pattern)/\(options): server error \(error)")
                    continue
                }
                for (d, row) in zip(docs, rows) {
                    let mine = try Evaluator().evaluate(Expr.parse(expr), d, Variables(now: 0))
                    if let diff = cmp.difference(.document(["r": mine ?? .null]), .document(["r": row["r"] ?? .null])) {
                        failures.append("\(op) /\(pattern)/\(options) on \(show(d["s"])): strata \(show(mine)) vs server \(show(row["r"])) (\(diff))")
                    }
                }
            }
            // the query operator
            let filter: Document = ["s": ["$regex": .string(pattern), "$options": .string(options)]]
            let theirs: [BSON]
            do { theirs = try coll.aggregateAll([["$match": .document(filter)], ["$sort": ["_id": 1]]]).map { $0["_id"]! } } catch {
                failures.append("$regex /\(pattern)/\(options): server error \(error)")
                continue
            }
            let q = try Query.parse(filter)
            let mine = try docs.filter { try q.matches($0) }.map { $0["_id"]! }
            if mine != theirs { failures.append("$regex /\(pattern)/\(options): strata \(mine) vs server \(theirs)") }
        }
        if !failures.isEmpty { XCTFail("\(failures.count) differences:\n" + failures.joined(separator: "\n")) }
    }
}
