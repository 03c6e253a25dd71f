import StrataBSON
import StrataEvaluator
import StrataLens
import StrataMongo

/// Shapes a branch's leading `$match` stages so that the server's planner can serve
/// them from the index `strata index` creates for these versions (`LensIndexPlan`).
///
/// Two planners are served by the same shape:
/// - mongod coalesces adjacent `$match` stages and plans them as one filter; any of the
///   shapes below is the same to it.
/// - SecantusDB plans an index only for a filter whose every field is a key of that
///   index, except a version predicate that implies the index's partial filter
///   (`{v: 2}` or `{v: {$gte: 2, $lte: 3}}` for `{v: {$gte: 2, $lte: 3}}`; not `$in`,
///   and nothing wrapped in `$and`); it never merges stages.
///
/// So the first `$match` holds the pushed-down conjuncts on the keys of the index that
/// serves them best — plus, when that index is restricted to versions by a partial
/// filter on the version field, the branch's versions written as that filter is
/// (equality or one range) — and a second `$match` the other conjuncts and, if not
/// already in the first, the version filter.
enum IndexShapeRule {
    /// An index the leading filter may be served by: its key paths, the versions it
    /// holds, and whether a partial filter on the version field restricts it to them.
    struct Candidate: Equatable {
        var name: String
        var keys: [String]
        var versions: ClosedRange<Int>?
        var restrictedByVersion: Bool
    }

    /// A collection's indexes (`listIndexes`), as candidates: those without a partial
    /// filter (sparse ones included: the leading conjuncts never match missing), and
    /// those whose partial filter restricts the version field to one version or one
    /// range of versions (`{v: 2}`, `{v: {$gte: 2, $lte: 3}}`, as `strata index` writes
    /// them). Other partial filters are left to the server to match.
    static func candidates(fromIndexes indexes: [Document], versionField: String) -> [Candidate] {
        indexes.compactMap { index in
            guard let name = index["name"]?.stringValue, let key = index["key"]?.documentValue, !key.isEmpty,
                  key.values.allSatisfy({ $0.exactInt != nil }), index["hidden"]?.boolValue != true else { return nil }
            guard let partial = index["partialFilterExpression"]?.documentValue else {
                return Candidate(name: name, keys: key.keys, versions: nil, restrictedByVersion: false)
            }
            guard partial.count == 1, partial.keys.first == versionField, let condition = partial[versionField] else { return nil }
            if let k = condition.exactInt { return Candidate(name: name, keys: key.keys, versions: Int(k)...Int(k), restrictedByVersion: true) }
            guard let range = condition.documentValue, range.count == 2, let lo = range["$gte"]?.exactInt, let hi = range["$lte"]?.exactInt,
                  lo <= hi else { return nil }
            return Candidate(name: name, keys: key.keys, versions: Int(lo)...Int(hi), restrictedByVersion: true)
        }
    }

    /// The indexes of the lens's plan (and `_id`'s), as candidates: what `strata index`
    /// creates, for plans made without asking the server.
    static func candidates(_ plan: LensIndexPlan) -> [Candidate] {
        var out = [Candidate(name: "_id_", keys: ["_id"], versions: nil, restrictedByVersion: false)]
        for spec in plan.specs where spec.declaredName != nil {
            guard let lo = spec.versions.first, let hi = spec.versions.last else { continue }
            let byVersion = spec.partialFilter.map { $0.count == 1 && $0.keys.first == plan.versionField } ?? false
            out.append(Candidate(name: spec.name, keys: spec.keys.keys, versions: lo...hi, restrictedByVersion: byVersion))
        }
        return out
    }

    /// The leading stages of a branch over `versions`: `pushdown` (the translated,
    /// index-friendly conjuncts) and `versionFilter` (nil: no version filter needed).
    /// `strict` version filters are never folded into the first stage.
    static func leadingStages(versions: [Int], pushdown: [Query], versionFilter: Document?, lens: Lens,
                              candidates: [Candidate], strict: Bool) -> [BSON] {
        let conjuncts = pushdown.flatMap(flatten)
        guard !conjuncts.isEmpty else { return versionFilter.map { [["$match": .document($0)]] } ?? [] }
        guard let (index, served) = best(candidates, for: conjuncts, versions: versions) else {
            return [["$match": .document(MatchStages.conjunction(conjuncts))]] + (versionFilter.map { [["$match": .document($0)]] } ?? [])
        }
        var first = MatchStages.conjunction(served)
        let rest = conjuncts.filter { !served.contains($0) }
        var versionInFirst = false
        if index.restrictedByVersion, !strict, versionFilter != nil, first[lens.versionField] == nil,
           !first.keys.contains(where: { $0.hasPrefix("$") }), let range = contiguous(versions)
        {
            first.append(lens.versionField, range.count == 1 ? .int32(Int32(range.lowerBound))
                         : ["$gte": .int32(Int32(range.lowerBound)), "$lte": .int32(Int32(range.upperBound))])
            versionInFirst = true
        }
        var stages: [BSON] = [["$match": .document(first)]]
        var second: [Document] = rest.map(\.bson)
        if let versionFilter, !versionInFirst { second.append(versionFilter) }
        if !second.isEmpty {
            stages.append(["$match": .document(second.count == 1 ? second[0] : ["$and": .array(second.map { .document($0) })])])
        }
        return stages
    }

    /// The conjuncts of a query (`$and`s opened up).
    static func flatten(_ q: Query) -> [Query] {
        if case .and(let qs) = q { return qs.flatMap(flatten) }
        if case .alwaysTrue = q { return [] }
        return [q]
    }

    /// A predicate an index bound can express: equality to a non-null value, a range,
    /// `$in` of non-null values (null also matches missing, which a sparse index lacks).
    static func sargable(_ q: Query) -> String? {
        guard case .field(let path, let preds) = q, !preds.isEmpty else { return nil }
        for p in preds {
            switch p {
            case .eq(let v): if v == .null || v.isRegex { return nil }
            case .gt(let v), .gte(let v), .lt(let v), .lte(let v): if !v.isBoundable { return nil }
            case .in(let vs): if vs.contains(where: { $0 == .null || $0.isRegex }) { return nil }
            default: return nil
            }
        }
        return path
    }

    /// The candidate holding `versions` that serves the most leading keys, and the
    /// conjuncts it serves (first key required; then keys in order while served).
    static func best(_ candidates: [Candidate], for conjuncts: [Query], versions: [Int]) -> (Candidate, [Query])? {
        var bestPick: (Candidate, [Query])?
        for c in candidates {
            if let r = c.versions, !versions.allSatisfy(r.contains) { continue }
            var served: [Query] = []
            for key in c.keys {
                let on = conjuncts.filter { sargable($0) == key }
                if on.isEmpty { break }
                served += on
            }
            if served.isEmpty { continue }
            if bestPick == nil || served.count > bestPick!.1.count { bestPick = (c, served) }
        }
        return bestPick
    }

    static func contiguous(_ versions: [Int]) -> ClosedRange<Int>? {
        guard let lo = versions.min(), let hi = versions.max(), hi - lo + 1 == Set(versions).count else { return nil }
        return lo...hi
    }
}

private extension BSON {
    var isRegex: Bool { if case .regex = self { return true } else { return false } }
    /// A range bound that cannot match null or missing (`$lte: null` does).
    var isBoundable: Bool {
        switch self {
        case .null, .minKey, .maxKey, .regex, .undefined: return false
        default: return true
        }
    }
}
