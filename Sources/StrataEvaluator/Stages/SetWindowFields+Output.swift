import StrataBSON
// Computing each output of `$setWindowFields` over a sorted partition.

extension SetWindowFieldsOp {
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
            return rankOutput(o, docs, keys)
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
        return try window.lower == .unbounded ? leftUnboundedOutput(o, values, bounds) : removableOutput(o, window, values, bounds)
    }

    /// `$rank` and `$denseRank`: ties are equal sortBy values (nullish values tie; arrays
    /// compare by their sort keys).
    func rankOutput(_ o: SetWindowFields.Output, _ docs: [Document], _ keys: [[BSON]]) -> [BSON?] {
        var out: [BSON?] = []
        var last: BSON?? = nil
        var rank: Int64 = 0, same: Int64 = 1
        let comp = spec.sortBy!.components[0]
        for i in 0..<docs.count {
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
    }

    /// A window unbounded on the left: values are only ever added.
    func leftUnboundedOutput(_ o: SetWindowFields.Output, _ values: [BSON?], _ bounds: [(Int, Int)?]) throws -> [BSON?] {
        if let stateful = try RemovableWindow.nonRemovable(o) {
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

    /// A window bounded on the left: values enter and leave as it slides.
    func removableOutput(_ o: SetWindowFields.Output, _ window: SetWindowFields.Window, _ values: [BSON?],
                         _ bounds: [(Int, Int)?]) throws -> [BSON?] {
        let n = values.count
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
}
