import StrataBSON

/// A `$group` split in two phases, for running the first on the server over slices of the
/// input (per version, per shard...) and the second in Swift:
///
/// 1. run `partialGroup` (a `$group` specification with the same `_id`) on each slice;
/// 2. feed every output row to a `GroupMerger` — for the order-sensitive accumulators
///    (`$first`, `$last`, `$push`, `$firstN`, `$lastN`, `$mergeObjects`, `$concatArrays`, and
///    the tie-breaking of `$top`/`$bottom`...) slice by slice in document order;
/// 3. `finish()` gives the rows the single-pass `$group` would give.
///
/// The partial states are the shapes documented on `Accumulator`. Exactness: integer sums and
/// counts are exact (their widest input type travels with them); double sums lose each slice's
/// compensation term (the last bits may differ from a single pass); `$stdDev*` partials go
/// through `$stdDevPop`, `$avg` and a count, combined with the parallel formula (agreement to
/// about 1e-12 relative).
public struct GroupSplit: Sendable {
    public let group: Group
    /// The `$group` specification to run on each slice.
    public let partialGroup: Document
    let builders: [@Sendable (Document) -> BSON?]
    /// The `$sum` accumulators whose partials carry no width (see `init`).
    public let untrackedSums: [Int]

    /// `trackSumWidth`: each `$sum` of a non-constant argument also ships the widest
    /// numeric type of its slice's inputs (one more accumulator per document, which
    /// costs the server about as much as the sum itself). Without it, a plain partial
    /// sum stands for its own type; that is exact unless a slice's int32 total
    /// overflowed into int64 (or an int64 total into double), which the merger then
    /// reports as `GroupMerger.sumTypeAmbiguous` so the caller can run again with
    /// widths.
    public init(_ group: Group, trackSumWidth: Bool = true) throws {
        self.group = group
        var spec: Document = ["_id": group.id.bson]
        var builders: [@Sendable (Document) -> BSON?] = []
        var untracked: [Int] = []
        for (i, (_, acc)) in group.accumulators.enumerated() {
            let p = "__s\(i)"
            let arg = acc.argument.bson
            let isNumber: BSON = ["$cond": [["$isNumber": arg], 1, 0]]
            switch acc.op {
            case "$sum", "$count":
                if case .literal(let v) = acc.argument, v.isNumber {
                    spec[p] = ["$sum": arg]
                    builders.append { $0[p] }
                } else if !trackSumWidth {
                    spec[p] = ["$sum": arg]
                    builders.append { $0[p] }
                    untracked.append(i)
                } else {
                    spec[p] = ["$sum": arg]
                    // The widest numeric type seen (0 int, 1 long, 2 double, 3 decimal; -1 none),
                    // with the argument evaluated once per document.
                    spec[p + "w"] = ["$max": ["$indexOfArray": [["int", "long", "double", "decimal"], ["$type": arg]]]]
                    builders.append { .document(["sum": $0[p] ?? .int32(0), "width": $0[p + "w"] ?? .int32(-1)]) }
                }
            case "$avg":
                spec[p] = ["$sum": arg]
                spec[p + "c"] = ["$sum": isNumber]
                builders.append { .document(["subTotal": $0[p] ?? .int32(0), "count": $0[p + "c"] ?? .int32(0)]) }
            case "$stdDevPop", "$stdDevSamp":
                spec[p + "c"] = ["$sum": isNumber]
                spec[p + "m"] = ["$avg": arg]
                spec[p + "s"] = ["$stdDevPop": arg]
                builders.append { .document(["count": $0[p + "c"] ?? .int32(0), "mean": $0[p + "m"] ?? .null, "stdDevPop": $0[p + "s"] ?? .null]) }
            case "$first", "$last":
                spec[p] = [acc.op: ["v": arg]]
                builders.append { $0[p] }
            case "$topN" where acc.nDependsOnKey, "$bottomN" where acc.nDependsOnKey:
                // An `n` that reads the group key: every slice ships all its inputs, so that
                // the merge (evaluating n against the final key in Swift, as mongod does)
                // does not depend on how the server reads such an n.
                let sortFields: [BSON] = (acc.sortBy?.components ?? []).map { .string("$" + $0.path.joined(separator: ".")) }
                spec[p] = ["$push": ["output": arg, "sortFields": .array(sortFields)]]
                builders.append { $0[p] }
            case "$firstN" where acc.nDependsOnKey, "$lastN" where acc.nDependsOnKey:
                spec[p] = ["$push": ["$ifNull": [arg, .null]]]  // a missing input counts, as null
                builders.append { $0[p] }
            case "$maxN" where acc.nDependsOnKey, "$minN" where acc.nDependsOnKey:
                spec[p] = ["$push": arg]
                builders.append { $0[p] }
            case "$top", "$bottom", "$topN", "$bottomN":
                let sortFields: [BSON] = (acc.sortBy?.components ?? []).map { .string("$" + $0.path.joined(separator: ".")) }
                let nArg: BSON = acc.n?.bson ?? .int32(1)
                spec[p] = [acc.op.hasPrefix("$top") ? "$topN" : "$bottomN": [
                    "n": nArg, "sortBy": acc.sortBy?.bson ?? .document([:]),
                    "output": ["output": arg, "sortFields": .array(sortFields)],
                ]]
                builders.append { $0[p] }
            case "$median", "$percentile":
                spec[p] = ["$push": ["$cond": [["$isNumber": arg], arg, "$$REMOVE"]]]
                builders.append { $0[p] }
            default:
                // $min $max $push $addToSet $mergeObjects $concatArrays $setUnion $firstN $lastN $maxN $minN
                spec[p] = acc.bson
                builders.append { $0[p] }
            }
        }
        partialGroup = spec
        self.builders = builders
        self.untrackedSums = untracked
    }

