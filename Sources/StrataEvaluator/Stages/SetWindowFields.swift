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
    public enum Bound: Sendable, Equatable {
        case unbounded, current
        case offset(BSON)  // a number (documents: an integer)
    }

    public struct Window: Sendable, Equatable {
        public var isRange: Bool
        public var lower: Bound
        public var upper: Bound
        /// For range windows over dates.
        public var unit: String?
        public static let whole = Window(isRange: false, lower: .unbounded, upper: .unbounded, unit: nil)
    }

    public struct Output: Sendable, Equatable {
        public var path: String
        /// "$sum", "$rank", ...
        public var function: String
        /// The function's argument (for `$shift`, its `output`).
        public var argument: Expr?
        /// `$shift`'s `by` and `default`.
        public var shiftBy: Int?
        public var shiftDefault: BSON?
        public var window: Window?
        /// For the accumulator-style functions (`$topN`, `$firstN`, `$percentile`...): the
        /// parsed accumulator (its `n`, `sortBy`, percentile options).
        public var accumulator: AccumulatorSpec?
        /// `unit` of `$derivative` / `$integral`, in milliseconds.
        public var unitMillis: Int64?
        /// The argument as written (for serialization).
        var rawArgument: BSON
        /// `$expMovingAvg`'s alpha (from `alpha`, or 2 / (N + 1)).
        var alpha: Decimal128? = nil
    }

    public var partitionBy: Expr?
    public var sortBy: SortPattern?
    public var outputs: [Output]

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

    public static func parse(_ v: BSON, at l: Location) throws -> SetWindowFields {
        guard case .document(let d) = v else { throw StrataError.badInput("$setWindowFields must be an object", at: l) }
        var partitionBy: Expr?, sortBy: SortPattern?, outputRaw: Document?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "partitionBy":
                partitionBy = try Expr.parse(x, at: kl)
            case "sortBy":
                guard case .document(let sd) = x else { throw StrataError.badInput("sortBy must be an object", at: kl) }
                sortBy = try SortPattern.parse(sd, at: kl, what: "sortBy")
            case "output":
                guard case .document(let od) = x else { throw StrataError.badInput("output must be an object", at: kl) }
                outputRaw = od
            default:
                throw StrataError.badInput("BSON field '$setWindowFields.\(k)' is an unknown field.", at: kl)
            }
        }
        guard let outputRaw else { throw StrataError.badInput("BSON field '$setWindowFields.output' is missing but a required field", at: l) }
        let outputs = try outputRaw.map { try parseOutput($0.key, $0.value, sortBy: sortBy, at: l.appending("output").appending($0.key)) }
        let paths = outputs.map { Query.components($0.path) }
        for i in paths.indices {
            for j in paths.indices where j != i && paths[j].count >= paths[i].count && Array(paths[j].prefix(paths[i].count)) == paths[i] {
                throw StrataError.badInput("$setWindowFields 'output' specification contains two conflicting paths", at: l.appending("output").appending(outputs[j].path))
            }
        }
        return SetWindowFields(partitionBy: partitionBy, sortBy: sortBy, outputs: outputs)
    }

    static func parseBound(_ v: BSON, range: Bool, at l: Location) throws -> Bound {
        switch v {
        case .string("unbounded"): return .unbounded
        case .string("current"): return .current
        case let n where n.isNumber:
            if !range {
                guard n.exactInt != nil else { throw StrataError.badInput("Numeric document-based bounds must be an integer", at: l) }
            }
            return .offset(n)
        default:
            throw StrataError.badInput("Window bounds must be 'unbounded', 'current', or a number", at: l)
        }
    }

    static func parseOutput(_ path: String, _ v: BSON, sortBy: SortPattern?, at l: Location) throws -> Output {
        _ = try Projection.splitPath(path, at: l)
        guard case .document(let d) = v else { throw StrataError.badInput("The field '\(path)' must be an object", at: l) }
        var fn: (String, BSON)?
        var window: Window?
        for (k, x) in d {
            if k == "window" {
                guard case .document(let wd) = x else { throw StrataError.badInput("'window' field must be an object", at: l.appending(k)) }
                var w = Window(isRange: false, lower: .unbounded, upper: .unbounded, unit: nil)
                var bounds: [BSON]?
                for (wk, wx) in wd {
                    let wl = l.appending(k).appending(wk)
                    switch wk {
                    case "documents", "range":
                        if bounds != nil { throw StrataError.badInput("Window bounds can only specify one of 'documents' or 'range'", at: wl) }
                        guard case .array(let b) = wx, b.count == 2 else {
                            throw StrataError.badInput("Window bounds must be a 2-element array: \(show(wx))", at: wl)
                        }
                        bounds = b
                        w.isRange = wk == "range"
                    case "unit":
                        guard case .string(let u) = wx, units.contains(u) else { throw StrataError.badInput("unknown time unit value: \(show(wx))", at: wl) }
                        w.unit = u
                    default:
                        throw StrataError.badInput("'window' field can only contain 'documents' as the only argument or 'range' with an optional 'unit' field", at: wl)
                    }
                }
                guard let bounds else { throw StrataError.badInput("'window' field that specifies 'unit' must also specify 'range'", at: l.appending(k)) }
                if w.unit != nil && !w.isRange { throw StrataError.badInput("'window' field that specifies 'unit' must also specify 'range'", at: l.appending(k)) }
                w.lower = try parseBound(bounds[0], range: w.isRange, at: l.appending(k))
                w.upper = try parseBound(bounds[1], range: w.isRange, at: l.appending(k))
                if w.upper == .unbounded, w.lower != .unbounded {} // fine
                if case .offset(let a) = w.lower, case .offset(let b) = w.upper, BSONOrder.compare(a, b) > 0 {
                    throw StrataError.badInput("Lower bound must not exceed upper bound: \(show(a)) > \(show(b))", at: l.appending(k))
                }
                if w.lower == .unbounded && w.upper == .unbounded {} // whole partition
                if case .unbounded = w.upper, case .current = w.lower {} // ok
                if w.isRange {
                    guard let s = sortBy, s.components.count == 1 else {
                        throw StrataError.badInput("Range-based bounds require sortBy a single field", at: l.appending(k))
                    }
                    guard s.components[0].ascending else {
                        throw StrataError.badInput("Range-based bounds require an ascending sortBy", at: l.appending(k))
                    }
                }
                // 'current' is offset 0
                switch (w.lower, w.upper) {
                case (.offset(let a), .current) where BSONOrder.compare(a, .int32(0)) > 0,
                     (.current, .offset(let a)) where BSONOrder.compare(a, .int32(0)) < 0:
                    throw StrataError.badInput("Lower bound must not exceed upper bound", at: l.appending(k))
                default: break
                }
                window = w
                continue
            }
            if fn != nil { throw StrataError.badInput("Expected a single window function in '\(path)', found \(k)", at: l.appending(k)) }
            fn = (k, x)
        }
        guard let (name, arg) = fn else { throw StrataError.badInput("Expected a window function in '\(path)'", at: l) }
        let fl = l.appending(name)
        guard known.contains(name) else { throw StrataError.badInput("Unrecognized window function, \(name)", at: fl) }
        guard supported.contains(name) else {
            throw StrataError.unsupported("the \(name) window function is not supported by strata's evaluator", at: fl)
        }
        var out = Output(path: path, function: name, argument: nil, shiftBy: nil, shiftDefault: nil, window: window, accumulator: nil,
                         unitMillis: nil, rawArgument: arg)
        if accumulatorStyle.contains(name) {
            let spec = try AccumulatorSpec.parse(.document([name: arg]), at: l)
            if let w = window, w.lower != .unbounded, name == "$mergeObjects" || name == "$setUnion" {
                throw StrataError.unsupported("\(name) over a bounded window is not supported by strata's evaluator", at: fl)
            }
            if let w = window, w.lower != .unbounded || w.upper != .unbounded, sortBy == nil, !w.isRange {
                throw StrataError.badInput("Document-based bounds require a sortBy", at: fl)
            }
            out.accumulator = spec
            out.argument = spec.argument
            return out
        }
        switch name {
        case "$rank", "$denseRank", "$documentNumber":
            guard case .document(let a) = arg, a.isEmpty else { throw StrataError.badInput("\(name) takes no arguments, i.e. \(name): {}", at: fl) }
            if window != nil { throw StrataError.badInput("\(name) does not accept a 'window' field", at: fl) }
            guard let s = sortBy, name == "$documentNumber" || s.components.count == 1 else {
                throw StrataError.badInput("\(name) must be specified with a top level sortBy expression with exactly one element", at: fl)
            }
            _ = s
        case "$count":
            guard case .document(let a) = arg, a.isEmpty else { throw StrataError.badInput("$count takes no arguments, i.e. $count: {}", at: fl) }
            out.argument = .literal(.int32(1))
        case "$shift":
            guard case .document(let a) = arg else { throw StrataError.badInput("Argument to $shift must be an object", at: fl) }
            if window != nil { throw StrataError.badInput("$shift does not accept a 'window' field", at: fl) }
            guard sortBy != nil else { throw StrataError.badInput("$shift requires a sortBy", at: fl) }
            for (k, x) in a {
                switch k {
                case "output": out.argument = try Expr.parse(x, at: fl.appending(k))
                case "by":
                    guard x.isNumber, let n = x.exactInt, Int32(exactly: n) != nil else {
                        throw StrataError.badInput("'$shift:by' field must be an integer, but found \(show(x))", at: fl.appending(k))
                    }
                    out.shiftBy = Int(n)
                case "default":
                    let e = try Expr.parse(x, at: fl.appending(k))
                    guard case .literal(let c) = e else { throw StrataError.badInput("'$shift:default' expression must yield a constant value.", at: fl.appending(k)) }
                    out.shiftDefault = c
                default: throw StrataError.badInput("Unknown argument in $shift: \(k)", at: fl.appending(k))
                }
            }
            if out.argument == nil || out.shiftBy == nil { throw StrataError.badInput("$shift requires 'output' and 'by'", at: fl) }
        case "$expMovingAvg":
            try parseExpMovingAvg(&out, arg, window: window, sortBy: sortBy, at: fl)
        case "$locf":
            if window != nil { throw StrataError.badInput("$locf does not accept a 'window' field", at: fl) }
            out.argument = try Expr.parse(arg, at: fl)
        case "$derivative", "$integral":
            guard case .document(let a) = arg else { throw StrataError.badInput("\(name) expects an object, but got a \(arg.typeName): \(show(arg))", at: fl) }
            var input: Expr?
            for (k, x) in a {
                switch k {
                case "input": input = try Expr.parse(x, at: fl.appending(k))
                case "unit":
                    guard case .string(let u) = x else { throw StrataError.badInput("\(name) 'unit' must be a string, but got \(x.typeName)", at: fl.appending(k)) }
                    guard units.contains(u) else { throw StrataError.badInput("unknown time unit value: \(u)", at: fl.appending(k)) }
                    guard let ms = unitMillis[u] else {
                        throw StrataError.badInput("unit '\(u)' is not supported: use week, day, hour, minute, second or millisecond", at: fl.appending(k))
                    }
                    out.unitMillis = ms
                default: throw StrataError.badInput("\(name) got unexpected argument: \(k)", at: fl.appending(k))
                }
            }
            guard let input else { throw StrataError.badInput("\(name) requires an 'input' expression", at: fl) }
            guard let s = sortBy, s.components.count == 1 else {
                throw StrataError.badInput("\(name) requires a sortBy with exactly one field", at: fl)
            }
            if name == "$derivative" {
                if window == nil { throw StrataError.badInput("$derivative requires explicit window bounds", at: fl) }
                out.argument = input
            } else {
                // mongod feeds $integral the pair [sortBy value, input]
                out.argument = .array([.fieldPath(s.components[0].path), input])
            }
        case "$covariancePop", "$covarianceSamp":
            out.argument = try Expr.parse(arg, at: fl)
            if let w = window, !w.isRange, w != .whole, sortBy == nil {
                throw StrataError.badInput("Document-based bounds require a sortBy", at: fl)
            }
        case "$linearFill":
            if window != nil { throw StrataError.badInput("$linearFill does not accept a 'window' field", at: fl) }
            guard let s = sortBy, s.components.count == 1 else {
                throw StrataError.badInput("$linearFill must be specified with a top level sortBy expression with exactly one element", at: fl)
            }
            out.argument = try Expr.parse(arg, at: fl)
        default:
            if case .array = arg, name != "$push" && name != "$addToSet" {
                throw StrataError.badInput("Window function \(name) is a unary operator", at: fl)
            }
            out.argument = try Expr.parse(arg, at: fl)
            if window?.isRange == false || window == nil {
                if case .offset(let n)? = window?.lower, n.exactInt == nil { throw StrataError.badInput("Numeric document-based bounds must be an integer", at: fl) }
            }
            if (window != nil && window != .whole) && sortBy == nil {
                throw StrataError.badInput("Document-based bounds require a sortBy", at: fl)
            }
        }
        return out
    }

    public var bson: Document {
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

    // MARK: outputs

    func computeOutput(_ o: SetWindowFields.Output, _ docs: [Document], _ keys: [[BSON]]) throws -> [BSON?] {
        let n = docs.count
        func eval(_ i: Int) throws -> BSON? {
            guard let a = o.argument else { return nil }
            return try EvalContext(root: docs[i], variables: ctx.variables).eval(a)
        }
        switch o.function {
        case "$documentNumber":
            return (0..<n).map { Numeric.intOrLong(Int64($0 + 1)) }
        case "$rank", "$denseRank":
            var out: [BSON?] = []
            var last: BSON?? = nil
            var rank: Int64 = 0, same: Int64 = 1
            let comp = spec.sortBy!.components[0]
            for i in 0..<n {
                let v = docs[i].value(atPath: comp.path)
                let isSame: Bool = {
                    guard let l = last else { return false }
                    if BSON.isNullish(l) && BSON.isNullish(v) { return true }
                    if case .array? = l, true { return BSONOrder.compare(keys[i - 1][0], keys[i][0]) == 0 }
                    if case .array? = v { return BSONOrder.compare(keys[i - 1][0], keys[i][0]) == 0 }
                    return BSONOrder.compare(l, v) == 0
                }()
                if o.function == "$rank" {
                    if !isSame { rank += same; same = 1; last = .some(v) } else { same += 1 }
                } else if !isSame { rank += 1; last = .some(v) }
                out.append(Numeric.intOrLong(rank))
            }
            return out
        case "$shift":
            let by = o.shiftBy!
            return try (0..<n).map { i in
                let j = i + by
                guard j >= 0 && j < n else { return o.shiftDefault ?? .null }
                return try eval(j)  // missing stays missing: the field is not set
            }
        case "$linearFill":
            return try linearFill(o, docs)
        case "$derivative":
            return try derivative(o, docs)
        case "$expMovingAvg":
            return try expMovingAvg(o, docs)
        case "$locf":
            var lastSeen: BSON = .null
            return try (0..<n).map { i in
                let v = try eval(i)
                if !BSON.isNullish(v) { lastSeen = v! }
                return lastSeen
            }
        default:
            break
        }
        if let accSpec = o.accumulator { return try accumulatorStyleOutput(o, accSpec, docs) }
        // window functions over [lo, hi] index ranges
        let window = o.window ?? .whole
        let values = try (0..<n).map { try eval($0) }
        let bounds = try windowBounds(window, docs, n)
        switch o.function {
        case "$first", "$last":
            return bounds.map { b in
                guard let (lo, hi) = b else { return .null }
                return values[o.function == "$first" ? lo : hi]  // missing stays missing
            }
        default:
            break
        }
        let leftUnbounded = window.lower == .unbounded
        if leftUnbounded, let stateful = try RemovableWindow.nonRemovable(o) {
            // $integral and $covariance*: mongod's accumulators wrap the window states
            var state = stateful
            var added = 0
            var out: [BSON?] = []
            for b in bounds {
                let hi = b.map { $0.1 } ?? -1
                while added <= hi { try state.add(values[added]); added += 1 }
                out.append(try state.value())
            }
            return out
        }
        if leftUnbounded {
            // mongod's non-removable executor: the $group accumulator over the window
            let accSpec = AccumulatorSpec(op: o.function == "$count" ? "$sum" : o.function, argument: o.argument ?? .literal(.null))
            var acc = try accSpec.makeAccumulator(variables: ctx.variables)
            var added = 0
            var out: [BSON?] = []
            for b in bounds {
                let hi = b.map { $0.1 } ?? -1
                while added <= hi { try acc.accumulate(values[added]); added += 1 }
                out.append(try acc.finalize() ?? .null)
            }
            return out
        }
        // mongod's removable executors: add the entering values, then remove the leaving ones
        var state = try RemovableWindow.nonRemovable(o) ?? RemovableWindow.make(o.function)
        var added = 0
        var out: [BSON?] = []
        if !window.isRange {
            let lower: Int = { if case .offset(let v) = window.lower { return Int(v.exactInt!) }; return 0 }()
            let upper: Int? = {
                switch window.upper { case .unbounded: return nil; case .current: return 0; case .offset(let v): return Int(v.exactInt!) }
            }()
            var deque: [BSON?] = []
            var head = 0
            for i in 0..<n {
                if i == 0 {
                    var j = max(lower, 0)
                    while j < n && (upper == nil || j <= upper!) { try state.add(values[j]); deque.append(values[j]); j += 1 }
                } else {
                    if let upper, i + upper < n, i + upper >= 0 { try state.add(values[i + upper]); deque.append(values[i + upper]) }
                    if lower >= 0 || i > abs(lower), head < deque.count { try state.remove(deque[head]); head += 1 }
                }
                out.append(try state.value())
            }
            return out
        }
        var inWindow = [Bool](repeating: false, count: n)
        var front = 0
        for b in bounds {
            if let (lo, hi) = b {
                while added <= hi {
                    if added >= lo { try state.add(values[added]); inWindow[added] = true }
                    added += 1
                }
                while front < lo {
                    if inWindow[front] { try state.remove(values[front]); inWindow[front] = false }
                    front += 1
                }
            } else {
                while front < added {
                    if inWindow[front] { try state.remove(values[front]); inWindow[front] = false }
                    front += 1
                }
            }
            out.append(try state.value())
        }
        return out
    }

    /// `$topN`, `$firstN`, `$percentile`... : mongod feeds a left-unbounded window to the
    /// `$group` accumulator; bounded windows use removable implementations whose result is the
    /// accumulator's over the window's documents (for `$median`/`$percentile` the exact
    /// percentile of the window, whatever the method).
    func accumulatorStyleOutput(_ o: SetWindowFields.Output, _ spec: AccumulatorSpec, _ docs: [Document]) throws -> [BSON?] {
        let n = docs.count
        let window = o.window ?? .whole
        let bounds = try windowBounds(window, docs, n)
        let inputs = try (0..<n).map { try spec.input(EvalContext(root: docs[$0], variables: ctx.variables)) }
        var out: [BSON?] = []
        out.reserveCapacity(n)
        if window.lower == .unbounded {
            var acc = try spec.makeAccumulator(variables: ctx.variables)
            var added = 0
            for b in bounds {
                let hi = b.map { $0.1 } ?? -1
                while added <= hi { try acc.accumulate(inputs[added]); added += 1 }
                out.append(try acc.finalize() ?? .null)
            }
            return out
        }
        for b in bounds {
            if let options = spec.percentile {
                var sample = ExactSample()
                if let (lo, hi) = b {
                    for v in inputs[lo...hi] { if let v, v.isNumber, let d = v.doubleValue { sample.add(d) } }
                }
                out.append(options.format(sample.percentiles(options.ps, continuous: options.method == .continuous)))
                continue
            }
            var acc = try spec.makeAccumulator(variables: ctx.variables)
            if let top = acc as? TopBottomAccumulator {
                acc = TopBottomAccumulator(pattern: top.pattern, n: top.n, top: top.top, single: top.single, removable: true)
            }
            if let (lo, hi) = b { for v in inputs[lo...hi] { try acc.accumulate(v) } }
            out.append(try acc.finalize() ?? .null)
        }
        return out
    }

    /// mongod's `$linearFill`: a nullish value between two documents with values is
    /// `y1 + (x − x1) · ((y2 − y1) / (x2 − x1))` computed with `$add`/`$subtract`/`$multiply`/
    /// `$divide` (so a double); nullish values without a value on both sides stay null. The
    /// sortBy values must be numbers or dates (not mixed) and distinct within a partition.
    func linearFill(_ o: SetWindowFields.Output, _ docs: [Document]) throws -> [BSON?] {
        let path = spec.sortBy!.components[0].path
        let n = docs.count
        func fill(_ i: Int) throws -> BSON? { try EvalContext(root: docs[i], variables: ctx.variables).eval(o.argument!) }
        func sortValue(_ i: Int) throws -> BSON? { try EvalContext(root: docs[i], variables: ctx.variables).eval(.fieldPath(path)) }
        func isDateLike(_ v: BSON) -> Bool {
            switch v { case .date, .timestamp, .objectId: return true; default: return false }
        }
        var out: [BSON?] = []
        out.reserveCapacity(n)
        var lastSort: BSON?
        var first: (BSON, BSON)?, second: (BSON, BSON)?
        for i in 0..<n {
            let y = try fill(i)
            if !BSON.isNullish(y) && !(y!.isNumber) {
                throw evalError("Value to be filled must be numeric or nullish, but found \(typeName(y))")
            }
            guard let x = try sortValue(i), x.isNumber || isDateLike(x) else {
                throw evalError("Value of the sortBy field must be numeric or a date, but found \(typeName(try sortValue(i)))")
            }
            if let l = lastSort {
                if BSONOrder.compare(l, x) == 0 { throw evalError("There can be no repeated values in the sort field") }
                if !((isDateLike(l) && isDateLike(x)) || (l.isNumber && x.isNumber)) {
                    throw evalError("Conflicting sort value types, previously received type \(typeName(l)), but found \(typeName(x))")
                }
            }
            lastSort = x
            if let y, !BSON.isNullish(y) {
                first = second ?? (x, y)
                second = nil
                out.append(y)
                continue
            }
            guard let (x1, y1) = first else { out.append(.null); continue }
            if second == nil {
                var j = i + 1
                while j < n {
                    if let yj = try fill(j), !BSON.isNullish(yj), let xj = try sortValue(j), !BSON.isNullish(xj) { second = (xj, yj); break }
                    j += 1
                }
            }
            guard let (x2, y2) = second else { out.append(.null); continue }
            let slope = try EvalContext.divide(try EvalContext.subtract(y2, y1), try EvalContext.subtract(x2, x1))
            out.append(try EvalContext.add([y1, try EvalContext.multiply([try EvalContext.subtract(x, x1), slope])]))
        }
        return out
    }

    /// mongod's `$derivative`: (y(last) − y(first)) / (x(last) − x(first)) over the window's
    /// endpoints, times `unit` in milliseconds for dates; null for an empty window or a zero run.
    func derivative(_ o: SetWindowFields.Output, _ docs: [Document]) throws -> [BSON?] {
        let path = spec.sortBy!.components[0].path
        let bounds = try windowBounds(o.window!, docs, docs.count)
        func at(_ i: Int) -> EvalContext { EvalContext(root: docs[i], variables: ctx.variables) }
        return try bounds.map { b in
            guard let (lo, hi) = b else { return .null }
            let t0 = try at(lo).eval(.fieldPath(path)), t1 = try at(hi).eval(.fieldPath(path))
            func isDate(_ v: BSON?) -> Bool { if case .date? = v { return true }; return false }
            if o.unitMillis != nil {
                guard isDate(t0) && isDate(t1) else { throw evalError("$derivative with 'unit' expects the sortBy field to be a Date") }
            } else {
                if isDate(t0) || isDate(t1) { throw evalError("$derivative where the sortBy is a Date requires an 'unit'") }
                guard t0?.isNumber == true && t1?.isNumber == true else { throw evalError("$derivative (with no 'unit') expects the sortBy field to be numeric") }
            }
            let run = try EvalContext.subtract(t1, t0)
            let rise = try EvalContext.subtract(try at(hi).eval(o.argument!), try at(lo).eval(o.argument!))
            if BSON.isNullish(rise) { throw evalError("$derivative input must not be null or missing") }
            if let r = run, r.isNumber, r.doubleValue == 0 { return .null }
            var result = try EvalContext.divide(rise, run)
            if let ms = o.unitMillis { result = try EvalContext.multiply([result, .int64(ms)]) }
            return result
        }
    }

    /// The inclusive index range of each document's window (nil when empty).
    func windowBounds(_ w: SetWindowFields.Window, _ docs: [Document], _ n: Int) throws -> [(Int, Int)?] {
        if !w.isRange {
            return (0..<n).map { i in
                func pos(_ b: SetWindowFields.Bound, _ isLower: Bool) -> Int {
                    switch b {
                    case .unbounded: return isLower ? 0 : n - 1
                    case .current: return i
                    case .offset(let v): return i + Int(v.exactInt!)
                    }
                }
                let lo = max(0, pos(w.lower, true)), hi = min(n - 1, pos(w.upper, false))
                return lo <= hi ? (lo, hi) : nil
            }
        }
        // range windows on the single (ascending) sortBy field, as mongod's PartitionIterator:
        // 'current' is the current document itself; a numeric bound is the first / last
        // document whose value reaches base + delta (mongod adds in decimal128)
        let comp = spec.sortBy!.components[0]
        let sortValues: [BSON] = try docs.map { d in
            let v = d.value(atPath: comp.path)
            if w.unit != nil {
                guard case .date? = v else { throw evalError("Invalid range: Expected the sortBy field to be a Date, but it was \(typeName(v))") }
            } else {
                if case .date? = v { throw evalError("Invalid range: For windows that involve date or time ranges, a unit must be provided.") }
                guard let v, v.isNumber else { throw evalError("Invalid range: Expected the sortBy field to be a number, but it was \(typeName(v))") }
            }
            return v!
        }
        /// base + delta: a date, or mongod's `decimalAdd` (both coerced to decimal128, doubles
        /// rounded to 15 digits, added with decimal128 rounding), compared exactly with the
        /// documents' values by BSON order (a NaN threshold is below every number).
        func threshold(_ base: BSON, _ delta: BSON) throws -> BSON {
            if let u = w.unit {
                guard let amount = delta.exactInt else { throw evalError("With 'unit', range-based bounds must be an integer") }
                guard case .date(let ms) = base else { return base }
                return .date(try DateMath.add(ms, unit: TimeUnit(rawValue: u)!, amount: amount, zone: .utc))
            }
            return .decimal128(Numeric.coerceToDecimal(base)! + Numeric.coerceToDecimal(delta)!)
        }
        func compare(_ v: BSON, _ t: BSON) -> Int { BSONOrder.compare(v, t) }
        // first index whose value is not less than x; last index whose value is not greater
        func firstNotBelow(_ x: BSON) -> Int {
            var lo = 0, hi = n
            while lo < hi { let m = (lo + hi) / 2; if compare(sortValues[m], x) < 0 { lo = m + 1 } else { hi = m } }
            return lo
        }
        func lastNotAbove(_ x: BSON) -> Int {
            var lo = 0, hi = n
            while lo < hi { let m = (lo + hi) / 2; if compare(sortValues[m], x) <= 0 { lo = m + 1 } else { hi = m } }
            return lo - 1
        }
        var result: [(Int, Int)?] = []
        result.reserveCapacity(n)
        for i in 0..<n {
            let base = sortValues[i]
            var lower: Int
            switch w.lower {
            case .unbounded: lower = 0
            case .current: lower = i
            case .offset(let d):
                lower = firstNotBelow(try threshold(base, d))
                if lower >= n { result.append(nil); continue }
            }
            var upper: Int
            switch w.upper {
            case .unbounded: upper = n - 1
            case .current: upper = i
            case .offset(let d):
                upper = lastNotAbove(try threshold(base, d))
                if upper < lower { result.append(nil); continue }
            }
            result.append(lower <= upper ? (lower, upper) : nil)
        }
        return result
    }
}

