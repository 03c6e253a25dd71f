import StrataBSON

/// NKeyTests' data, shared with their server check (StrataServerTests): the N-accumulators with
/// an `n` that depends on the group key.
public enum NKeyCases {
    /// docs: reference/operator/aggregation/firstN, "Computing n Based on the Group Key for $group".
    public static let gamescores: [Document] = [
        ["_id": 1, "playerId": "PlayerA", "gameId": "G1", "score": 31], ["_id": 2, "playerId": "PlayerB", "gameId": "G1", "score": 33],
        ["_id": 3, "playerId": "PlayerC", "gameId": "G1", "score": 99], ["_id": 4, "playerId": "PlayerD", "gameId": "G1", "score": 1],
        ["_id": 5, "playerId": "PlayerA", "gameId": "G2", "score": 10], ["_id": 6, "playerId": "PlayerB", "gameId": "G2", "score": 14],
        ["_id": 7, "playerId": "PlayerC", "gameId": "G2", "score": 66], ["_id": 8, "playerId": "PlayerD", "gameId": "G2", "score": 80],
    ]
    public static let n = #"{"$cond": {"if": {"$eq": ["$gameId", "G2"]}, "then": 1, "else": 3}}"#

    /// (accumulator, expected G1, expected G2). The $firstN row is the page's printed output;
    /// the others apply the same `n` to the same data (G2 keeps one value, G1 three).
    public static let cases: [(String, BSON, BSON)] = [
        (#"{"$firstN": {"input": "$score", "n": N}}"#, [31, 33, 99], [10]),
        (#"{"$lastN": {"input": "$score", "n": N}}"#, [33, 99, 1], [80]),
        (#"{"$maxN": {"input": ["$score", "$playerId"], "n": N}}"#, [[99, "PlayerC"], [33, "PlayerB"], [31, "PlayerA"]], [[80, "PlayerD"]]),
        (#"{"$minN": {"input": "$score", "n": N}}"#, [1, 31, 33], [10]),
        (#"{"$topN": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}, "n": N}}"#,
         [["PlayerC", 99], ["PlayerB", 33], ["PlayerA", 31]], [["PlayerD", 80]]),
        (#"{"$bottomN": {"output": ["$playerId", "$score"], "sortBy": {"score": -1}, "n": N}}"#,
         [["PlayerB", 33], ["PlayerA", 31], ["PlayerD", 1]], [["PlayerA", 10]]),
    ]

    public static func group(_ acc: String) -> Document {
        JD(#"{"_id": {"gameId": "$gameId"}, "gamescores": "# + acc.replacingOccurrences(of: "N}", with: n + "}") + "}")
    }

    public static func expected(_ g1: BSON, _ g2: BSON) -> [String: BSON] { ["G1": g1, "G2": g2] }

    public static func byGame(_ rows: [Document]) -> [String: BSON] {
        var out: [String: BSON] = [:]
        for r in rows { if case .document(let id)? = r["_id"], case .string(let g)? = id["gameId"] { out[g] = r["gamescores"] } }
        return out
    }
}
