import StrataBSON
import StrataEvaluator

extension Lens {
    /// Aggregation stages that upgrade documents stored at `version` to `target`
    /// (default: the newest) on the server, or `nil` when some operation on the
    /// way can only run in Swift (see `serverUpgradeObstacle(from:)`).
    package func serverUpgradeStages(from version: Int, to target: Int? = nil) -> [BSON]? {
        var stages: [BSON] = []
        for op in operations(from: version, to: target) {
            guard let s = op.serverStages else { return nil }
            stages += s
        }
        return stages
    }

    /// The first operation between `version` and the newest that cannot run on the server.
    package func serverUpgradeObstacle(from version: Int) -> (any LensOperation)? {
        operations(from: version).first { $0.serverStages == nil }
    }


    /// True when upgrading from `version` changes `_id`.
    package func changesPrimaryKey(from version: Int) -> Bool {
        operations(from: version).contains { $0.changesPrimaryKey }
    }
}