/// The state of one of mongod's removable window functions.
protocol RemovableState {
    mutating func add(_ v: BSON?) throws
    mutating func remove(_ v: BSON?) throws
    func value() throws -> BSON?
}

enum RemovableWindow {
    /// The window states mongod also uses for left-unbounded windows.
    static func nonRemovable(_ o: SetWindowFields.Output) throws -> (any RemovableState)? {
        switch o.function {
        case "$integral": return RemovableIntegral(unitMillis: o.unitMillis)
        case "$covariancePop": return RemovableCovariance(sample: false)
        case "$covarianceSamp": return RemovableCovariance(sample: true)
        default: return nil
        }
    }

    static func make(_ fn: String) throws -> any RemovableState {
        switch fn {
        case "$sum", "$count": return RemovableSum()
        case "$avg": return RemovableAvg()
        case "$stdDevPop": return RemovableStdDev(sample: false)
        case "$stdDevSamp": return RemovableStdDev(sample: true)
        case "$min": return RemovableMultiset(kind: .min)
        case "$max": return RemovableMultiset(kind: .max)
        case "$push": return RemovableMultiset(kind: .push)
        case "$addToSet": return RemovableMultiset(kind: .addToSet)
        default: throw StrataError.unsupported("\(fn) over a bounded window is not supported by strata's evaluator")
        }
    }
}

