import StrataBSON

/// The running state of one `$group` accumulator for one group.
///
/// `accumulate` takes the value of the accumulator's argument for one document (`nil` =
/// missing). `merge` takes a *partial state* computed elsewhere (by the server, for a slice of
/// the documents) and folds it in as if those documents had been accumulated here, in order.
/// `finalize` gives the group's value (`nil` = missing; `$group` writes null then).
///
/// Partial-state shapes, and server-side `$group` accumulators that produce them for a
/// field `x` (the planner's "shards part"; documents reach the merger in slices, and slices
/// must be merged in input order for the order-sensitive accumulators):
///
/// | accumulator | partial | server-side spec producing it |
/// |---|---|---|
/// | `$sum` | a number: the slice's `$sum`; or `{sum, width}` with `width` the widest numeric type of the slice's inputs (0 int, 1 long, 2 double; -1 none) | `{$sum: x}`; width: `{$max: {$switch: {branches: [{case: {$eq: [{$type: x}, "int"]}, then: 0}, {case: {$eq: [{$type: x}, "long"]}, then: 1}, {case: {$eq: [{$type: x}, "double"]}, then: 2}], default: -1}}}` (see below) |
/// | `$count` | the slice's count (a number) | `{$sum: 1}` |
/// | `$avg` | `{subTotal, count}` (optionally `subTotalError`, as mongod's own partials) | `subTotal: {$sum: x}`, `count: {$sum: {$cond: [{$isNumber: x}, 1, 0]}}` |
/// | `$min` / `$max` | the slice's `$min` / `$max` (null/missing ignored) | `{$min: x}` / `{$max: x}` |
/// | `$first` / `$last` | `{v: <value>}` with `v` absent when the value was missing; a bare value is taken as is | `{$first: {v: x}}` / `{$last: {v: x}}` |
/// | `$push` | an array | `{$push: x}` |
/// | `$addToSet` | an array | `{$addToSet: x}` |
/// | `$mergeObjects` | a document | `{$mergeObjects: x}` |
/// | `$stdDevPop` / `$stdDevSamp` | `{count, mean, m2}` (Welford's; merged with the parallel formula), or `{count, mean, stdDevPop}` | `count` as for `$avg`, `mean: {$avg: x}`, `stdDevPop: {$stdDevPop: x}` |
/// | `$top` / `$bottom` | `{output, sortFields: [<value of each sortBy path>]}`, or an array of them | `{$topN: {n: 1, sortBy: S, output: {output: x, sortFields: ["$p1", ...]}}}` (`$bottomN` for `$bottom`) |
/// | `$topN` / `$bottomN` | an array of `{output, sortFields}` | `{$topN: {n, sortBy: S, output: {output: x, sortFields: ["$p1", ...]}}}` |
/// | `$firstN` / `$lastN` | an array | `{$firstN: {n, input: x}}` |
/// | `$maxN` / `$minN` | an array | `{$maxN: {n, input: x}}` |
/// | `$percentile` / `$median` | an array of the slice's numeric values (order kept for "approximate") | `{$push: {$cond: [{$isNumber: x}, x, "$$REMOVE"]}}` |
///
/// `$sum` ambiguity: mongod's result type depends on the widest input type and on whether
/// the *total* fits. A plain numeric partial is taken with its own type as the slice's widest
/// type: an int64 partial that is int64 only because the slice's total overflowed int32 makes
/// the merged result int64 even when the overall total fits int32 (mongod would give int32),
/// and a double partial caused by an int64 overflow makes the result double. Counts and sums of
/// same-typed inputs are exact. The `{sum, width}` form removes the ambiguity for integers.
/// mongod's own sharded partials (`[type, sum, addend]` for `$sum`, `{count, ps}` for `$avg`)
/// are accepted too. Each type's `split` (AccumulatorSplit.swift) builds its server-side specs and
/// names its partial fields; `GroupSplit` builds them for a whole `$group`.
/// Double partial sums lose the slice's compensation term, so the last bits may differ from
/// a single pass (mongod's own sharded merges ship it; public `$group` cannot).
///
/// **Exact partials** (`partial()`, for spilling a group's state to disk and reading it back):
/// where the shapes above cannot carry an accumulator's whole state, `partial()` gives a
/// document whose *first* field is `__exact`, a string naming the state's kind. No shape
/// above is a document starting with `__exact` (`{sum, width}`, `{subTotal, count}`,
/// `{count, mean, ...}`, `{v}`, `{output, sortFields}`), so `merge` tells them apart; merging
/// an exact partial of another kind throws. (A *bare* `$first`/`$last` value that is a
/// document starting with `__exact` would be misread; the planner always wraps them in `{v}`.)
///
/// | accumulator | `partial()` |
/// |---|---|
/// | `$sum`, `$count` | `{__exact: "sum", widest: <0 int, 1 long, 2 double, 3 decimal>, sum, addend, special: <doubles>, decimal: <decimal128>}` (the compensated total, its plain sum for NaN/∞, the decimal total); in constant mode `{__exact: "sum", constant: <the typed total>}` |
/// | `$avg` | `{__exact: "avg", count: <long>, sum, addend, special, decimal, isDecimal: <bool>}` |
/// | `$stdDevPop` / `$stdDevSamp` | `{__exact: "stdDev", count: <long>, mean, m2}` |
/// | `$first` / `$last` | `{__exact: "first" / "last", seen: <bool>, v: <value, absent when missing>}` |
/// | `$topN` family | `{__exact: "topBottom", entries: [{k: [<sort key>], o: <output>}]}` (the kept entries' computed sort keys and outputs, in arrival order: merging inserts them in that order) |
/// | `$percentile` / `$median`, approximate | `{__exact: "tdigest", buffer: [<doubles>], centroids: [w0, m0, w1, m1, ...], n, negInf, posInf: <longs>, min, max}` |
/// | all others | the plain shape above, which is already exact: `$min`/`$max` the value (missing when none), `$push`/`$concatArrays`/`$addToSet`/`$setUnion`/`$firstN`/`$lastN`/`$maxN`/`$minN` the kept items in their order, `$mergeObjects` the document, exact `$percentile` the values in input order (±∞ after them) |
///
/// Contract: for `a` built by `AccumulatorSpec.makeAccumulator` and a fresh `b` of the same
/// spec, after `b.merge(a.partial())` `b` behaves exactly as `a` for whatever follows (same
/// BSON types, bit-equal doubles and decimals, same order). Merging an empty accumulator's
/// partial is a no-op. Merging a partial into a *non-empty* accumulator (partials of
/// consecutive slices, in order) combines states. That is exact for the order-only
/// accumulators and for sums whose partial totals are exact doubles (|total| < 2^53; decimals
/// that need no rounding); otherwise it is as close as mongod's own merges, not bit-exact:
/// a `$sum`/`$avg` total beyond 2^53 (int64 overflows, large longs) may end an ulp away (the
/// compensated pair is not kept normalized, so its `sum` depends on the path), a constant
/// `$sum` adds two typed totals as one more constant (exact for ints below 2^53; a slice that
/// left constant mode, on a decimal, makes the merge leave it too), `$stdDev*` uses
/// the parallel Welford formula, an approximate percentile re-compresses both digests'
/// centroids (exact while neither has flushed, i.e. below 5000 values), and `$bottom`/`$bottomN`
/// may keep another of several documents with *tied* sort keys (mongod's tie rule — evict the
/// earliest tie, refuse an equal newcomer — cannot be reproduced from bounded slices).
package protocol Accumulator: Sendable {
    mutating func accumulate(_ value: BSON?) throws
    mutating func merge(_ partial: BSON?) throws
    func finalize() throws -> BSON?
    /// The whole state as a partial for `merge` (see "Exact partials" above).
    func partial() throws -> BSON?
}

