import StrataBSON
/// One accumulator split the way a sharded `$group` splits it (MongoDB's
/// `accumulator_avg.cpp`): the accumulators each slice of the input runs on the server,
/// each filling one field of the slice's partial row, and the partial state that
/// `Accumulator.merge` folds in, rebuilt from those fields.
///
/// Each accumulator type owns both ends: the `split` below builds the server half from
/// the type's `RowField` names and its partial state from its `PartialField` names, and
/// the same type's `merge` reads those `PartialField`s. `GroupSplit` only prefixes the row
/// fields with the accumulator's position (`__s<i><suffix>`).
package struct AccumulatorSplit: Sendable {
    /// The server-side accumulators: the suffix of the partial-row field each fills, and
    /// the accumulator (`{$sum: x}`...).
    package let shardsPart: [(suffix: String, accumulator: BSON)]
    /// The partial state for `Accumulator.merge`, from the partial row's fields (by suffix).
    let mergingPart: @Sendable (_ field: (String) -> BSON?) -> BSON?
    /// A plain partial `$sum` that does not ship its inputs' widest type: its own type may
    /// come from an overflow (`GroupMerger.sumTypeAmbiguous`).
    package let isUntrackedSum: Bool

    init(_ shardsPart: [(suffix: String, accumulator: BSON)], isUntrackedSum: Bool = false,
         mergingPart: @escaping @Sendable (_ field: (String) -> BSON?) -> BSON?) {
        self.shardsPart = shardsPart
        self.mergingPart = mergingPart
        self.isUntrackedSum = isUntrackedSum
    }

    /// The slice's own result of the same accumulator is the partial state.
    static func same(_ accumulator: BSON) -> AccumulatorSplit {
        AccumulatorSplit([("", accumulator)]) { $0("") }
    }
}

extension AccumulatorSpec {
    /// Whether partial states merge to the single-pass result whatever order the slices
    /// come in: the one place that decides whether a `$group` may run as per-version
    /// partial groups. The rest need their input in order — `$first`, `$last`, `$push`,
    /// `$firstN`, `$lastN`, `$mergeObjects`, `$concatArrays`, `$setUnion` — or are
    /// not split: `$median` and `$percentile` (the approximate method's t-digest depends
    /// on the input order). `$top`/`$bottom` and their N forms merge on their sort keys;
    /// among documents with equal keys mongod promises no order either.
    package var mergesInAnyOrder: Bool {
        switch op {
        case "$sum", "$count", "$avg", "$min", "$max", "$stdDevPop", "$stdDevSamp", "$addToSet",
             "$top", "$bottom", "$topN", "$bottomN", "$maxN", "$minN":
            return true
        default:
            return false
        }
    }

    /// This accumulator split into its server half and its merging half, each owned by
    /// the accumulator type that merges it.
    ///
    /// `trackSumWidth`: a `$sum` of a non-constant argument also ships the widest numeric
    /// type of its slice's inputs (see `GroupSplit`).
    package func split(trackSumWidth: Bool) -> AccumulatorSplit {
        let arg = argument.bson
        switch op {
        case "$sum", "$count":
            let constant: Bool
            if case .literal(let v) = argument, v.isNumber { constant = true } else { constant = false }
            return SumAccumulator.split(arg, constant: constant, trackWidth: trackSumWidth)
        case "$avg":
            return AvgAccumulator.split(arg)
        case "$stdDevPop", "$stdDevSamp":
            return StdDevAccumulator.split(arg)
        case "$first", "$last":
            return FirstAccumulator.split(op, arg)
        case "$topN" where nDependsOnKey, "$bottomN" where nDependsOnKey:
            // An `n` that reads the group key: every slice ships all its inputs, so that the
            // merge (evaluating n against the final key in Swift, as mongod does) does not
            // depend on how the server reads such an n.
            return .same(["$push": TopBottomAccumulator.partialElement(output: arg, sortBy: sortBy)])
        case "$firstN" where nDependsOnKey, "$lastN" where nDependsOnKey:
            return .same(["$push": ["$ifNull": [arg, .null]]])  // a missing input counts, as null
        case "$maxN" where nDependsOnKey, "$minN" where nDependsOnKey:
            return .same(["$push": arg])
        case "$top", "$bottom", "$topN", "$bottomN":
            return .same([op.hasPrefix("$top") ? "$topN" : "$bottomN": [
                "n": n?.bson ?? .int32(1), "sortBy": sortBy?.bson ?? .document([:]),
                "output": TopBottomAccumulator.partialElement(output: arg, sortBy: sortBy),
            ]])
        case "$median", "$percentile":
            return PercentileAccumulator.split(arg)
        default:
            // $min $max $push $addToSet $mergeObjects $concatArrays $setUnion $firstN $lastN
            // $maxN $minN: the slice's own result is the partial state.
            return .same(bson)
        }
    }
}