/// mongod's RemovableSum: an AccumulatorSum fed with +v / -v, non-finite values counted
/// apart, and the result narrowed to what the values in the window need.
struct RemovableSum: RemovableState {
    var sum = SumState()
    var nan = 0, posInf = 0, negInf = 0, doubles = 0, decimals = 0

    mutating func update(_ v: BSON?, _ q: Int) throws {
        guard let v, v.isNumber else { return }
        switch v {
        case .int32(let i):
            if i == .min && q == -1 { try sum.add(.int32(.max)); try sum.add(.int32(1)) } else { try sum.add(.int32(i &* Int32(q))) }
        case .int64(let i):
            if i == .min && q == -1 { try sum.add(.int64(.max)); try sum.add(.int32(1)) } else { try sum.add(.int64(i &* Int64(q))) }
        case .double(let d):
            doubles += q
            if d.isNaN { nan += q } else if d == .infinity { posInf += q } else if d == -.infinity { negInf += q } else { try sum.add(.double(d * Double(q))) }
        case .decimal128(let x):
            decimals += q
            if x.isNaN { nan += q } else if x.isInfinite { if x.isNegative { negInf += q } else { posInf += q } } else {
                try sum.add(.decimal128(q == -1 ? x.negated : x))
            }
        default: return
        }
    }
    mutating func add(_ v: BSON?) throws { try update(v, 1) }
    mutating func remove(_ v: BSON?) throws { try update(v, -1) }

