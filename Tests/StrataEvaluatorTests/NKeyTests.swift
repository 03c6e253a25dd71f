import StrataEvaluator
import XCTest

/// The N-accumulators with an `n` that depends on the group: mongod evaluates `n` once per
/// group with the group key as the root document (GroupProcessor: `initializer->evaluate(idDoc)`,
/// `idDoc` the `_id` when it is a document, else empty), so `"$gameId"` in `n` reads `_id.gameId`.
final class NKeyTests: XCTestCase {
    /// docs: reference/operator/aggregation/firstN, "Computing n Based on the Group Key for $group".
    static let gamescores: [Document] = [
        ["_id": 1, "playerId": "PlayerA", "gameId": "G1", "score": 31], ["_id": 2, "playerId": "PlayerB", "gameId": "G1", "score": 33],
        ["_id": 3, "playerId": "PlayerC", "gameId": "G1", "score": 99], ["_id": 4, "playerId": "PlayerD", "gameId": "G1", "score": 1],
        ["_id": 5, "playerId": "PlayerA", "gameId": "G2", "score": 10], ["_id": 6, "playerId": "PlayerB", "gameId": "G2", "score": 14],
        ["_id": 7, "playerId": "PlayerC", "gameId": "G2", "score": 66], ["_id": 8, "playerId": "PlayerD", "gameId": "G2", "score": 80],
    ]
    static let n = #"{"$cond": {"if": {"$eq": ["$gameId", "G2"]}, "then": 1, "else": 3}}"#

    /// (accumulator, expected G1, expected G2). The $firstN row is the page's printed output;
    /// the others apply the same `n` to the same data (G2 keeps one value, G1 three).
    static let cases: [(String, BSON, BSON)] = [
        (#"{"$firstN": {"input": "$score", "n": N}}"#, [31, 33, 99], [10]),
        (#"{"$lastN": {"input": "$score", "n": N}}"#, [33, 99, 1], [80]),
        (#"{"$maxN": {"input": ["$score", "$playerId"], "n": N}}"#, [[99, "PlayerC"], [33, "PlayerB"], [31, "PlayerA"]], [[80, "PlayerD"]]),
        (#"{"$minN": {"input": "$score", "n": N}}"#, [1, 31, 33], [10]),
        (#"{"$topN": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}, "n": N}}"#,
         [["PlayerC", 99], ["PlayerB", 33], ["PlayerA", 31]], [["PlayerD", 80]]),
        (#"{"$bottomN": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}, "n": N}}"#,
         [["PlayerB", 33], ["PlayerA", 31], ["PlayerD", 1]], [["PlayerA", 10]]),
    ]

    func group(_ acc: String) -> Document {
        JD(#"{"_id": {"gameId": "$gameId"}, "gamescores": "# + acc.replacingOccurrences(of: "N}", with: Self.n + "}") + "}")
    }

    func expected(_ g1: BSON, _ g2: BSON) -> [String: BSON] { ["G1": g1, "G2": g2] }

    func byGame(_ rows: [Document]) -> [String: BSON] {
        var out: [String: BSON] = [:]
        for r in rows { if case .document(let id)? = r["_id"], case .string(let g)? = id["gameId"] { out[g] = r["gamescores"] } }
        return out
    }

    func testSwiftEvaluatesNAgainstTheGroupKey() throws {
        for (acc, g1, g2) in Self.cases {
            let rows = try PipelineExecutor(try Pipeline.parse([["$sort": ["_id": 1]], ["$group": .document(group(acc))]])).run(Self.gamescores)
            XCTAssertEqual(byGame(rows), expected(g1, g2), acc)
        }
        // a key that is not a document: "$gameId" reads nothing, so n is 3 for both
        let rows = try PipelineExecutor(try Pipeline.parse(J(#"[{"$group": {"_id": "$gameId", "f": {"$firstN": {"input": "$score", "n": {"$cond": [{"$eq": ["$gameId", "G2"]}, 1, 3]}}}}}, {"$sort": {"_id": 1}}]"#).arrayValue!)).run(Self.gamescores)
        XCTAssertEqual(rows.map { $0["f"]! }, [[31, 33, 99], [10, 14, 66]])
        // n must be a positive integer, evaluated per group
        XCTAssertThrowsError(try PipelineExecutor(try Pipeline.parse(J(#"[{"$group": {"_id": {"g": "$gameId"}, "f": {"$firstN": {"input": "$score", "n": {"$cond": [{"$eq": ["$g", "G2"]}, 0, 3]}}}}}]"#).arrayValue!)).run(Self.gamescores)) {
            XCTAssertTrue("\($0)".contains("'n' must be greater than 0, found 0"), "\($0)")
        }
        XCTAssertThrowsError(try PipelineExecutor(try Pipeline.parse(J(#"[{"$group": {"_id": {"g": "$gameId"}, "f": {"$maxN": {"input": "$score", "n": "$g"}}}}]"#).arrayValue!)).run(Self.gamescores)) {
            XCTAssertTrue("\($0)".contains("Value for 'n' must be of integral type"), "\($0)")
        }
    }

    /// Partial groups on the server over slices, merged in Swift: the partial ships every input
    /// when `n` reads the key, so the answer does not depend on the server's reading of `n`.
    func testGroupSplitWithKeyDependentN() throws {
        let fx = try ServerFixture.get()
        let coll = try fx.collection("gamescores_n", Self.gamescores)
        for (acc, g1, g2) in Self.cases {
            let split = try GroupSplit(try Group.parse(group(acc), at: Location(path: "g")))
            let merger = split.makeMerger()
            for (lo, hi) in [(0, 3), (3, 6), (6, 9)] {
                let rows = try coll.aggregateAll([["$match": ["_id": ["$gte": .int32(Int32(lo)), "$lt": .int32(Int32(hi))]]],
                                                  ["$sort": ["_id": 1]], ["$group": .document(split.partialGroup)]])
                for r in rows { try merger.add(r) }
            }
            XCTAssertEqual(byGame(try merger.finish()), expected(g1, g2), acc)
            // the server's own single pass, for the record (SecantusDB agrees where it reads n as mongod)
            let full = try coll.aggregateAll([["$sort": ["_id": 1]], ["$group": .document(group(acc))]])
            if byGame(full) != expected(g1, g2) { print("note: SecantusDB differs from mongod on \(acc): \(byGame(full))") }
        }
    }
}
