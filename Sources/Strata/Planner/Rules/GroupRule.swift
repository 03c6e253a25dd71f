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

/// How the merger reads one accumulator's partial state out of a branch's partial document.
enum PartialLayout: Sendable, Equatable {
    /// The state is the field's value as it is.
    case value(String)
    /// `$avg`: `{subTotal, count}` from two fields.
    case average(sum: String, count: String)
    /// `$stdDev*`: `{count, mean, stdDevPop}` from three fields.
    case deviation(count: String, mean: String, pop: String)
    /// `$top`/`$bottom` shipped as a one-element `$topN`: merge the element.
    case singleOfArray(String)

    func partials(_ doc: Document) -> [BSON?] {
        switch self {
        case .value(let f): return [doc[f]]
        case .average(let s, let c):
            return [.document(Document([("subTotal", doc[s] ?? .int32(0)), ("count", doc[c] ?? .int32(0))]))]
        case .deviation(let c, let m, let p):
            return [.document(Document([("count", doc[c] ?? .int32(0)), ("mean", doc[m] ?? .null), ("stdDevPop", doc[p] ?? .null)]))]
        case .singleOfArray(let f):
            guard case .array(let items)? = doc[f] else { return [] }
            return items.map { Optional($0) }
        }
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
    /// The branch's partial `$group` and how to read it, with expressions already
    /// written for the branch's documents by `translate` (nil: not translatable).
    static func partial(_ plan: GroupPlan, translate: (Expr) -> Expr?, translateSort: (SortPattern) -> SortPattern?) -> (stage: BSON, layouts: [PartialLayout])? {
        guard let key = translate(plan.key) else { return nil }
        var fields: [(String, BSON)] = [("_id", key.bson)]
        var layouts: [PartialLayout] = []
        for (i, (_, spec)) in plan.accumulators.enumerated() {
            let f = "p\(i)"
            guard let translatedArg = translate(spec.argument) else { return nil }
            let isConstant = translatedArg.fieldPaths.isEmpty && !translatedArg.usesRoot
            let arg = isConstant && spec.op != "$sum" && spec.op != "$count" ? ServerQuirks.unfoldable(translatedArg) : translatedArg
            let isNumber = Expr.op("$cond", .positional([.op("$isNumber", .positional([arg])), .literal(.int32(1)), .literal(.int32(0))]))
            switch spec.op {
            case "$sum", "$min", "$max", "$addToSet":
                fields.append((f, .document(Document([(spec.op, arg.bson)]))))
                layouts.append(.value(f))
            case "$count":
                fields.append((f, ["$sum": 1]))
                layouts.append(.value(f))
            case "$avg":
                fields.append((f, ["$sum": arg.bson]))
                fields.append((f + "n", ["$sum": isNumber.bson]))
                layouts.append(.average(sum: f, count: f + "n"))
            case "$stdDevPop", "$stdDevSamp":
                fields.append((f + "n", ["$sum": isNumber.bson]))
                fields.append((f + "m", ["$avg": arg.bson]))
                fields.append((f, ["$stdDevPop": arg.bson]))
                layouts.append(.deviation(count: f + "n", mean: f + "m", pop: f))
            case "$top", "$bottom", "$topN", "$bottomN":
                guard let sortBy = spec.sortBy, let translatedSort = translateSort(sortBy) else { return nil }
                let sortFields = Expr.array(sortBy.components.map { c in translate(.fieldPath(c.path)) ?? .literal(.null) })
                if sortBy.components.contains(where: { translate(.fieldPath($0.path)) == nil }) { return nil }
                var n: BSON = .int32(1)
                if let nExpr = spec.n {
                    guard let tn = translate(nExpr) else { return nil }
                    n = tn.bson
                }
                let op = spec.op == "$top" || spec.op == "$topN" ? "$topN" : "$bottomN"
                let output = Expr.object([("output", arg), ("sortFields", sortFields)])
                fields.append((f, .document(Document([(op, .document(Document([("n", n), ("sortBy", translatedSort.bson), ("output", output.bson)])))]))))
                layouts.append(spec.op == "$top" || spec.op == "$bottom" ? .singleOfArray(f) : .value(f))
            case "$maxN", "$minN":
                guard let nExpr = spec.n, let tn = translate(nExpr) else { return nil }
                fields.append((f, .document(Document([(spec.op, .document(Document([("n", tn.bson), ("input", arg.bson)])))]))))
                layouts.append(.value(f))
            default:
                return nil
            }
        }
        return (.document(["$group": .document(Document(fields))]), layouts)
    }
}