    func value() -> BSON? {
        if nan > 0 || (posInf > 0 && negInf > 0) { return decimals > 0 ? .decimal128(.nan) : .double(.nan) }
        if posInf > 0 { return decimals > 0 ? .decimal128(.infinity(negative: false)) : .double(.infinity) }
        if negInf > 0 { return decimals > 0 ? .decimal128(.infinity(negative: true)) : .double(-.infinity) }
        let r = sum.result
        switch r {
        case .decimal128(let x) where decimals == 0:
            // the decimals left the window: narrow as mongod does
            if doubles > 0 { return .double(x.toDouble().0) }
            if let l = x.toInt64(rounding: .toNearestOrEven) { return Numeric.intOrLong(l) }  // toLong: no inexact flag
            return .double(x.toDouble().0)
        case .double(let d) where doubles == 0 && d > -9.223372036854775808e18 && d < 9.223372036854775808e18:
            return Numeric.intOrLong(Int64(d.rounded(.toNearestOrAwayFromZero)))
        case .int64(let l): return Numeric.intOrLong(l)
        default: return r
        }
    }
}

/// mongod's WindowFunctionAvg: a RemovableSum over the numeric values and their count.
struct RemovableAvg: RemovableState {
    var sum = RemovableSum()
    var count = 0
    mutating func add(_ v: BSON?) throws { guard v?.isNumber == true else { return }; try sum.add(v); count += 1 }
    mutating func remove(_ v: BSON?) throws { guard v?.isNumber == true else { return }; try sum.remove(v); count -= 1 }
    func value() -> BSON? {
        if count == 0 { return .null }
        let s = sum.value()!
        switch s {
        case .int32, .int64: return .double(s.doubleValue! / Double(count))
        case .double(let d):
            if d.isNaN || d.isInfinite { return s }
            return .double(d / Double(count))
        case .decimal128(let x):
            if !x.isFinite { return s }
            return .decimal128(x / Decimal128(Int64(count)))
        default: return s
        }
    }
}

