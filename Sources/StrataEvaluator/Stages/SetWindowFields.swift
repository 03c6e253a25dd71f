import StrataBSON
import StrataLibBSON

/// `$setWindowFields` with the window functions strata implements exactly:
/// `$sum $avg $min $max $count $push $addToSet $stdDevPop $stdDevSamp $first $last $shift
/// $locf $linearFill $rank $denseRank $documentNumber $derivative $integral $covariance*
/// $expMovingAvg` (`SetWindowFields+ExpMovingAvg.swift`) and the accumulator-style ones
/// (`$topN`, `$median`...), document windows (`[lower, upper]` of integers, "current",
/// "unbounded") and range windows (numbers, or dates with a `unit`, on a single ascending or
/// descending `sortBy` field). `$minMaxScaler` is refused as unsupported.
///
/// Semantics follow mongod's executors: a left-unbounded window uses the `$group`
/// accumulator; a bounded one uses the removable implementations (`$sum`/`$avg` narrow their
/// result type to what the documents *in the window* need; `$stdDev*` use mongod's
/// incremental formula; `$addToSet` returns its values in BSON order).
public struct SetWindowFields: Sendable, Equatable {
    package enum Bound: Sendable, Equatable {
        case unbounded, current
        case offset(BSON)  // a number (documents: an integer)
    }

    package struct Window: Sendable, Equatable {
        package var isRange: Bool
        package var lower: Bound
        package var upper: Bound
        /// For range windows over dates.
        package var unit: String?
        package static let whole = Window(isRange: false, lower: .unbounded, upper: .unbounded, unit: nil)
    }

    package struct Output: Sendable, Equatable {
        package var path: String
        /// "$sum", "$rank", ...
        package var function: String
        /// The function's argument (for `$shift`, its `output`).
        package var argument: Expr?
        /// `$shift`'s `by` and `default`.
        package var shiftBy: Int?
        package var shiftDefault: BSON?
        package var window: Window?
        /// For the accumulator-style functions (`$topN`, `$firstN`, `$percentile`...): the
        /// parsed accumulator (its `n`, `sortBy`, percentile options).
        package var accumulator: AccumulatorSpec?
        /// `unit` of `$derivative` / `$integral`, in milliseconds.
        package var unitMillis: Int64?
        /// The argument as written (for serialization).
        var rawArgument: BSON
        /// `$expMovingAvg`'s alpha (from `alpha`, or 2 / (N + 1)).
        var alpha: Decimal128? = nil
    }

    package var partitionBy: Expr?
    package var sortBy: SortPattern?
    package var outputs: [Output]

    static let accumulatorFunctions: Set<String> = ["$sum", "$avg", "$min", "$max", "$count", "$push", "$addToSet", "$stdDevPop", "$stdDevSamp"]
    /// Window functions computed by a `$group` accumulator over the window (left-unbounded
    /// windows, as mongod) or recomputed per window (bounded windows).
    static let accumulatorStyle: Set<String> = ["$topN", "$bottomN", "$top", "$bottom", "$firstN", "$lastN", "$maxN", "$minN",
                                                "$median", "$percentile", "$mergeObjects", "$concatArrays", "$setUnion"]
    static let supported: Set<String> = accumulatorFunctions.union(accumulatorStyle)
        .union(["$first", "$last", "$shift", "$locf", "$linearFill", "$rank", "$denseRank", "$documentNumber",
                "$derivative", "$integral", "$covariancePop", "$covarianceSamp", "$expMovingAvg"])
    static let known: Set<String> = supported.union(["$minMaxScaler"])
    static let unitMillis: [String: Int64] = ["week": 604_800_000, "day": 86_400_000, "hour": 3_600_000, "minute": 60_000,
                                              "second": 1000, "millisecond": 1]
    static let units: Set<String> = ["year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond"]