extension SumAccumulator {
    /// The partial state `{sum, width}`: the slice's sum and the widest numeric type of its
    /// inputs (`NumericType`'s raw value: 0 int, 1 long, 2 double, 3 decimal; -1 none). A
    /// bare number is a sum of its own type; mongod's `[type, sum, addend]` is accepted too.
    enum PartialField {
        static let sum = "sum"
        static let width = "width"
    }

    /// The partial row's fields: the sum under the accumulator's own name, the width beside it.
    enum RowField {
        static let sum = ""
        static let width = "w"
    }

    static func split(_ arg: BSON, constant: Bool, trackWidth: Bool) -> AccumulatorSplit {
        if constant { return .same(["$sum": arg]) }
        guard trackWidth else {
            return AccumulatorSplit([(RowField.sum, ["$sum": arg])], isUntrackedSum: true) { $0(RowField.sum) }
        }
        // The widest type seen, with the argument evaluated once per document.
        let width: BSON = ["$max": ["$indexOfArray": [["int", "long", "double", "decimal"], ["$type": arg]]]]
        return AccumulatorSplit([(RowField.sum, ["$sum": arg]), (RowField.width, width)]) { row in
            .document([PartialField.sum: row(RowField.sum) ?? .int32(0), PartialField.width: row(RowField.width) ?? .int32(-1)])
        }
    }
}

extension AvgAccumulator {
    /// The partial state `{subTotal, count}` (optionally `subTotalError`, as mongod's own
    /// partials; `sum` is read for `subTotal`; mongod's `{count, ps}` is accepted too).
    enum PartialField {
        static let subTotal = "subTotal"
        static let count = "count"
        static let subTotalError = "subTotalError"
    }

    enum RowField {
        static let subTotal = ""
        static let count = "c"
    }

    static func split(_ arg: BSON) -> AccumulatorSplit {
        AccumulatorSplit([(RowField.subTotal, ["$sum": arg]), (RowField.count, ["$sum": ["$cond": [["$isNumber": arg], 1, 0]]])]) { row in
            .document([PartialField.subTotal: row(RowField.subTotal) ?? .int32(0), PartialField.count: row(RowField.count) ?? .int32(0)])
        }
    }
}

extension StdDevAccumulator {
    /// The partial state `{count, mean, m2}` (Welford's), or `{count, mean, stdDevPop}`
    /// (what a server's `$group` can give).
    enum PartialField {
        static let count = "count"
        static let mean = "mean"
        static let m2 = "m2"
        static let stdDevPop = "stdDevPop"
    }

    enum RowField {
        static let count = "c"
        static let mean = "m"
        static let stdDevPop = "s"
    }

    static func split(_ arg: BSON) -> AccumulatorSplit {
        AccumulatorSplit([
            (RowField.count, ["$sum": ["$cond": [["$isNumber": arg], 1, 0]]]),
            (RowField.mean, ["$avg": arg]),
            (RowField.stdDevPop, ["$stdDevPop": arg]),
        ]) { row in
            .document([PartialField.count: row(RowField.count) ?? .int32(0), PartialField.mean: row(RowField.mean) ?? .null,
                       PartialField.stdDevPop: row(RowField.stdDevPop) ?? .null])
        }
    }
}

extension FirstAccumulator {
    /// The partial state `{v: value}`, `v` absent when the value was missing (a bare value
    /// is taken as is). `$last` shares it.
    enum PartialField {
        static let value = "v"
    }

    static func split(_ op: String, _ arg: BSON) -> AccumulatorSplit {
        .same([op: .document([PartialField.value: arg])])
    }
}

extension TopBottomAccumulator {
    /// An input and partial element `{output, sortFields: [v1, ...]}`, `vi` the value of the
    /// i-th sortBy path.
    enum PartialField {
        static let output = "output"
        static let sortFields = "sortFields"
    }

    /// The partial element as the server computes it: `{output: x, sortFields: ["$p1", ...]}`.
    static func partialElement(output arg: BSON, sortBy: SortPattern?) -> BSON {
        let sortFields: [BSON] = (sortBy?.components ?? []).map { .string("$" + $0.path.joined(separator: ".")) }
        return .document([PartialField.output: arg, PartialField.sortFields: .array(sortFields)])
    }
}

extension PercentileAccumulator {
    /// The partial state: an array of the slice's numeric values.
    static func split(_ arg: BSON) -> AccumulatorSplit {
        .same(["$push": ["$cond": [["$isNumber": arg], arg, "$$REMOVE"]]])
    }
}