/// mongod's WindowFunctionStdDev (incremental sum and m2, both compensated sums).
struct RemovableStdDev: RemovableState {
    let sample: Bool
    var sum = SumState(), m2 = SumState()
    var count: Int64 = 0, nonFinite = 0
    init(sample: Bool) { self.sample = sample }

    mutating func update(_ v: BSON?, _ q: Int64) throws {
        guard let v, v.isNumber else { return }
        // mongod: a double or decimal that is not finite; otherwise coerceToDouble (a decimal
        // beyond the double range becomes an infinity there); the first value enters the sum
        // as it is (a decimal makes the sum a decimal one)
        let x = v.doubleValue!
        let finite: Bool = { if case .decimal128(let d) = v { return d.isFinite }; return x.isFinite }()
        if !finite { nonFinite += Int(q); count += q; return }
        if count == 0 { count += 1; try sum.add(v); return }
        if count + q == 0 { sum = SumState(); m2 = SumState(); count = 0; nonFinite = 0; return }
        let d = Double(count) * x - sum.result.doubleValue!
        count += q
        try sum.add(.double(x * Double(q)))
        try m2.add(.double(d * d * Double(q) / (Double(count) * Double(count - q))))
    }
    mutating func add(_ v: BSON?) throws { try update(v, 1) }
    mutating func remove(_ v: BSON?) throws { try update(v, -1) }

