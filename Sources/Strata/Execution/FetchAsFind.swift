import StrataBSON
import StrataEvaluator
import StrataMongo

/// A documents branch's fetch sent as a `find` when its stages are exactly what `find`
/// does: at most one `$match`, then `$sort`, `$limit`, and an inclusion `$project`, in
/// that order (the shapes the planner writes). The answer is the same; the cost is not:
/// SecantusDB applies a find's projection as it reads each record but runs a `$project`
/// stage through its expression evaluator (200,000 events, the needed fields of each:
/// 6.5 s by `find`, 12.6 s by `aggregate`). mongod serves both alike.
///
/// Two `$match` stages stay an aggregate: SecantusDB plans an index for the first
/// stage alone, which `IndexShapeRule` relies on, and one `find` filter would join them.
enum FetchAsFind {
    static func find(_ pipeline: [BSON]) -> (filter: Document, options: FindOptions)? {
        var filter = Document()
        var options = FindOptions()
        // The position of each stage kind in the order find applies them.
        var reached = 0
        for stage in pipeline {
            guard let (name, spec) = stage.singleField else { return nil }
            let rank: Int
            switch name {
            case "$match":
                guard case .document(let f) = spec else { return nil }
                filter = f; rank = 1
            case "$sort":
                guard case .document(let s) = spec, !s.isEmpty,
                      s.values.allSatisfy({ $0.exactInt == 1 || $0.exactInt == -1 }) else { return nil }
                options.sort = s; rank = 2
            case "$limit":
                guard let n = spec.exactInt, n > 0 else { return nil }
                options.limit = n; rank = 3
            case "$project":
                guard case .document(let p) = spec, !p.isEmpty,
                      p.values.allSatisfy({ $0.exactInt == 1 || $0 == .bool(true) }) else { return nil }
                options.projection = p; rank = 4
            default:
                return nil
            }
            guard rank > reached else { return nil }
            reached = rank
        }
        if options.sort != nil { options.allowDiskUse = true }
        return (filter, options)
    }
}
