import StrataBSON
/// How a stage runs when its input arrives in slices — the documents stored at each
/// version, as a sharded collection's documents sit on its shards. Each stage answers
/// for itself, as MongoDB's `distributedPlanLogic()` does (sharded_agg_helpers.cpp):
/// what each slice may run of it, and what the merger runs.
package enum DistributedPlan: Sendable, Equatable {
    /// Document by document: each slice runs the stage on its own documents, and the
    /// slices' outputs together are the stage's output.
    case perDocument
    /// A group: each slice runs the partial `$group` of `GroupSplit(group)` (the shards
    /// part), the merger folds the partial rows per key (`GroupMerger`) and then runs
    /// `merging` (the merging part, as mongod desugars the stage: e.g. `$sortByCount`'s
    /// `{$sort: {count: -1}}`).
    case group(Group, merging: [BSON])
    /// Each sub-pipeline is its own query over the same input.
    case facets
    /// The stage needs its whole input in one place (the merger runs it). `sortedBy`: the
    /// order it puts its input in, which slices could produce each on their own for the
    /// merger to interleave (exact only when no two documents tie: the planner decides).
    case merger(sortedBy: SortPattern?)
}

extension Stage {
    /// This stage's distributed plan.
    package var distributedPlan: DistributedPlan {
        let sumOne = AccumulatorSpec(op: "$sum", argument: .literal(.int32(1)))
        switch self {
        case .match, .project, .addFields, .unset, .replaceRoot, .unwind, .lookup, .redact, .graphLookup:
            return .perDocument
        case .group(let g):
            return .group(g, merging: [])
        case .count(let field):
            // mongod's desugaring: {$group: {_id: null, field: {$sum: 1}}}, {$project: {_id: 0, field: 1}}
            return .group(Group(id: .literal(.null), accumulators: [(field, sumOne)]),
                          merging: [["$project": .document(Document([("_id", .int32(0)), (field, .int32(1))]))]])
        case .sortByCount(let key):
            // {$group: {_id: key, count: {$sum: 1}}}, {$sort: {count: -1}}
            return .group(Group(id: key, accumulators: [("count", sumOne)]),
                          merging: [["$sort": ["count": -1]]])
        case .bucket(let b):
            // {$group: {_id: {$switch: boundaries...}, ...output}}, {$sort: {_id: 1}}
            return .group(Group(id: b.bucketKey, accumulators: b.effectiveOutput),
                          merging: [["$sort": ["_id": 1]]])
        case .facet:
            return .facets
        case .sort(let p):
            return .merger(sortedBy: p)
        case .skip, .limit, .bucketAuto, .unionWith, .documents, .setWindowFields, .densify, .fill, .sample:
            return .merger(sortedBy: nil)
        }
    }

    /// True for stages that need all their input before they can emit (or that cut the
    /// stream globally): where the per-slice part of a pipeline ends.
    package var isBlocking: Bool { distributedPlan != .perDocument }
}

extension Bucket {
    /// The group key `$bucket` is underneath: a `$switch` from `groupBy` to the lower
    /// boundary of its bucket (or `default`).
    package var bucketKey: Expr {
        var branches: [Expr] = []
        for i in 0..<(boundaries.count - 1) {
            let cond = Expr.op("$and", .positional([
                .op("$gte", .positional([groupBy, .literal(boundaries[i])])),
                .op("$lt", .positional([groupBy, .literal(boundaries[i + 1])])),
            ]))
            branches.append(.object([("case", cond), ("then", .literal(boundaries[i]))]))
        }
        var switchArgs: [(String, Expr)] = [("branches", .array(branches))]
        if let d = defaultBucket { switchArgs.append(("default", .literal(d))) }
        return .op("$switch", .named(switchArgs))
    }
}