    func value() -> BSON? {
        if nonFinite > 0 { return .double(.nan) }
        let adjusted = sample ? count - 1 : count
        if adjusted == 0 { return .null }
        let sq = m2.result.doubleValue!
        if sq < 0 || (!sample && count == 1) { return .int32(0) }
        return .double((sq / Double(adjusted)).squareRoot())
    }
}

/// $min / $max / $push / $addToSet over a sliding window (the values in it, in order).
struct RemovableMultiset: RemovableState {
    enum Kind { case min, max, push, addToSet }
    let kind: Kind
    var values: [BSON?] = []
    var head = 0
    mutating func add(_ v: BSON?) throws { values.append(v) }
    mutating func remove(_ v: BSON?) throws { head += 1 }
    func value() -> BSON? {
        let window = values[head...]
        switch kind {
        case .push: return .array(window.compactMap { $0 })
        case .addToSet:
            var set = Set<GroupKey>()
            for v in window { if let v { set.insert(GroupKey(v)) } }
            return .array(set.compactMap(\.value).sorted { BSONOrder.compare($0, $1) < 0 })
        case .min, .max:
            var best: BSON?
            for v in window {
                guard let v, !BSON.isNullish(v) else { continue }
                if let b = best {
                    let c = BSONOrder.compare(v, b)
                    if kind == .min ? c < 0 : c > 0 { best = v }
                } else { best = v }
            }
            return best ?? .null
        }
    }
}