/// The `__exact` partial shape (see `Accumulator`).
enum ExactPartial {
    static let key = "__exact"

    static func make(_ kind: String, _ fields: [(String, BSON)]) -> BSON {
        .document(Document([(key, .string(kind))] + fields))
    }

    /// The fields of an exact partial of `kind`; nil when `p` is not an exact partial; throws
    /// when it is one of another kind.
    static func fields(_ p: BSON?, kind: String) throws -> Document? {
        guard case .document(let d)? = p, let first = d.first, first.key == key else { return nil }
        guard case .string(kind) = first.value else {
            throw evalError("an exact partial state of \(show(first.value)) cannot be merged into a \(kind) accumulator")
        }
        return d
    }

    static func double(_ d: Document, _ k: String) throws -> Double {
        guard case .double(let x)? = d[k] else { throw corrupt(d, k) }
        return x
    }

    static func long(_ d: Document, _ k: String) throws -> Int64 {
        guard case .int64(let x)? = d[k] else { throw corrupt(d, k) }
        return x
    }

    static func bool(_ d: Document, _ k: String) throws -> Bool {
        guard case .bool(let x)? = d[k] else { throw corrupt(d, k) }
        return x
    }

    static func decimal(_ d: Document, _ k: String) throws -> Decimal128 {
        guard case .decimal128(let x)? = d[k] else { throw corrupt(d, k) }
        return x
    }

    static func corrupt(_ d: Document, _ k: String) -> StrataError {
        evalError("exact partial state with a missing or mistyped '\(k)': \(show(.document(d)))")
    }

    /// A compensated sum as its three exact doubles.
    static func sumFields(_ t: DoubleDoubleSum) -> [(String, BSON)] {
        [("sum", .double(t.sum)), ("addend", .double(t.addend)), ("special", .double(t.special))]
    }

