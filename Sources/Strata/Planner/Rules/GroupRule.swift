/// A `$group` (or a stage that is one underneath: `$count`, `$sortByCount`,
/// `$bucket`) split the way a sharded cluster splits it: every branch groups
/// its own documents into partial states, the merger combines the partial
/// states per group key in Swift and finalises them.
struct GroupPlan: Sendable {
    /// The group key, over the newest schema.
    var key: Expr
    /// Output field names and accumulators, in the stage's order.
    var accumulators: [(name: String, spec: AccumulatorSpec)]
    /// Stages that follow the group in the merger (from desugaring, e.g. `$sortByCount`'s `$sort`).
    var post: [BSON]
    /// Where the stage is, for messages.
    var location: Location

    /// Accumulators whose partial states merge without knowing the input order.
    static let orderInsensitive: Set<String> = ["$sum", "$count", "$avg", "$min", "$max", "$stdDevPop", "$stdDevSamp",
                                                "$addToSet", "$top", "$bottom", "$topN", "$bottomN", "$maxN", "$minN"]

    /// True when every accumulator merges without knowing the input order.
    var isOrderInsensitive: Bool { accumulators.allSatisfy { Self.orderInsensitive.contains($0.spec.op) } }

    /// The accumulators that need their input order ($first, $push...).
    var orderSensitiveOperators: [String] { accumulators.map(\.spec.op).filter { !Self.orderInsensitive.contains($0) } }

    /// `$group`, `$count`, `$sortByCount`, `$bucket` as a group plan (desugared as mongod
    /// does); nil for other stages.
    static func make(_ stage: PipelineStages.Stage) -> GroupPlan? {
        let loc = stage.location
        switch stage.parsed {
        case .group(let g):
            return GroupPlan(key: g.id, accumulators: g.accumulators.map { (name: $0.0, spec: $0.1) }, post: [], location: loc)
        case .count(let field):
            return GroupPlan(key: .literal(.null), accumulators: [(field, AccumulatorSpec(op: "$sum", argument: .literal(.int32(1))))],
                             post: [["$project": .document(Document([("_id", .int32(0)), (field, .int32(1))]))]], location: loc)
        case .sortByCount(let key):
            return GroupPlan(key: key, accumulators: [("count", AccumulatorSpec(op: "$sum", argument: .literal(.int32(1))))],
                             post: [["$sort": ["count": -1]]], location: loc)
        case .bucket(let b):
            return bucket(b, at: loc)
        default:
            return nil
        }
    }

    /// `$bucket` is `$group` by a `$switch` over the boundaries, then `$sort` by `_id`.
    static func bucket(_ b: Bucket, at loc: Location) -> GroupPlan {
        var branches: [Expr] = []
        for i in 0..<(b.boundaries.count - 1) {
            let cond = Expr.op("$and", .positional([
                .op("$gte", .positional([b.groupBy, .literal(b.boundaries[i])])),
                .op("$lt", .positional([b.groupBy, .literal(b.boundaries[i + 1])])),
            ]))
            branches.append(.object([("case", cond), ("then", .literal(b.boundaries[i]))]))
        }
        var switchArgs: [(String, Expr)] = [("branches", .array(branches))]
        if let d = b.defaultBucket { switchArgs.append(("default", .literal(d))) }
        return GroupPlan(key: .op("$switch", .named(switchArgs)), accumulators: b.effectiveOutput.map { (name: $0.0, spec: $0.1) },
                         post: [["$sort": ["_id": 1]]], location: loc)
    }
}

/// Work-arounds for servers that are not mongod, each harmless on mongod.
enum ServerQuirks {
    /// SecantusDB 0.7.0b3 folds a constant accumulator argument and then misreads
    /// the accumulator as the expression of the same name ("Input must be an array"
    /// for `$maxN`, "Unrecognized expression '$addToSet'"); a translation can turn a
    /// field into a constant (the version field, a default). A field that never exists
    /// keeps it from folding (`$ifNull` of a missing field is the constant).
    static func unfoldable(_ e: Expr) -> Expr {
        .op("$ifNull", .positional([.fieldPath(["__strata_never_present"]), e]))
    }
}

enum GroupRule {
    /// The group as the merger sees it (over the newest schema): the evaluator's
    /// split of it defines the partial rows every branch sends and merges them.
    static func mergeSplit(_ plan: GroupPlan) throws -> GroupSplit {
        try GroupSplit(Group(id: plan.key, accumulators: plan.accumulators.map { ($0.name, $0.spec) }))
    }

    /// The branch's partial `$group`: the same split with every expression written
    /// for the branch's documents by `translate`, sort keys by `translateSort`
    /// (nil when something does not translate). The partial rows have the same
    /// fields as the merge split's.
    static func partial(_ plan: GroupPlan, translate: (Expr) -> Expr?, translateSort: (SortPattern) -> SortPattern?) -> BSON? {
        guard let key = translate(plan.key) else { return nil }
        var accumulators: [(String, AccumulatorSpec)] = []
        for (name, spec) in plan.accumulators {
            guard var arg = translate(spec.argument) else { return nil }
            if arg.fieldPaths.isEmpty && !arg.usesRoot && spec.op != "$sum" && spec.op != "$count" {
                arg = ServerQuirks.unfoldable(arg)
            }
            var n: Expr?
            if let nExpr = spec.n {
                guard let t = translate(nExpr) else { return nil }
                n = t
            }
            var sortBy: SortPattern?
            if let s = spec.sortBy {
                guard let t = translateSort(s) else { return nil }
                sortBy = t
            }
            accumulators.append((name, AccumulatorSpec(op: spec.op, argument: arg, n: n, sortBy: sortBy)))
        }
        guard let split = try? GroupSplit(Group(id: key, accumulators: accumulators)) else { return nil }
        return ["$group": .document(split.partialGroup)]
    }
}