/// mongod's WindowFunctionIntegral: trapezoids between consecutive [x, y] points, computed
/// with `$subtract`/`$add`/`$multiply`/`$divide` and summed by a removable `$sum`.
struct RemovableIntegral: RemovableState {
    let unitMillis: Int64?
    var points: [(BSON, BSON)] = []
    var head = 0
    var nanCount = 0
    var integral = RemovableSum()

    init(unitMillis: Int64?) { self.unitMillis = unitMillis }

    /// mongod's `Value::isNaN`: a double or decimal128 NaN.
    static func isNaN(_ v: BSON) -> Bool {
        switch v {
        case .double(let d): return d.isNaN
        case .decimal128(let x): return x.isNaN
        default: return false
        }
    }

    func point(_ v: BSON?) throws -> (BSON, BSON) {
        guard case .array(let a)? = v, a.count == 2, a[1].isNumber, a[0].isNumber || { if case .date = a[0] { return true }; return false }() else {
            throw evalError("The input value of $integral window function must be a vector of 2 value, the first value must be numeric or date type and the second must be numeric.")
        }
        if unitMillis != nil {
            guard case .date = a[0] else { throw evalError("$integral with 'outputUnit' expects the sortBy field to be a Date") }
        } else if !a[0].isNumber {
            throw evalError("$integral (with no 'outputUnit') expects the sortBy field to be numeric")
        }
        return (a[0], a[1])
    }

