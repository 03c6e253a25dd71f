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
    static let exprs: [String] = [
        // arithmetic
        #"{"$add": ["$i", 1]}"#, #"{"$add": ["$i", "$l"]}"#, #"{"$add": ["$i", "$d"]}"#, #"{"$add": ["$i", "$i"]}"#,
        #"{"$add": ["$l", "$l"]}"#, #"{"$add": ["$dt", 1000]}"#, #"{"$add": ["$dt", 1.6]}"#, #"{"$add": [1, 2.5, "$n"]}"#,
        #"{"$add": ["$d", 0.1, 0.2]}"#, #"{"$add": []}"#, #"{"$add": ["$s", 1]}"#, #"{"$add": ["$dt", "$dt"]}"#,
        #"{"$subtract": ["$i", 1]}"#, #"{"$subtract": ["$l", "$i"]}"#, #"{"$subtract": ["$dt", "$dt"]}"#,
        #"{"$subtract": ["$dt", 1000]}"#, #"{"$subtract": ["$dt", 1.5]}"#, #"{"$subtract": ["$d", "$i"]}"#, #"{"$subtract": ["$n", 1]}"#,
        #"{"$subtract": [1, "$dt"]}"#,
        #"{"$multiply": ["$i", 2]}"#, #"{"$multiply": ["$i", "$i"]}"#, #"{"$multiply": ["$l", 2]}"#, #"{"$multiply": ["$d", "$i"]}"#,
        #"{"$multiply": ["$l", "$l"]}"#, #"{"$multiply": []}"#,
        #"{"$divide": ["$i", 2]}"#, #"{"$divide": ["$d", "$i"]}"#, #"{"$divide": ["$l", 3]}"#, #"{"$divide": [1, "$n"]}"#,
        #"{"$mod": ["$i", 3]}"#, #"{"$mod": ["$l", 3]}"#, #"{"$mod": ["$d", 2]}"#, #"{"$mod": ["$i", 2.5]}"#, #"{"$mod": ["$i", -1]}"#,
        #"{"$mod": ["$i", "$w"]}"#,
        #"{"$abs": "$i"}"#, #"{"$abs": "$d"}"#, #"{"$abs": "$l"}"#, #"{"$ceil": "$d"}"#, #"{"$floor": "$d"}"#, #"{"$ceil": "$i"}"#,
        #"{"$sqrt": "$v"}"#, #"{"$sqrt": "$i"}"#, #"{"$pow": ["$i", 2]}"#, #"{"$pow": ["$i", -1]}"#, #"{"$pow": [2, 40]}"#,
        #"{"$pow": [2, 62]}"#, #"{"$pow": [2, 63]}"#, #"{"$pow": ["$d", 2]}"#, #"{"$pow": [{"$numberLong": "3"}, 3]}"#, #"{"$pow": [-2, 31]}"#,
        #"{"$exp": "$w"}"#, #"{"$ln": "$v"}"#, #"{"$log10": "$v"}"#, #"{"$log": ["$v", 2]}"#, #"{"$log": [100, 10]}"#,
        #"{"$round": "$d"}"#, #"{"$round": ["$d", 1]}"#, #"{"$round": [2.5, 0]}"#, #"{"$round": [3.5, 0]}"#, #"{"$round": [-2.5, 0]}"#,
        #"{"$round": [1.005, 2]}"#, #"{"$round": [1234.5678, 2]}"#, #"{"$round": [1234, -2]}"#, #"{"$round": [1250, -2]}"#,
        #"{"$round": [{"$numberLong": "1350"}, -2]}"#, #"{"$round": ["$v", 0]}"#, #"{"$trunc": "$d"}"#, #"{"$trunc": ["$d", 1]}"#,
        #"{"$trunc": [-1.99, 0]}"#, #"{"$trunc": [1234.5678, -2]}"#, #"{"$round": [0.1234567890123456789, 10]}"#,
        #"{"$sin": "$w"}"#, #"{"$cos": 1}"#, #"{"$atan2": [1, 2]}"#, #"{"$degreesToRadians": 180}"#,
        // comparison and logic
        #"{"$eq": ["$i", 5]}"#, #"{"$eq": ["$i", 5.0]}"#, #"{"$eq": ["$n", null]}"#, #"{"$eq": ["$missing", null]}"#,
        #"{"$lt": ["$missing", null]}"#, #"{"$gt": ["$s", 5]}"#, #"{"$lt": ["$a", "$o"]}"#, #"{"$cmp": ["$i", "$d"]}"#,
        #"{"$cmp": ["$s", "$u"]}"#, #"{"$gte": ["$dt", {"$date": "2000-01-01T00:00:00Z"}]}"#, #"{"$ne": ["$a", [1, 2, 3]]}"#,
        #"{"$lt": ["$d", 0]}"#, #"{"$cmp": ["$l", "$d"]}"#, #"{"$eq": ["$o", {"x": 1, "y": "z"}]}"#,
        #"{"$and": ["$i", "$b"]}"#, #"{"$or": ["$n", "$b", 0]}"#, #"{"$not": "$d"}"#, #"{"$and": []}"#, #"{"$not": ["$a"]}"#,
        #"{"$cond": [{"$gt": ["$i", 2]}, "big", "small"]}"#, #"{"$cond": {"if": "$b", "then": "$s", "else": "$missing"}}"#,
        #"{"$ifNull": ["$n", "$missing", "dflt"]}"#, #"{"$ifNull": ["$missing", "$n"]}"#, #"{"$ifNull": ["$s", "x"]}"#,
        #"{"$switch": {"branches": [{"case": {"$lt": ["$i", 0]}, "then": "neg"}, {"case": {"$eq": ["$i", 0]}, "then": "zero"}], "default": "pos"}}"#,
        #"{"$switch": {"branches": [{"case": {"$lt": ["$i", 0]}, "then": "neg"}]}}"#,
        // strings
        #"{"$concat": ["$s", "-", "$g"]}"#, #"{"$concat": ["$s", "$i"]}"#, #"{"$concat": []}"#,
        #"{"$toLower": "$s"}"#, #"{"$toUpper": "$u"}"#, #"{"$toLower": "$i"}"#, #"{"$toUpper": "$d"}"#, #"{"$toLower": "$dt"}"#,
        #"{"$toUpper": "$n"}"#, #"{"$substr": ["$s", 1, 3]}"#, #"{"$substrBytes": ["$u", 0, 2]}"#, #"{"$substrCP": ["$u", 1, 3]}"#,
        #"{"$substrCP": ["$s", 0, 100]}"#, #"{"$substrBytes": ["$s", 2, -1]}"#, #"{"$strLenBytes": "$u"}"#, #"{"$strLenCP": "$u"}"#,
        #"{"$strLenCP": "$s"}"#, #"{"$split": ["$s", ","]}"#, #"{"$split": ["$s", "l"]}"#, #"{"$trim": {"input": "$u"}}"#,
        #"{"$ltrim": {"input": "$s", "chars": "hM"}}"#, #"{"$rtrim": {"input": "$s", "chars": "o3 "}}"#,
        #"{"$indexOfBytes": ["$s", "l"]}"#, #"{"$indexOfCP": ["$u", "w"]}"#, #"{"$indexOfCP": ["$s", "l", 3]}"#,
        #"{"$indexOfBytes": ["$s", "", 2, 1]}"#, #"{"$strcasecmp": ["$s", "HELLO"]}"#,
        #"{"$regexMatch": {"input": "$s", "regex": "^h"}}"#, #"{"$regexMatch": {"input": "$s", "regex": "O", "options": "i"}}"#,
        #"{"$regexFind": {"input": "$s", "regex": "(l+)(x)?"}}"#, #"{"$regexFindAll": {"input": "$s", "regex": "[a-z]"}}"#,
        #"{"$regexFindAll": {"input": "$u", "regex": "\\w+"}}"#, #"{"$regexFindAll": {"input": "$s", "regex": "x*"}}"#,
        #"{"$regexFind": {"input": "$u", "regex": "ö|日"}}"#, #"{"$regexMatch": {"input": "$i", "regex": "a"}}"#,
        #"{"$replaceOne": {"input": "$s", "find": "l", "replacement": "L"}}"#,
        #"{"$replaceAll": {"input": "$s", "find": "l", "replacement": "[$0]"}}"#,
        #"{"$replaceAll": {"input": "$s", "find": "", "replacement": "-"}}"#,
        // arrays
        #"{"$size": "$a"}"#, #"{"$size": "$tags"}"#, #"{"$arrayElemAt": ["$a", 0]}"#, #"{"$arrayElemAt": ["$a", -1]}"#,
        #"{"$arrayElemAt": ["$a", 10]}"#, #"{"$first": "$a"}"#, #"{"$last": "$a"}"#, #"{"$in": [2, "$a"]}"#, #"{"$in": ["$i", [5, 0, 7]]}"#,
        #"{"$indexOfArray": ["$a", 2]}"#, #"{"$indexOfArray": ["$tags", "red", 1]}"#, #"{"$concatArrays": ["$a", "$tags"]}"#,
        #"{"$concatArrays": ["$a", [1]]}"#, #"{"$filter": {"input": "$a", "cond": {"$gt": ["$$this", 1]}}}"#,
        #"{"$filter": {"input": "$a", "as": "x", "cond": {"$isNumber": "$$x"}, "limit": 1}}"#,
        #"{"$map": {"input": "$a", "in": {"$multiply": ["$$this", 2]}}}"#, #"{"$map": {"input": "$arr", "as": "e", "in": "$$e.x"}}"#,
        #"{"$reduce": {"input": "$a", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}"#,
        #"{"$reduce": {"input": "$tags", "initialValue": "", "in": {"$concat": ["$$value", "$$this"]}}}"#,
        #"{"$slice": ["$a", 2]}"#, #"{"$slice": ["$a", -2]}"#, #"{"$slice": ["$a", 1, 1]}"#, #"{"$slice": ["$a", -5, 2]}"#,
        #"{"$reverseArray": "$a"}"#, #"{"$range": [0, "$w"]}"#, #"{"$range": [10, 0, -3]}"#, #"{"$isArray": "$a"}"#,
        #"{"$zip": {"inputs": ["$a", "$tags"]}}"#, #"{"$zip": {"inputs": ["$a", "$tags"], "useLongestLength": true, "defaults": [0, "none"]}}"#,
        #"{"$sortArray": {"input": "$a", "sortBy": 1}}"#, #"{"$sortArray": {"input": "$arr", "sortBy": {"x": -1}}}"#,
        #"{"$arrayToObject": [[["k1", 1], ["k2", "$s"]]]}"#, #"{"$objectToArray": "$o"}"#,
        #"{"$arrayToObject": {"$objectToArray": "$o"}}"#, #"{"$firstN": {"input": "$a", "n": 2}}"#, #"{"$lastN": {"input": "$a", "n": 2}}"#,
        #"{"$maxN": {"input": "$a", "n": 2}}"#, #"{"$minN": {"input": "$a", "n": 2}}"#,
        "\"$arr.x\"", "\"$o.x.deep\"", "\"$a.k\"", "\"$o.x\"", "\"$$ROOT.o.y\"", "\"$$CURRENT.s\"",
        // sets
        #"{"$setUnion": ["$a", "$tags"]}"#, #"{"$setIntersection": ["$tags", ["red", "blue"]]}"#,
        #"{"$setDifference": ["$tags", ["red"]]}"#, #"{"$setEquals": ["$tags", ["blue", "red"]]}"#,
        #"{"$setIsSubset": ["$tags", ["red", "blue", "green"]]}"#, #"{"$anyElementTrue": ["$a"]}"#, #"{"$allElementsTrue": ["$a"]}"#,
        // objects
        #"{"$mergeObjects": ["$o", {"added": 1}]}"#, #"{"$mergeObjects": [{"x": 0, "q": 1}, "$o", "$n"]}"#,
        #"{"$getField": "s"}"#, #"{"$getField": {"field": "x", "input": "$o"}}"#, #"{"$getField": {"field": "x", "input": "$missing"}}"#,
        #"{"$setField": {"field": "x", "input": "$o", "value": 42}}"#, #"{"$setField": {"field": "new", "input": "$o", "value": "$$REMOVE"}}"#,
        // types
        #"{"$type": "$i"}"#, #"{"$type": "$missing"}"#, #"{"$type": "$dt"}"#, #"{"$isNumber": "$v"}"#,
        #"{"$toString": "$d"}"#, #"{"$toString": "$i"}"#, #"{"$toString": "$dt"}"#, #"{"$toString": "$b"}"#, #"{"$toString": "$oid"}"#,
        #"{"$toString": {"$divide": [1, 3]}}"#, #"{"$toString": 1e21}"#, #"{"$toString": 123456789012345.0}"#, #"{"$toString": 0.00001234}"#,
        #"{"$toInt": "$d"}"#, #"{"$toInt": "$x"}"#, #"{"$toLong": "$dt"}"#, #"{"$toDouble": "$x"}"#, #"{"$toDouble": "$dt"}"#,
        #"{"$toBool": "$i"}"#, #"{"$toBool": "$s"}"#, #"{"$toDate": "$l"}"#, #"{"$toDate": "$s"}"#, #"{"$toObjectId": "$s"}"#,
        #"{"$convert": {"input": "$x", "to": "int", "onError": -1, "onNull": -2}}"#,
        #"{"$convert": {"input": "$s", "to": "double", "onError": "bad"}}"#, #"{"$convert": {"input": "$i", "to": 2}}"#,
        #"{"$convert": {"input": "$b", "to": "bool"}}"#, #"{"$convert": {"input": "$missing", "to": "int"}}"#,
        // dates
        #"{"$year": "$dt"}"#, #"{"$month": "$dt"}"#, #"{"$dayOfMonth": "$dt"}"#, #"{"$hour": "$dt"}"#, #"{"$minute": "$dt"}"#,
        #"{"$second": "$dt"}"#, #"{"$millisecond": "$dt"}"#, #"{"$dayOfYear": "$dt"}"#, #"{"$dayOfWeek": "$dt"}"#, #"{"$week": "$dt"}"#,
        #"{"$isoWeek": "$dt"}"#, #"{"$isoWeekYear": "$dt"}"#, #"{"$isoDayOfWeek": "$dt"}"#,
        #"{"$hour": {"date": "$dt", "timezone": "America/New_York"}}"#, #"{"$dayOfMonth": {"date": "$dt", "timezone": "+05:30"}}"#,
        #"{"$year": {"date": "$dt", "timezone": "Asia/Tokyo"}}"#, #"{"$minute": {"date": "$dt", "timezone": "-0330"}}"#,
        #"{"$dateToString": {"date": "$dt"}}"#, #"{"$dateToString": {"date": "$dt", "format": "%Y/%m/%d %H:%M:%S.%L %j %w %u %U %V %G"}}"#,
        #"{"$dateToString": {"date": "$dt", "format": "%d.%m.%Y %z %Z", "timezone": "Europe/Berlin"}}"#,
        #"{"$dateToString": {"date": "$dt", "timezone": "+02:00"}}"#, #"{"$dateToString": {"date": "$missing", "onNull": "none"}}"#,
        #"{"$dateFromString": {"dateString": "$s", "onError": "bad"}}"#,
        #"{"$dateFromString": {"dateString": "2021-03-14T10:00:00", "timezone": "America/New_York"}}"#,
        #"{"$dateFromString": {"dateString": "2021-03-14T10:00:00.5+0100"}}"#,
        #"{"$dateFromString": {"dateString": "14/03/2021 10:20", "format": "%d/%m/%Y %H:%M"}}"#,
        #"{"$dateFromParts": {"year": 2021, "month": 14, "day": 0}}"#,
        #"{"$dateFromParts": {"year": 2020, "month": 3, "day": 8, "hour": 2, "minute": 30, "timezone": "America/New_York"}}"#,
        #"{"$dateFromParts": {"isoWeekYear": 2021, "isoWeek": 1, "isoDayOfWeek": 1}}"#,
        #"{"$dateToParts": {"date": "$dt"}}"#, #"{"$dateToParts": {"date": "$dt", "iso8601": true, "timezone": "Asia/Kolkata"}}"#,
        #"{"$dateTrunc": {"date": "$dt", "unit": "month"}}"#, #"{"$dateTrunc": {"date": "$dt", "unit": "week"}}"#,
        #"{"$dateTrunc": {"date": "$dt", "unit": "week", "startOfWeek": "monday"}}"#,
        #"{"$dateTrunc": {"date": "$dt", "unit": "hour", "binSize": 6, "timezone": "+05:30"}}"#,
        #"{"$dateTrunc": {"date": "$dt", "unit": "day", "timezone": "America/New_York"}}"#,
        #"{"$dateTrunc": {"date": "$dt", "unit": "quarter", "binSize": 2}}"#, #"{"$dateTrunc": {"date": "$dt", "unit": "year", "binSize": 5}}"#,
        #"{"$dateTrunc": {"date": "$dt", "unit": "minute", "binSize": 15}}"#,
        #"{"$dateAdd": {"startDate": "$dt", "unit": "month", "amount": 1}}"#, #"{"$dateAdd": {"startDate": "$dt", "unit": "day", "amount": -40}}"#,
        #"{"$dateAdd": {"startDate": "$dt", "unit": "year", "amount": 1, "timezone": "Europe/London"}}"#,
        #"{"$dateAdd": {"startDate": "$dt", "unit": "hour", "amount": 30}}"#, #"{"$dateSubtract": {"startDate": "$dt", "unit": "quarter", "amount": 1}}"#,
        #"{"$dateDiff": {"startDate": {"$date": "2000-01-01T00:00:00Z"}, "endDate": "$dt", "unit": "day"}}"#,
        #"{"$dateDiff": {"startDate": {"$date": "2000-01-01T00:00:00Z"}, "endDate": "$dt", "unit": "week"}}"#,
        #"{"$dateDiff": {"startDate": {"$date": "2000-01-01T00:00:00Z"}, "endDate": "$dt", "unit": "month"}}"#,
        #"{"$dateDiff": {"startDate": "$dt", "endDate": {"$date": "2021-06-01T00:00:00Z"}, "unit": "hour", "timezone": "America/New_York"}}"#,
        #"{"$dateDiff": {"startDate": "$dt", "endDate": {"$date": "2021-06-01T00:00:00Z"}, "unit": "quarter"}}"#,
        // variables, literals, objects
        #"{"$let": {"vars": {"x": "$i", "y": {"$multiply": ["$i", 2]}}, "in": {"$add": ["$$x", "$$y"]}}}"#,
        #"{"$literal": "$notAPath"}"#, #"{"k": "$s", "m": "$missing", "n": {"$add": ["$i", 1]}}"#, #"["$i", "$missing", 1]"#,
        #"{"$sum": "$a"}"#, #"{"$sum": ["$i", "$d", "$l"]}"#, #"{"$avg": "$a"}"#, #"{"$avg": ["$i", "$d"]}"#, #"{"$max": "$a"}"#,
        #"{"$min": ["$i", "$n", "$s"]}"#, #"{"$stdDevPop": "$a"}"#, #"{"$stdDevSamp": [1, 2, 3, 4]}"#,
        "\"$$REMOVE\"", #"{"$cond": ["$b", "$$REMOVE", "kept"]}"#,
        #"{"$median": {"input": "$a", "method": "approximate"}}"#, #"{"$percentile": {"input": "$a", "p": [0.25, 0.75, 1], "method": "approximate"}}"#,
        #"{"$percentile": {"input": ["$i", "$d", "$l", "$n"], "p": [0, 0.5], "method": "approximate"}}"#, #"{"$median": {"input": "$d", "method": "approximate"}}"#,
    ]

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
