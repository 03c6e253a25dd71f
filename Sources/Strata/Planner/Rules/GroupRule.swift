import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
/// A `$group` (or a stage that is one underneath: `$count`, `$sortByCount`,
/// `$bucket`) split the way a sharded cluster splits it (`Stage.distributedPlan`):
/// every branch groups its own documents into partial states, the merger combines the
/// partial states per group key in Swift and finalises them.
struct GroupPlan: Sendable {
    /// The group key, over the newest schema.
    var key: Expr
    /// Output field names and accumulators, in the stage's order.
    var accumulators: [(name: String, spec: AccumulatorSpec)]
    /// Stages that follow the group in the merger (the stage's merging part, e.g.
    /// `$sortByCount`'s `$sort`).
    var post: [PipelineStage]
    /// Where the stage is, for messages.
    var location: Location

    /// True when every accumulator merges without knowing the input order
    /// (`AccumulatorSpec.mergesInAnyOrder`).
    var isOrderInsensitive: Bool { accumulators.allSatisfy(\.spec.mergesInAnyOrder) }

    /// The accumulators that need their input order ($first, $push...).
    var orderSensitiveOperators: [String] { accumulators.filter { !$0.spec.mergesInAnyOrder }.map(\.spec.op) }

    /// The stage's group, when its distributed plan is one; nil for other stages.
    static func make(_ stage: PipelineStage) throws -> GroupPlan? {
        guard case .group(let g, let merging) = stage.parsed.distributedPlan else { return nil }
        return GroupPlan(key: g.id, accumulators: g.accumulators.map { (name: $0.0, spec: $0.1) },
                         post: try PipelineStages.parse(merging, at: stage.location), location: stage.location)
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
    static func mergeSplit(_ plan: GroupPlan, trackSumWidth: Bool = true) throws -> GroupSplit {
        try GroupSplit(Group(id: plan.key, accumulators: plan.accumulators.map { ($0.name, $0.spec) }), trackSumWidth: trackSumWidth)
    }

    /// The branch's partial `$group`: the same split with every expression written
    /// for the branch's documents by `translate`, sort keys by `translateSort`
    /// (nil when something does not translate). The partial rows have the same
    /// fields as the merge split's.
    static func partial(_ plan: GroupPlan, trackSumWidth: Bool = true, translate: (Expr) -> Expr?,
                        translateSort: (SortPattern) -> SortPattern?) -> (stage: BSON, rawKey: RawGroupKey?)? {
        guard let translatedKey = translate(plan.key) else { return nil }
        let rawKey = RawGroupKey.make(newest: plan.key, translated: translatedKey, plan: plan)
        let key = rawKey?.serverKey ?? translatedKey
        var accumulators: [(String, AccumulatorSpec)] = []
        for (name, spec) in plan.accumulators {
            guard var arg = translate(spec.argument) else { return nil }
            if nullIgnoring.contains(spec.op) { arg = withoutMissingGuard(arg) }
            if arg.fieldPaths.isEmpty && !arg.usesRoot && spec.op != "$sum" && spec.op != "$count" {
                arg = ServerQuirks.unfoldable(arg)
            }
            var n: Expr?
            if let nExpr = spec.n {
                if spec.nDependsOnKey {
                    // n reads the group key (newest schema), not stored documents; the split
                    // ships every input for it and evaluates n in Swift (see GroupSplit)
                    n = nExpr
                } else {
                    guard let t = translate(nExpr) else { return nil }
                    n = t
                }
            }
            var sortBy: SortPattern?
            if let s = spec.sortBy {
                guard let t = translateSort(s) else { return nil }
                sortBy = t
            }
            accumulators.append((name, AccumulatorSpec(op: spec.op, argument: arg, n: n, sortBy: sortBy)))
        }
        guard let split = try? GroupSplit(Group(id: key, accumulators: accumulators), trackSumWidth: trackSumWidth) else { return nil }
        return (["$group": .document(split.partialGroup)], rawKey)
    }

    /// Accumulators for which a null or missing argument is no input at all.
    static let nullIgnoring: Set<String> = ["$sum", "$avg", "$min", "$max", "$stdDevPop", "$stdDevSamp"]

    /// A conversion keeps a missing field missing with `{$cond: [{$eq: [{$type: "$p"},
    /// "missing"]}, "$$REMOVE", f]}`. Where null and missing are alike (`nullIgnoring`)
    /// and `f` gives null or nothing when `$p` is missing (checked by evaluating it on
    /// an empty document; `f` must read no other path), the guard is dropped: one
    /// expression fewer per document for the server.
    static func withoutMissingGuard(_ e: Expr) -> Expr {
        guard case .op("$cond", .positional(let args)) = e, args.count == 3,
              case .op("$eq", .positional(let test)) = args[0], test.count == 2,
              case .op("$type", .positional(let typed)) = test[0], typed.count == 1,
              case .fieldPath(let path) = typed[0], test[1] == .literal("missing"),
              args[1] == .variable("REMOVE", []) else { return e }
        let f = args[2]
        guard f.fieldPaths == [path], !f.usesRoot, f.freeVariables.isEmpty,
              let value = try? Evaluator.evaluate(f, [:]), BSON.isNullish(value) else { return e }
        return f
    }
}

/// A group key the server computes from stored values by evaluating a conversion per
/// document (`kind` is `{$toLower: "$type"}` at versions 0-2) is cheaper grouped by
/// the stored values themselves (`_id: {k0: "$type"}`), with the conversion applied
/// once per partial group in Swift: partial groups by the stored values are finer
/// than groups by the converted key, and merging partial states is what the merger
/// does anyway. On SecantusDB this saves about a third of such a branch.
///
/// Only when the newest key is a field path or an object of field paths (so the
/// stored values are about as many as the groups: a `$bucket` boundary expression
/// over a stored number would ship every distinct number), the translated key reads
/// a few stored paths none of which contains another, and nothing in it depends on
/// the whole document, on variables, or on the server's clock; and no accumulator's
/// `n` reads the group's `_id`.
struct RawGroupKey: Sendable, Equatable {
    /// The stored paths the translated key reads, in a fixed order.
    let paths: [[String]]
    /// The translated key, evaluated in Swift over the stored values.
    let key: Expr