    func trapezoid(_ p: (BSON, BSON), _ q: (BSON, BSON)) throws -> BSON? {
        if RemovableIntegral.isNaN(p.0) || RemovableIntegral.isNaN(p.1) || RemovableIntegral.isNaN(q.0) || RemovableIntegral.isNaN(q.1) { return .int32(0) }
        let delta = try EvalContext.subtract(q.0, p.0)
        let sumY = try EvalContext.add([q.1, p.1])
        let area = try EvalContext.multiply([sumY, delta])
        return try EvalContext.divide(area, .double(2))
    }

    mutating func add(_ v: BSON?) throws {
        let p = try point(v)
        if RemovableIntegral.isNaN(p.0) || RemovableIntegral.isNaN(p.1) { nanCount += 1 }
        if head < points.count { try integral.add(try trapezoid(points[points.count - 1], p)) }
        points.append(p)
    }

    mutating func remove(_ v: BSON?) throws {
        let p = try point(v)
        if RemovableIntegral.isNaN(p.0) || RemovableIntegral.isNaN(p.1) { nanCount -= 1 }
        head += 1
        if head < points.count { try integral.remove(try trapezoid(p, points[head])) }
    }

    func value() throws -> BSON? {
        if head >= points.count { return .null }
        if nanCount > 0 { return .double(.nan) }
        let total = integral.value()
        if let ms = unitMillis { return try EvalContext.divide(total, .int64(ms)) }
        return total
    }
}

/// mongod's WindowFunctionCovariance: running means (removable `$avg`) and a removable `$sum`
/// of the co-moments; non-finite pairs go straight into the sum.
struct RemovableCovariance: RemovableState {
    let sample: Bool
    var count = 0
    var meanX = RemovableAvg(), meanY = RemovableAvg()
    var cXY = RemovableSum()

    init(sample: Bool) { self.sample = sample }

    func pair(_ v: BSON?) throws -> (BSON, BSON)? {
        guard case .array(let a)? = v, a.count == 2, a[0].isNumber, a[1].isNumber else { return nil }
        return (a[0], a[1])
    }

    /// mongod's `convertNonFiniteInputValue`: nil for a finite pair; otherwise NaN (a NaN, or
    /// infinities of both signs) or the infinity, a decimal128 one when either value is a
    /// decimal (finite or not).
    static func nonFinite(_ p: (BSON, BSON)) -> BSON? {
        var nan = false, pos = false, neg = false, decimal = false
        for v in [p.0, p.1] {
            switch v {
            case .decimal128(let x):
                decimal = true
                if x.isNaN { nan = true } else if x.isInfinite { if x.isNegative { neg = true } else { pos = true } }
            default:
                let d = v.doubleValue!
                if d.isNaN { nan = true } else if d == .infinity { pos = true } else if d == -.infinity { neg = true }
            }
        }
        if !nan && !pos && !neg { return nil }
        if nan || (pos && neg) { return decimal ? .decimal128(.nan) : .double(.nan) }
        return decimal ? .decimal128(.infinity(negative: !pos)) : .double(pos ? .infinity : -.infinity)
    }

    mutating func add(_ v: BSON?) throws {
        guard let p = try pair(v) else { return }
        if let inf = RemovableCovariance.nonFinite(p) { try cXY.add(inf); return }
        count += 1
        let dx = try EvalContext.subtract(p.0, meanX.value())
        try meanX.add(p.0)
        try meanY.add(p.1)
        let dy = try EvalContext.subtract(p.1, meanY.value())
        try cXY.add(try EvalContext.multiply([dx, dy]))
    }

    mutating func remove(_ v: BSON?) throws {
        guard let p = try pair(v) else { return }
        if let inf = RemovableCovariance.nonFinite(p) { try cXY.remove(inf); return }
        count -= 1
        if count == 0 { meanX = RemovableAvg(); meanY = RemovableAvg(); cXY = RemovableSum(); return }
        try meanX.remove(p.0)
        let dx = try EvalContext.subtract(p.0, meanX.value())
        let dy = try EvalContext.subtract(p.1, meanY.value())
        try cXY.remove(try EvalContext.multiply([dx, dy]))
        try meanY.remove(p.1)
    }

    func value() throws -> BSON? {
        if count == 1 && !sample { return .double(0) }
        let adjusted = Double(sample ? count - 1 : count)
        if adjusted <= 0 { return .null }
        let out = cXY.value()
        // a decimal co-moment sum is divided in decimal (the count converts exactly)
        if case .decimal128(let x)? = out { return .decimal128(x / Decimal128(Int64(adjusted))) }
        if let out, out.isNumber, let d = out.doubleValue { return .double(d / adjusted) }
        return out
    }
}
