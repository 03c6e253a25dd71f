import StrataEvaluator
import StrataTestFixtures
import XCTest

/// The N-accumulators with an `n` that depends on the group: mongod evaluates `n` once per
/// group with the group key as the root document (GroupProcessor: `initializer->evaluate(idDoc)`,
/// `idDoc` the `_id` when it is a document, else empty), so `"$gameId"` in `n` reads `_id.gameId`.
final class NKeyTests: XCTestCase {
    func testSwiftEvaluatesNAgainstTheGroupKey() throws {
        for (acc, g1, g2) in NKeyCases.cases {
            let rows = try PipelineExecutor(try Pipeline.parse([["$sort": ["_id": 1]], ["$group": .document(NKeyCases.group(acc))]])).run(NKeyCases.gamescores)
            XCTAssertEqual(NKeyCases.byGame(rows), NKeyCases.expected(g1, g2), acc)
        }
        // a key that is not a document: "$gameId" reads nothing, so n is 3 for both
        let rows = try PipelineExecutor(try Pipeline.parse(J(#"[{"$group": {"_id": "$gameId", "f": {"$firstN": {"input": "$score", "n": {"$cond": [{"$eq": ["$gameId", "G2"]}, 1, 3]}}}}}, {"$sort": {"_id": 1}}]"#).arrayValue!)).run(NKeyCases.gamescores)
        XCTAssertEqual(rows.map { $0["f"]! }, [[31, 33, 99], [10, 14, 66]])
        // n must be a positive integer, evaluated per group
        XCTAssertThrowsError(try PipelineExecutor(try Pipeline.parse(J(#"[{"$group": {"_id": {"g": "$gameId"}, "f": {"$firstN": {"input": "$score", "n": {"$cond": [{"$eq": ["$g", "G2"]}, 0, 3]}}}}}]"#).arrayValue!)).run(NKeyCases.gamescores)) {
            XCTAssertTrue("\($0)".contains("'n' must be greater than 0, found 0"), "\($0)")
        }
        XCTAssertThrowsError(try PipelineExecutor(try Pipeline.parse(J(#"[{"$group": {"_id": {"g": "$gameId"}, "f": {"$maxN": {"input": "$score", "n": "$g"}}}}]"#).arrayValue!)).run(NKeyCases.gamescores)) {
            XCTAssertTrue("\($0)".contains("Value for 'n' must be of integral type"), "\($0)")
        }
    }
}
