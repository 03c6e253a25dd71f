import StrataBSON
import StrataEvaluator
import StrataTestFixtures
import XCTest

/// Regular expressions on PCRE2 as mongod compiles them (UTF, no UCP; options i m s x u):
/// the examples of MongoDB's reference pages with the output they print, PCRE2 behaviour
/// the ICU engine got wrong, errors as mongod words them, and a differential run against
/// the test server.
final class PCRE2Tests: XCTestCase {
    func e(_ s: String, _ doc: Document = [:], file: StaticString = #filePath, line: UInt = #line) -> BSON? {
        do { return try ev(s, doc, file: file, line: line) } catch {
            XCTFail("\(s): \(error)", file: file, line: line)
            return nil
        }
    }

    func fails(_ s: String, _ message: String, _ doc: Document = [:], line: UInt = #line) {
        XCTAssertThrowsError(try ev(s, doc), line: line) { err in
            XCTAssertEqual((err as? StrataError)?.message, message, line: line)
        }
    }

    /// docs: reference/operator/aggregation/regexFindAll (products collection).
    static let products: [String] = [
        "Single LINE description.", "First lines\nsecond line", "Many spaces before     line",
        "Multiple\nline descriptions", "anchors, links and hyperlinks", "métier work vocation",
    ]

    func findAll(_ regex: String, _ options: String? = nil) -> [BSON?] {
        Self.products.map { d in
            var spec: Document = ["input": .string(d), "regex": .string(regex)]
            if let options { spec["options"] = .string(options) }
            return try? Evaluator().evaluate(Expr.parse(["$regexFindAll": .document(spec)]), [:], Variables(now: 0))
        }
    }

    func m(_ match: String, _ idx: Int32, _ captures: [BSON] = []) -> BSON {
        ["match": .string(match), "idx": .int32(idx), "captures": .array(captures)]
    }