    static func make(newest: Expr, translated: Expr, plan: GroupPlan) -> RawGroupKey? {
        guard isPlainPaths(newest), !isPlainPaths(translated) else { return nil }
        if case .literal = translated { return nil }
        let paths = translated.fieldPaths.sorted { $0.joined(separator: ".") < $1.joined(separator: ".") }
        guard !paths.isEmpty, paths.count <= 8, !translated.usesRoot, translated.freeVariables.isEmpty,
              !mentionsServerVariables(translated),
              !paths.contains(where: { p in paths.contains { $0 != p && $0.count < p.count && Array(p.prefix($0.count)) == $0 } }),
              plan.accumulators.allSatisfy({ $0.spec.n.map { $0.fieldPaths.isEmpty && !$0.usesRoot } ?? true })
        else { return nil }
        return RawGroupKey(paths: paths, key: translated)
    }

    /// A field path, or an object whose values are all field paths (or such objects).
    static func isPlainPaths(_ e: Expr) -> Bool {
        switch e {
        case .fieldPath: return true
        case .object(let pairs): return !pairs.isEmpty && pairs.allSatisfy { isPlainPaths($0.1) }
        default: return false
        }
    }

    static func mentionsServerVariables(_ e: Expr) -> Bool {
        let text = ExtendedJSON.string(e.bson)
        return ["$$NOW", "$$CLUSTER_TIME", "$$USER_ROLES", "$$SEARCH_META"].contains { text.contains($0) }
    }

    /// The `_id` the server groups by: `{k0: "$p0", k1: "$p1", ...}` (a missing value
    /// leaves its field out, so missing and null stay apart).
    var serverKey: Expr { .object(paths.enumerated().map { ("k\($0.offset)", .fieldPath($0.element)) }) }

    /// The group's key over the newest schema, from a partial row's stored-values `_id`.
    func newestKey(_ rawId: BSON?) throws -> BSON {
        var doc = Document()
        let raw = rawId?.documentValue ?? [:]
        for (i, path) in paths.enumerated() {
            if let v = raw["k\(i)"] { Self.put(&doc, path[...], v) }
        }
        return try Evaluator.evaluate(key, doc) ?? .null
    }

    static func put(_ doc: inout Document, _ path: ArraySlice<String>, _ value: BSON) {
        guard let first = path.first else { return }
        if path.count == 1 { doc[first] = value; return }
        var sub = doc[first]?.documentValue ?? Document()
        put(&sub, path.dropFirst(), value)
        doc[first] = .document(sub)
    }
}
