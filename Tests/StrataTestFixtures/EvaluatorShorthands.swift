import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import XCTest

// The evaluator tests' shorthands, here so that the server tests (StrataServerTests) share them.

/// Parses relaxed Extended JSON (`{"$numberLong": "1"}`, `{"$date": ...}`...). libbson reads
/// `{"$type": ...}` as legacy binary syntax, so the query operator is carried through a
/// placeholder key.
public func J(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> BSON {
    do { return restoreType(try ExtendedJSON.parseValue(text.replacingOccurrences(of: "\"$type\"", with: "\"__type__\""))) } catch {
        XCTFail("bad JSON \(text): \(error)", file: file, line: line)
        return .null
    }
}

public func JD(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Document {
    guard case .document(let d) = J(text, file: file, line: line) else { return [:] }
    return d
}

private func restoreType(_ v: BSON) -> BSON {
    switch v {
    case .document(let d): return .document(Document(d.map { ($0.key == "__type__" ? "$type" : $0.key, restoreType($0.value)) }))
    case .array(let a): return .array(a.map(restoreType))
    default: return v
    }
}

public func show(_ v: BSON?) -> String { v.map { ExtendedJSON.string($0, mode: .canonical) } ?? "(missing)" }

public func ev(_ expr: String, _ doc: Document = [:], file: StaticString = #filePath, line: UInt = #line) throws -> BSON? {
    let e = try Expr.parse(J(expr, file: file, line: line))
    return try Evaluator().evaluate(e, doc, Variables(now: 0))
}

/// The documents of the differential tests: every BSON type the analytics pipelines meet,
/// with nulls, missing fields, arrays (of scalars, documents, arrays), nested documents,
/// dates before and after the epoch, non-ASCII strings, int/long/double mixes and edges.
public enum Fixture {
    public static let docs: [Document] = [
        JD(#"{"_id": 1, "i": 5, "l": {"$numberLong": "7"}, "d": 2.5, "s": "hello", "n": null, "a": [1, 2, 3], "o": {"x": 1, "y": "z"}, "dt": {"$date": "2021-03-14T15:09:26.535Z"}, "b": true, "u": "héllo wörld ñ 日本", "tags": ["red", "blue"], "arr": [{"x": 1, "y": 2}, {"x": 5}], "g": "A", "v": 10, "w": 3}"#),
        JD(#"{"_id": 2, "i": -3, "l": {"$numberLong": "-9000000000"}, "d": -0.5, "s": "World", "a": [], "o": {"x": 2}, "dt": {"$date": "1969-07-20T20:17:40Z"}, "b": false, "u": "Ωmega", "tags": [], "arr": [{"x": 1}, {"x": 2}, {"y": 3}], "g": "B", "v": 20.5, "w": -1}"#),
        JD(#"{"_id": 3, "i": 0, "l": {"$numberLong": "0"}, "d": 0.1, "s": "", "n": null, "a": [null, "a", 2.5, {"k": 1}], "o": {}, "dt": {"$date": "2000-02-29T23:59:59.999Z"}, "b": null, "tags": ["blue"], "arr": [], "g": "A", "v": {"$numberLong": "30"}, "w": 0}"#),
        JD(#"{"_id": 4, "g": null}"#),
        JD(#"{"_id": 5, "i": 2147483647, "l": {"$numberLong": "9223372036854775807"}, "d": 1e300, "s": "MiXeD Case 123", "a": [[1, 2], [3]], "o": {"x": {"deep": [1, {"z": 9}]}}, "dt": {"$date": "2024-12-31T23:30:00Z"}, "b": 1, "u": "a\u00e9\u0301b", "tags": ["green", "red", "red"], "arr": [{"x": [1, 2]}, {"x": {"y": 1}}], "g": "C", "v": -5, "w": 7}"#),
        JD(#"{"_id": 6, "i": 10, "l": {"$numberLong": "-1"}, "d": 0.2, "s": "a,b,,c", "a": [3, 1, 2], "o": {"x": null}, "dt": {"$date": "2021-01-03T00:00:00Z"}, "b": 0, "u": " padded \t", "tags": ["Red"], "arr": [{"x": null}], "g": "B", "v": 1.5, "w": 2}"#),
        JD(#"{"_id": 7, "i": -2147483648, "d": {"$numberDouble": "NaN"}, "s": "2021-05-06", "a": [5], "dt": {"$date": "2020-03-08T07:00:00Z"}, "g": "C", "v": null, "w": 4, "x": "12"}"#),
        JD(#"{"_id": 8, "i": 3, "d": {"$numberDouble": "-Infinity"}, "s": "x", "a": [1, [2, [3]]], "o": {"y": 1, "x": 3}, "dt": {"$date": "2021-11-07T05:30:00Z"}, "g": "A", "v": 2, "w": 3, "x": "4.5e2"}"#),
        JD(#"{"_id": 9, "i": 7, "l": {"$numberLong": "123456789012"}, "d": -7.75, "s": "Straße", "a": ["b", "a", "c"], "o": {"x": [1, 2]}, "dt": {"$date": "1999-12-31T23:59:59.999Z"}, "g": "B", "v": 7, "w": 1.25, "x": "abc", "oid": {"$oid": "5f1d7a2b9c8e4a0012345678"}}"#),
        JD(#"{"_id": 10, "i": 1, "d": 1.0, "s": "1", "a": [1.0, 1, {"$numberLong": "1"}], "dt": {"$date": "2016-02-29T12:00:00Z"}, "g": "D", "v": 3, "w": 3, "x": "-17"}"#),
    ]
}