    /// A plain partial sum whose type may come from an overflow rather than from the
    /// slice's inputs: an int64 outside int32's range, a double outside int64's.
    static func mayHaveOverflowed(_ partial: BSON?) -> Bool {
        switch partial {
        case .int64(let i)?: return Int32(exactly: i) == nil
        case .double(let d)?: return !(abs(d) < 9.223372036854775807e18)
        default: return false
        }
    }

    /// A merger for the partial rows.
    public func makeMerger(variables: Variables = Variables()) -> GroupMerger {
        GroupMerger(split: self, variables: variables)
    }
}

/// Folds the rows of `GroupSplit.partialGroup` into the final `$group` rows.
public final class GroupMerger {
    let split: GroupSplit
    let variables: Variables
    var index: [GroupKey: Int] = [:]
    var states: [GroupState] = []
    /// (group, accumulator) pairs that merged a partial sum which may have overflowed.
    var overflowSuspects: [(group: Int, accumulator: Int)] = []
    /// Set by `finish()`: some untracked `$sum` result's type cannot be told from its
    /// partials (a slice overflowed, yet the total is back in range); run the split
    /// again with `trackSumWidth` for the exact type.
    public private(set) var sumTypeAmbiguous = false

    init(split: GroupSplit, variables: Variables) { self.split = split; self.variables = variables }

    /// Adds one partial row (`{_id, __s0..., ...}`).
    public func add(_ row: Document) throws {
        let id = row["_id"] ?? .null
        let key = GroupKey(id)
        let i: Int
        if let j = index[key] { i = j } else {
            i = states.count
            index[key] = i
            states.append(GroupState(id: id, accs: try split.group.accumulators.map {
                try $0.1.makeAccumulator(groupId: id, variables: variables)
            }))
        }
        for j in 0..<split.group.accumulators.count {
            try states[i].accs[j].merge(split.builders[j](row))
        }
        for j in split.untrackedSums where GroupSplit.mayHaveOverflowed(row["__s\(j)"]) {
            overflowSuspects.append((i, j))
        }
    }

    /// The merged groups, in order of first appearance.
    public func finish() throws -> [Document] {
        for (g, j) in overflowSuspects {
            switch try states[g].accs[j].finalize() {
            case .int64(let total)?: if Int32(exactly: total) != nil { sumTypeAmbiguous = true }
            case .double?: sumTypeAmbiguous = true
            default: break
            }
        }
        return try states.map { s in
            var d: Document = ["_id": s.id ?? .null]
            for (j, (name, _)) in split.group.accumulators.enumerated() { d.append(name, try s.accs[j].finalize() ?? .null) }
            return d
        }
    }
}