    package var bson: Document {
        var d = Document()
        if let partitionBy { d["partitionBy"] = partitionBy.bson }
        if let sortBy { d["sortBy"] = sortBy.bson }
        var out = Document()
        for o in outputs {
            var f: Document = [o.function: o.rawArgument]
            if let w = o.window {
                func b(_ x: Bound) -> BSON {
                    switch x { case .unbounded: return "unbounded"; case .current: return "current"; case .offset(let n): return n }
                }
                var wd: Document = [w.isRange ? "range" : "documents": [b(w.lower), b(w.upper)]]
                if let u = w.unit { wd["unit"] = .string(u) }
                f["window"] = .document(wd)
            }
            out[o.path] = .document(f)
        }
        d["output"] = .document(out)
        return d
    }
}

/// Buffers the input, then sorts it by (partition, sortBy) and computes each output.
final class SetWindowFieldsOp: Op {
    let spec: SetWindowFields, next: Op, loc: Location, ctx: ExecutionContext
    var entries: [(part: BSON, key: [BSON], pos: Int, doc: Document)] = []

    init(_ s: SetWindowFields, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) { spec = s; self.ctx = ctx; self.loc = loc; self.next = next }

    override func push(_ doc: Document) throws -> Bool {
        try located(loc) {
            var part: BSON = .null
            if let p = spec.partitionBy {
                part = try EvalContext(root: doc, variables: ctx.variables).eval(p) ?? .null
                if case .array = part { throw evalError("partitionBy expression must not evaluate to an array") }
            }
            let key = try spec.sortBy?.key(.document(doc)) ?? []
            entries.append((part, key, entries.count, doc))
        }
        return true
    }

    override func finish() throws {
        let sortBy = spec.sortBy
        let sorted = entries.sorted { a, b in
            let c = BSONOrder.compare(a.part, b.part)
            if c != 0 { return c < 0 }
            if let s = sortBy { let k = s.compare(a.key, b.key); if k != 0 { return k < 0 } }
            return a.pos < b.pos
        }
        entries = []
        var start = 0
        var stop = false
        while start < sorted.count && !stop {
            var end = start + 1
            while end < sorted.count && BSONOrder.compare(sorted[end].part, sorted[start].part) == 0 { end += 1 }
            var docs = sorted[start..<end].map(\.doc)
            let keys = sorted[start..<end].map(\.key)
            try located(loc) {
                let columns = try orderedOutputs.map { try computeOutput(spec.outputs[$0], docs, keys) }
                for i in docs.indices { docs[i] = try applyOutputs(docs[i], columns.map { $0[i] }) }
            }
            for d in docs { if try !next.push(d) { stop = true; break } }
            start = end
        }
        try next.finish()
    }

    /// The outputs in the order mongod adds them: by field name, bytewise (a `std::map`).
    lazy var orderedOutputs: [Int] = spec.outputs.indices.sorted {
        Array(spec.outputs[$0].path.utf8).lexicographicallyPrecedes(Array(spec.outputs[$1].path.utf8))
    }
    /// `$addFields` projections binding each output to a variable, per set of missing outputs.
    var projections: [[Bool]: Projection] = [:]
    static func variableName(_ i: Int) -> String { "ω\(i)" }

    /// Writes the computed values as mongod does: an `$addFields` of constants (a missing
    /// value removes the field).
    func applyOutputs(_ doc: Document, _ values: [BSON?]) throws -> Document {
        let missing = values.map { $0 == nil }
        let projection: Projection
        if let p = projections[missing] {
            projection = p
        } else {
            var spec = Document()
            for (k, idx) in orderedOutputs.enumerated() {
                spec[self.spec.outputs[idx].path] = missing[k] ? "$$REMOVE" : .string("$$" + SetWindowFieldsOp.variableName(k))
            }
            projection = try Projection.parseAddFields(spec, at: loc)
            projections[missing] = projection
        }
        var vars = ctx.variables
        for (k, v) in values.enumerated() { if let v { vars.values[SetWindowFieldsOp.variableName(k)] = v } }
        return try projection.apply(to: doc, variables: vars)
    }
}