    static func sum(_ d: Document) throws -> DoubleDoubleSum {
        DoubleDoubleSum(sum: try double(d, "sum"), addend: try double(d, "addend"), special: try double(d, "special"))
    }
}

/// A parsed accumulator of `$group`/`$bucket`/`$bucketAuto`: `{$op: argument}` or, for the
/// n-ary and sorted ones, `{$op: {n, input | output, sortBy}}`.
package struct AccumulatorSpec: Sendable, Equatable {
    /// "$sum", "$topN", ...
    package var op: String
    /// The expression evaluated per document (`input` of `$firstN`..., `output` of `$top`...).
    package var argument: Expr
    /// `n` of the *N accumulators (evaluated once per group, with the group's `_id` as `$_id`).
    package var n: Expr?
    /// `sortBy` of `$top`/`$bottom`/`$topN`/`$bottomN`.
    package var sortBy: SortPattern?
    /// `p` and `method` of `$percentile` / `$median`.
    package var percentile: PercentileOptions?

    package init(op: String, argument: Expr, n: Expr? = nil, sortBy: SortPattern? = nil, percentile: PercentileOptions? = nil) {
        self.op = op; self.argument = argument; self.n = n; self.sortBy = sortBy; self.percentile = percentile
    }

    static let simple: Set<String> = ["$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet",
                                      "$stdDevPop", "$stdDevSamp", "$mergeObjects", "$concatArrays", "$setUnion"]

    package static func parse(_ v: BSON, at loc: Location) throws -> AccumulatorSpec {
        guard let (op, arg) = v.singleField else {
            throw StrataError.badInput("an accumulator must be an object with exactly one field, the accumulator's name", at: loc)
        }
        let l = loc.appending(op)
        if simple.contains(op) {
            if case .array = arg { throw StrataError.badInput("The \(op) accumulator is a unary operator", at: l) }
            return AccumulatorSpec(op: op, argument: try Expr.parse(arg, at: l))
        }
        switch op {
        case "$count":
            guard case .document(let cd) = arg, cd.isEmpty else {
                throw StrataError.badInput("$count takes no arguments, i.e. $count:{}", at: l)
            }
            return AccumulatorSpec(op: op, argument: .literal(.int32(1)))
        case "$top", "$bottom", "$topN", "$bottomN":
            let single = op == "$top" || op == "$bottom"
            guard case .document(let a) = arg else { throw StrataError.badInput("specification must be an object; found \(arg.typeName)", at: l) }
            var n: Expr?, output: Expr?, sortBy: SortPattern?
            for (k, x) in a {
                switch k {
                case "n" where !single: n = try Expr.parse(x, at: l.appending(k))
                case "output": output = try Expr.parse(x, at: l.appending(k))
                case "sortBy":
                    guard case .document(let sd) = x else { throw StrataError.badInput("Value for 'sortBy' must be a non-empty object", at: l.appending(k)) }
                    sortBy = try SortPattern.parse(sd, at: l.appending(k), what: "sortBy")
                default: throw StrataError.badInput("Unknown argument to \(op) '\(k)'", at: l.appending(k))
                }
            }
            if !single && n == nil { throw StrataError.badInput("Missing value for 'n'", at: l) }
            guard let output else { throw StrataError.badInput("Missing value for 'output'", at: l) }
            guard let sortBy else { throw StrataError.badInput("Missing value for 'sortBy'", at: l) }
            return AccumulatorSpec(op: op, argument: output, n: n, sortBy: sortBy)
        case "$firstN", "$lastN", "$maxN", "$minN":
            guard case .document(let a) = arg else { throw StrataError.badInput("specification must be an object; found \(arg.typeName)", at: l) }
            var n: Expr?, input: Expr?
            for (k, x) in a {
                switch k {
                case "n": n = try Expr.parse(x, at: l.appending(k))
                case "input": input = try Expr.parse(x, at: l.appending(k))
                default: throw StrataError.badInput("Unknown argument to \(op) '\(k)'", at: l.appending(k))
                }
            }
            guard let n else { throw StrataError.badInput("Missing value for 'n'", at: l) }
            guard let input else { throw StrataError.badInput("Missing value for 'input'", at: l) }
            return AccumulatorSpec(op: op, argument: input, n: n)
        case "$median", "$percentile":
            let (options, input) = try PercentileOptions.parse(op, arg, at: l)
            return AccumulatorSpec(op: op, argument: input, percentile: options)
        case "$accumulator", "$covariancePop", "$covarianceSamp", "$expMovingAvg",
             "$derivative", "$integral", "$rank", "$denseRank", "$documentNumber", "$shift", "$locf", "$linearFill":
            throw StrataError.unsupported("the \(op) accumulator is not supported by strata's evaluator", at: l)
        default:
            throw StrataError.badInput("unknown group operator '\(op)'", at: l)
        }
    }

    package var bson: BSON {
        switch op {
        case "$count": return ["$count": .document([:])]
        case "$top", "$bottom", "$topN", "$bottomN":
            var d = Document()
            if let n { d["n"] = n.bson }
            d["sortBy"] = sortBy?.bson ?? .document([:])
            d["output"] = argument.bson
            return .document([op: .document(d)])
        case "$firstN", "$lastN", "$maxN", "$minN":
            return .document([op: .document(["input": argument.bson, "n": n?.bson ?? .null])])
        case "$median", "$percentile":
            return .document([op: percentile?.argumentBSON(argument) ?? .null])
        default:
            return .document([op: argument.bson])
        }
    }

    /// True when `n` reads the group key (a field path or `$$ROOT`), so differs by group.
    package var nDependsOnKey: Bool { n.map { !$0.fieldPaths.isEmpty || $0.usesRoot } ?? false }

    /// A fresh accumulator. `groupId` is the group's `_id`, against which `n` is evaluated.
    package func makeAccumulator(groupId: BSON? = nil, variables: Variables = Variables()) throws -> any Accumulator {
        switch op {
        case "$sum", "$count":
            // mongod sums a constant argument ({$sum: 1}, {$sum: 0.5}) with plain arithmetic
            if case .literal(let v) = argument, v.isNumber { return SumAccumulator(constant: true) }
            return SumAccumulator()
        case "$avg": return AvgAccumulator()
        case "$min": return MinMaxAccumulator(isMax: false)
        case "$max": return MinMaxAccumulator(isMax: true)
        case "$first": return FirstAccumulator()
        case "$last": return LastAccumulator()
        case "$push": return PushAccumulator()
        case "$concatArrays": return ConcatArraysAccumulator()
        case "$addToSet": return AddToSetAccumulator()
        case "$setUnion": return SetUnionAccumulator()
        case "$mergeObjects": return MergeObjectsAccumulator()
        case "$stdDevPop": return StdDevAccumulator(sample: false)
        case "$stdDevSamp": return StdDevAccumulator(sample: true)
        case "$top", "$bottom", "$topN", "$bottomN":
            let n = op == "$top" || op == "$bottom" ? 1 : try evaluateN(groupId: groupId, variables: variables)
            return TopBottomAccumulator(pattern: sortBy!, n: n, top: op.hasPrefix("$top"), single: !op.hasSuffix("N"))
        case "$firstN": return FirstLastNAccumulator(n: try evaluateN(groupId: groupId, variables: variables), first: true)
        case "$lastN": return FirstLastNAccumulator(n: try evaluateN(groupId: groupId, variables: variables), first: false)
        case "$maxN": return MinMaxNAccumulator(n: try evaluateN(groupId: groupId, variables: variables), isMax: true)
        case "$minN": return MinMaxNAccumulator(n: try evaluateN(groupId: groupId, variables: variables), isMax: false)
        case "$median", "$percentile":
            return PercentileAccumulator(options: percentile ?? PercentileOptions(ps: [0.5], method: .approximate, isMedian: op == "$median"))
        default: throw StrataError.unsupported("the \(op) accumulator is not supported by strata's evaluator")
        }
    }

    /// mongod (GroupProcessor) evaluates `n` once per group with the group key as the root
    /// document: `"$gameId"` reads the `gameId` field of `_id: {gameId: ...}`; a key that is
    /// not a document gives an empty root.
    func evaluateN(groupId: BSON?, variables: Variables) throws -> Int {
        guard let n else { return 1 }
        var doc = Document()
        if case .document(let d)? = groupId { doc = d }
        let v = try EvalContext(root: doc, variables: variables).eval(n)
        guard let v, v.isNumber, Numeric.isIntegral64(v) else {
            throw evalError("Value for 'n' must be of integral type, but found \(show(v))")
        }
        let k = Numeric.coerceToLong(v)!
        if k <= 0 { throw evalError("'n' must be greater than 0, found \(k)") }
        return Int(clamping: k)
    }

    /// The value to feed `accumulate` for one document: the argument's value, or for the
    /// `$top` family `{output, sortFields: [...]}`.
    func input(_ ctx: EvalContext) throws -> BSON? {
        if let sortBy, op == "$top" || op == "$bottom" || op == "$topN" || op == "$bottomN" {
            var fields: [BSON] = []
            for c in sortBy.components {
                fields.append(try ctx.eval(.fieldPath(c.path)) ?? .null)
            }
            var d = Document()
            if let o = try ctx.eval(argument) { d[TopBottomAccumulator.PartialField.output] = o }
            d[TopBottomAccumulator.PartialField.sortFields] = .array(fields)
            return .document(d)
        }
        return try ctx.eval(argument)
    }
}