    func testRegexFindAllReferencePage() {
        XCTAssertEqual(findAll("line"), [[], [m("line", 6), m("line", 19)], [m("line", 23)], [m("line", 9)], [], []])
        XCTAssertEqual(findAll("lin(e|k)"), [[], [m("line", 6, ["e"]), m("line", 19, ["e"])], [m("line", 23, ["e"])],
                                             [m("line", 9, ["e"])], [m("link", 9, ["k"]), m("link", 24, ["k"])], []])
        // idx counts code points: "métier" has a two-byte é
        XCTAssertEqual(findAll("tier"), [[], [], [], [], [], [m("tier", 2)]])
        XCTAssertEqual(findAll("line", "i"), [[m("LINE", 7)], [m("line", 6), m("line", 19)], [m("line", 23)], [m("line", 9)], [], []])
        XCTAssertEqual(findAll("^s", "im"), [[m("S", 0)], [m("s", 12)], [], [], [], []])
        XCTAssertEqual(findAll("lin(e|k) # matches line or link", "x"),
                       [[], [m("line", 6, ["e"]), m("line", 19, ["e"])], [m("line", 23, ["e"])], [m("line", 9, ["e"])],
                        [m("link", 9, ["k"]), m("link", 24, ["k"])], []])
        // the page prints the match with its five spaces collapsed into one
        XCTAssertEqual(findAll("m.*line", "si"), [[], [], [m("Many spaces before     line", 0)], [m("Multiple\nline", 0)], [], []])
        // contacts: unmatched groups are null
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "Colleen", "regex": {"$regularExpression": {"pattern": "(C(ar)*)ol", "options": ""}}}}"#),
                       [m("Col", 0, ["C", .null])])
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "Carol", "regex": {"$regularExpression": {"pattern": "(C(ar)*)ol", "options": ""}}}}"#),
                       [m("Carol", 0, ["Car", "ar"])])
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "212-555-8832", "regex": "^(718).*|^(212).*|^(917).*"}}"#),
                       [m("212-555-8832", 0, [.null, "212", .null])])
        // feedback: emails
        let comment = "How do I convert a date to string? Contact me at either cam@mongodb.com or c.dia@mongodb.com"
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "$c", "regex": "([a-z0-9_.+-]+)@[a-z0-9_.+-]+\\.[a-z0-9_.+-]+", "options": "i"}}"#, ["c": .string(comment)]),
                       [m("cam@mongodb.com", 56, ["cam"]), m("c.dia@mongodb.com", 75, ["c.dia"])])
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "It's just me. I'm testing.  fred@MongoDB.com", "regex": "[a-z0-9_.+-]+@[a-z0-9_.+-]+\\.[a-z0-9_.+-]+", "options": "i"}}"#),
                       [m("fred@MongoDB.com", 28)])
        // collation is ignored: /cafe/ does not match "café" or "cafE"
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "café", "regex": "cafe"}}"#), [])
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "cafE", "regex": "cafe"}}"#), [])
    }

    /// docs: reference/operator/query/regex (products collection, $regex in a filter).
    func testRegexQueryReferencePage() throws {
        let docs: [Document] = [
            ["_id": 100, "sku": "abc123", "description": "Single line description."],
            ["_id": 101, "sku": "abc789", "description": "First line\nSecond line"],
            ["_id": 102, "sku": "xyz456", "description": "Many spaces before     line"],
            ["_id": 103, "sku": "xyz789", "description": "Multiple\nline description"],
        ]
        func ids(_ filter: String) throws -> [BSON] {
            let q = try Query.parse(JD(filter))
            return try docs.filter { try q.matches($0) }.map { $0["_id"]! }
        }
        XCTAssertEqual(try ids(#"{"sku": {"$regex": "789$"}}"#), [101, 103])
        XCTAssertEqual(try ids(#"{"sku": {"$regularExpression": {"pattern": "^ABC", "options": "i"}}}"#), [100, 101])
        XCTAssertEqual(try ids(#"{"description": {"$regex": "^S", "$options": "m"}}"#), [100, 101])
        XCTAssertEqual(try ids(#"{"description": {"$regex": "^S"}}"#), [100])
        XCTAssertEqual(try ids(#"{"description": {"$regex": "S"}}"#), [100, 101])
        XCTAssertEqual(try ids(#"{"description": {"$regex": "m.*line", "$options": "si"}}"#), [102, 103])
        XCTAssertEqual(try ids(#"{"description": {"$regex": "m.*line", "$options": "i"}}"#), [102])
        XCTAssertEqual(try ids(#"{"sku": {"$regex": "abc #category code\n123 #item number", "$options": "x"}}"#), [100])
    }

    /// What PCRE2 with mongod's options does that ICU (and hand-written rewrites) did not.
    func testPCRE2Semantics() {
        // no UCP: \w \d \s \b are ASCII; caseless matching folds non-ASCII letters (UTF mode)
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "héllo wörld", "regex": "\\w+"}}"#)?.arrayValue?.count, 4)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "٣", "regex": "\\d"}}"#), false)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "\u00a0", "regex": "\\s"}}"#), false)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "é", "regex": "\\bé"}}"#), false)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "ÉCOLE", "regex": "école", "options": "i"}}"#), true)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "é", "regex": "[[:alpha:]]"}}"#), false)
        // only \n ends a line: \r is an ordinary character for . and $
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "a\rb", "regex": "a.b"}}"#), true)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "a\r", "regex": "a$"}}"#), false)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "a\n", "regex": "a$"}}"#), true)  // $ before a final \n
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "a\u2028b", "regex": "^b", "options": "m"}}"#), false)
        // PCRE-only syntax: named groups (?P<n>), \K, possessive, recursion, \Q..\E
        XCTAssertEqual(e(#"{"$regexFind": {"input": "key=val", "regex": "(?P<k>\\w+)=(?P=k)?"}}"#), m("key=", 0, ["key"]))
        XCTAssertEqual(e(#"{"$regexFind": {"input": "price: 42", "regex": "price: \\K\\d+"}}"#), m("42", 7))
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "aaa", "regex": "^a++a"}}"#), false)
        XCTAssertEqual(e(#"{"$regexFind": {"input": "x(a(b)c)y", "regex": "\\((?:[^()]|(?R))*\\)"}}"#), m("(a(b)c)", 1))
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "a.b", "regex": "^\\Qa.b\\E$"}}"#), true)
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "axb", "regex": "^\\Qa.b\\E$"}}"#), false)
        // idx in code points past 4-byte characters; captures of multi-byte text
        XCTAssertEqual(e(#"{"$regexFind": {"input": "😀日a", "regex": "(日)a"}}"#), m("日a", 1, ["日"]))
        // empty matches: one code point on, and none at the very end (mongod's loop)
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "baaa", "regex": "a*"}}"#), [m("", 0), m("aaa", 1)])
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "éé", "regex": "x*"}}"#), [m("", 0), m("", 1)])
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "", "regex": "x*"}}"#), [m("", 0)])
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "ab", "regex": "(?=b)|b"}}"#), [m("", 1)])
        // lookbehind sees the text before the search offset
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "aab", "regex": "(?<=a)[ab]"}}"#), [m("a", 1), m("b", 2)])
        // a regex value's options, 'u' accepted
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "ABC", "regex": {"$regularExpression": {"pattern": "b", "options": "iu"}}}}"#), true)
        XCTAssertEqual(e(#"{"$regexFind": {"input": null, "regex": "a"}}"#), .null)
        XCTAssertEqual(e(#"{"$regexFindAll": {"input": "a", "regex": null}}"#), [])
    }

    /// Errors as mongod reports them (evaluate_regex.cpp, pcre_util.cpp, expression_leaf.cpp).
    func testErrors() throws {
        fails(#"{"$regexFind": {"input": "a", "regex": "("}}"#, "Invalid Regex in $regexFind: missing closing parenthesis")
        fails(#"{"$regexMatch": {"input": "a", "regex": "a{2,1}"}}"#, "Invalid Regex in $regexMatch: numbers out of order in {} quantifier")
        fails(#"{"$regexFindAll": {"input": "a", "regex": "[b-a]"}}"#, "Invalid Regex in $regexFindAll: range out of order in character class")
        fails(#"{"$regexMatch": {"input": "a", "regex": "a", "options": "g"}}"#, "$regexMatch invalid flag in regex options: g")
        // the pattern is compiled before the input is looked at
        fails(#"{"$regexMatch": {"input": null, "regex": "("}}"#, "Invalid Regex in $regexMatch: missing closing parenthesis")
        fails(#"{"$regexMatch": {"input": 1, "regex": "("}}"#, "Invalid Regex in $regexMatch: missing closing parenthesis")
        fails(#"{"$regexMatch": {"input": 1, "regex": "a"}}"#, "$regexMatch needs 'input' to be of type string")
        // with a null regex nothing is compiled: flags are not looked at
        XCTAssertEqual(e(#"{"$regexMatch": {"input": "a", "regex": null, "options": "g"}}"#), false)
        fails(#"{"$regexFind": {"input": "a", "regex": {"$regularExpression": {"pattern": "a", "options": "i"}}, "options": "m"}}"#,
              "$regexFind: found regex option(s) specified in both 'regex' and 'option' fields")
        // the query operator, with the filter's location
        for (filter, message) in [
            (#"{"s": {"$regex": "a(b"}}"#, "Regular expression is invalid: missing closing parenthesis"),
            (#"{"s": {"$regex": "*a"}}"#, "Regular expression is invalid: quantifier does not follow a repeatable item"),
            (#"{"s": {"$not": {"$regularExpression": {"pattern": "(", "options": ""}}}}"#, "Regular expression is invalid: missing closing parenthesis"),
            (#"{"s": {"$in": ["x", {"$regularExpression": {"pattern": "[", "options": ""}}]}}"#, "Regular expression is invalid: missing terminating ] for character class"),
        ] {
            check(JD(filter), message)
        }
        // (libbson's JSON reader would turn {$regex, $options} into a regex value)
        check(["s": ["$regex": "a", "$options": "q"]], "invalid flag in regex options: q")
        func check(_ filter: Document, _ message: String) {
            XCTAssertThrowsError(try Query.parse(filter, at: Location(file: "q.json", path: "filter")), "\(filter)") { err in
                let se = err as? StrataError
                XCTAssertEqual(se?.kind, .badInput, "\(filter)")
                XCTAssertEqual(se?.message, message, "\(filter)")
                XCTAssertEqual(se?.location?.file, "q.json", "\(filter)")
            }
        }
    }
}
