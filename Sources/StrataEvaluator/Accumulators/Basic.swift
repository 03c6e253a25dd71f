import StrataBSON
import StrataLibBSON

/// `$sum` / `$count`: see `SumState`. Partial: a number, or `{sum, type}`.
///
/// With a constant argument (`{$sum: 1}`, `{$sum: 0.5}`) mongod adds with plain typed
/// arithmetic (int32 → int64 on overflow → double on overflow; doubles without compensation);
/// `constant` reproduces that until a partial state is merged.
package struct SumAccumulator: Accumulator {
    package var state = SumState()
    var constant: Bool
    var constTotal: BSON = .int32(0)
    package init(constant: Bool = false) { self.constant = constant }

    package mutating func accumulate(_ v: BSON?) throws {
        guard constant else { try state.add(v); return }
        guard let v, v.isNumber else { return }
        if case .decimal128 = v { try leaveConstant(); try state.add(v); return }
        switch (constTotal, v) {
        case (.int32(let a), .int32(let b)):
            let (r, o) = a.addingReportingOverflow(b)
            constTotal = o ? .int64(Int64(a) + Int64(b)) : .int32(r)
        case (.int32(let a), .int64(let b)), (.int64(let b), .int32(let a)):
            let (r, o) = Int64(a).addingReportingOverflow(b)
            constTotal = o ? .double(Double(a) + Double(b)) : .int64(r)
        case (.int64(let a), .int64(let b)):
            let (r, o) = a.addingReportingOverflow(b)
            constTotal = o ? .double(Double(a) + Double(b)) : .int64(r)
        default:
            constTotal = .double(constTotal.doubleValue! + v.doubleValue!)
        }
    }

    /// Leaves the constant mode (mongod converts to the compensated sum when merging).
    mutating func leaveConstant() throws {
        guard constant else { return }
        constant = false
        state = SumState()
        switch constTotal {
        case .int32(let i): state.total.addInt(i)
        case .int64(let i): state.widest = .int64; state.total.addLong(i)
        case .double(let d): state.widest = .double; state.total.addDouble(d)
        default: break
        }
    }

    package func partial() -> BSON? {
        if constant { return ExactPartial.make(Self.exactKind, [("constant", constTotal)]) }
        return ExactPartial.make(Self.exactKind, [("widest", .int32(Int32(state.widest.rawValue)))]
            + ExactPartial.sumFields(state.total) + [("decimal", .decimal128(state.decimalTotal))])
    }

    static let exactKind = "sum"

    /// True when the state is the initial one, bit for bit.
    var isInitial: Bool {
        if constant, case .int32(0) = constTotal { return true }
        return !constant && state.widest == .int32 && state.total.isInitial
            && state.decimalTotal == .zero  // Decimal128's == compares the encodings
    }

    mutating func mergeExact(_ d: Document) throws {
        if let c = d["constant"] {
            guard c.isNumber else { throw ExactPartial.corrupt(d, "constant") }
            // Typed addition while both are constant (the same arithmetic as accumulating;
            // adding to the initial int32 0 gives `c` itself); else the compensated sum.
            if constant { try accumulate(c) } else { try state.add(c) }
            return
        }
        guard let w = d["widest"]?.exactInt, let widest = NumericType(rawValue: Int(w)) else {
            throw ExactPartial.corrupt(d, "widest")
        }
        var other = SumState()
        other.widest = widest
        other.total = try ExactPartial.sum(d)
        other.decimalTotal = try ExactPartial.decimal(d, "decimal")
        // An empty partial is a no-op (adding its zeros would renormalize the compensated pair).
        if other.widest == .int32 && other.total.isInitial && other.decimalTotal == .zero { return }
        if isInitial {
            constant = false
            state = other
            return
        }
        try leaveConstant()
        state.widest = max(state.widest, other.widest)
        state.total.add(other.total)
        state.decimalTotal = state.decimalTotal + other.decimalTotal
    }

    package mutating func merge(_ p: BSON?) throws {
        if let d = try ExactPartial.fields(p, kind: Self.exactKind) { try mergeExact(d); return }
        try leaveConstant()
        switch p {
        case .array(let parts)? where parts.count >= 3:
            // mongod's own partial: [nonDecimalTotalType, sum, addend(, decimalTotal)]
            if parts.count > 3, case .decimal128(let d) = parts[3] {
                state.widest = .decimal
                state.decimalTotal = state.decimalTotal + d
            }
            if let t = parts[0].exactInt, let nt = NumericType(typeCode: Int(t)) { state.widest = max(state.widest, nt) }
            if let s = parts[1].doubleValue { state.total.addDouble(s) }
            if let a = parts[2].doubleValue, a.isFinite || (parts[1].doubleValue?.isFinite ?? true) { state.total.addDouble(a) }
        case .document(let d)?:
            if let w = d[PartialField.width].flatMap({ $0.exactInt }), w >= 0, let nt = NumericType(rawValue: Int(w)) {
                // The slice's widest input type, not the type its total overflowed into.
                try state.add(d[PartialField.sum], widening: false)
                state.widest = max(state.widest, nt)
            } else {
                try state.add(d[PartialField.sum])
            }
        case let v?: try state.add(v)
        case nil: break
        }
    }
    package func finalize() -> BSON? { constant ? constTotal : state.result }
}

/// `$avg`: numeric inputs only (compensated sum; ints added as doubles, longs exactly), null
/// when there were none. Partial: `{subTotal, count, subTotalError?}` (also `{sum, count}`).
package struct AvgAccumulator: Accumulator {
    var total = DoubleDoubleSum()
    var count: Int64 = 0
    /// mongod's `_decimalTotal` and `_isDecimal`: decimal inputs summed in decimal; with any,
    /// the result is (decimal total + the other total's getDecimal()) / count, a decimal.
    var decimalTotal = Decimal128.zero
    var isDecimal = false
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws {
        switch v {
        case .int32(let i)?: total.addDouble(Double(i))
        case .int64(let i)?: total.addLong(i)
        case .double(let d)?: total.addDouble(d)
        case .decimal128(let d)?: isDecimal = true; decimalTotal = decimalTotal + d
        default: return
        }
        count += 1
    }
    package func partial() -> BSON? {
        ExactPartial.make("avg", [("count", .int64(count))] + ExactPartial.sumFields(total)
            + [("decimal", .decimal128(decimalTotal)), ("isDecimal", .bool(isDecimal))])
    }

    package mutating func merge(_ p: BSON?) throws {
        if let e = try ExactPartial.fields(p, kind: "avg") {
            let c = try ExactPartial.long(e, "count")
            let t = try ExactPartial.sum(e)
            let dt = try ExactPartial.decimal(e, "decimal")
            let isD = try ExactPartial.bool(e, "isDecimal")
            // An empty partial is a no-op (adding its zeros would renormalize the compensated pair).
            if c == 0 && t.isInitial && dt == .zero && !isD { return }
            if count == 0 && total.isInitial && decimalTotal == .zero && !isDecimal {
                total = t; decimalTotal = dt
            } else {
                total.add(t); decimalTotal = decimalTotal + dt
            }
            count += c
            isDecimal = isDecimal || isD
            return
        }
        guard case .document(let d)? = p else {
            if BSON.isNullish(p) { return }
            throw evalError("$avg expects partial states of the form {subTotal, count}, found \(show(p))")
        }
        guard let c = d[PartialField.count].flatMap({ Numeric.coerceToLong($0) }) else {
            throw evalError("$avg partial state lacks a numeric 'count': \(show(p))")
        }
        if case .array(let ps)? = d["ps"] {
            // mongod's own partial: {count, ps: [type, sum, addend]}
            var s = SumAccumulator()
            try s.merge(.array(ps))
            total.addDouble(s.state.total.sum)
            total.addDouble(s.state.total.addend)
            if s.state.widest == .decimal { isDecimal = true; decimalTotal = decimalTotal + s.state.decimalTotal }
            count += c
            return
        }
        let sub = d[PartialField.subTotal] ?? d["sum"]
        switch sub {
        case .int32(let i)?: total.addDouble(Double(i))
        case .int64(let i)?: total.addLong(i)
        case .double(let x)?: total.addDouble(x)
        case .decimal128(let x)?: isDecimal = true; decimalTotal = decimalTotal + x
        default: break
        }
        if case .double(let e)? = d[PartialField.subTotalError] { total.addDouble(e) }
        count += c
    }
    package func finalize() -> BSON? {
        if count == 0 { return .null }
        if isDecimal { return .decimal128((decimalTotal + total.decimal) / Decimal128(count)) }
        return .double(total.double / Double(count))
    }
}

/// `$min` / `$max`: BSON order, null/missing/undefined ignored, null when nothing else came.
/// Partial: the slice's result.
package struct MinMaxAccumulator: Accumulator {
    let isMax: Bool
    var value: BSON?
    package init(isMax: Bool) { self.isMax = isMax }
    package mutating func accumulate(_ v: BSON?) throws {
        guard let v, !BSON.isNullish(v) else { return }
        guard let cur = value else { value = v; return }
        let c = BSONOrder.compare(v, cur)
        if isMax ? c > 0 : c < 0 { value = v }
    }
    package mutating func merge(_ p: BSON?) throws { try accumulate(p) }
    /// The value kept (missing when none): merging it is accumulating it, ties keep the first.
    package func partial() -> BSON? { value }
    package func finalize() -> BSON? { value ?? .null }
}

/// `$first`: the first value seen, missing included. Partial: `{v: value}` (v absent =
/// missing) or a bare value.
package struct FirstAccumulator: Accumulator {
    var seen = false
    var value: BSON?
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws {
        if !seen { seen = true; value = v }
    }
    package mutating func merge(_ p: BSON?) throws {
        if let e = try ExactPartial.fields(p, kind: "first") {
            if try !seen && ExactPartial.bool(e, "seen") { seen = true; value = e[PartialField.value] }
            return
        }
        if seen { return }
        try accumulate(unwrapPartialValue(p))
    }
    package func partial() -> BSON? { exactFirstLastPartial("first", seen: seen, value: value) }
    package func finalize() -> BSON? { value }
}

/// `$last`: the last value seen, missing included. Partial as `$first`.
package struct LastAccumulator: Accumulator {
    var seen = false
    var value: BSON?
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws { seen = true; value = v }
    package mutating func merge(_ p: BSON?) throws {
        if let e = try ExactPartial.fields(p, kind: "last") {
            if try ExactPartial.bool(e, "seen") { seen = true; value = e[FirstAccumulator.PartialField.value] }
            return
        }
        seen = true
        value = unwrapPartialValue(p)
    }
    package func partial() -> BSON? { exactFirstLastPartial("last", seen: seen, value: value) }
    package func finalize() -> BSON? { value }
}

/// `{__exact: kind, seen, v}` (`v` absent when the value is missing).
func exactFirstLastPartial(_ kind: String, seen: Bool, value: BSON?) -> BSON {
    var fields: [(String, BSON)] = [("seen", .bool(seen))]
    if let value { fields.append((FirstAccumulator.PartialField.value, value)) }
    return ExactPartial.make(kind, fields)
}

func unwrapPartialValue(_ p: BSON?) -> BSON? {
    if case .document(let d)? = p, d.count <= 1, d.count == 0 || d.keys == [FirstAccumulator.PartialField.value] {
        return d[FirstAccumulator.PartialField.value]
    }
    return p
}

/// `$push`: every non-missing value, in order. Partial: an array.
package struct PushAccumulator: Accumulator {
    var items: [BSON] = []
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws { if let v { items.append(v) } }
    package mutating func merge(_ p: BSON?) throws {
        guard case .array(let a)? = p else {
            if p == nil { return }
            throw evalError("$push expects array partial states, found \(typeName(p))")
        }
        items += a
    }
    package func partial() -> BSON? { .array(items) }
    package func finalize() -> BSON? { .array(items) }
}

/// `$concatArrays` (accumulator): concatenates array values; null/missing ignored.
package struct ConcatArraysAccumulator: Accumulator {
    var items: [BSON] = []
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws {
        if BSON.isNullish(v) { return }
        guard case .array(let a)? = v else { throw evalError("$concatArrays requires array inputs, but input \(show(v)) is of type \(typeName(v))") }
        items += a
    }
    package mutating func merge(_ p: BSON?) throws { try accumulate(p) }
    package func partial() -> BSON? { .array(items) }
    package func finalize() -> BSON? { .array(items) }
}

/// `$addToSet`: distinct non-missing values (MongoDB equality). The output order is the
/// order of first appearance (mongod's is unspecified). Partial: an array.
package struct AddToSetAccumulator: Accumulator {
    var seen = Set<GroupKey>()
    var items: [BSON] = []
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws {
        guard let v else { return }
        if seen.insert(GroupKey(v)).inserted { items.append(v) }
    }
    package mutating func merge(_ p: BSON?) throws {
        guard case .array(let a)? = p else {
            if p == nil { return }
            throw evalError("$addToSet expects array partial states, found \(typeName(p))")
        }
        for x in a { try accumulate(x) }
    }
    /// The distinct values in order of first appearance (the set is rebuilt from them).
    package func partial() -> BSON? { .array(items) }
    package func finalize() -> BSON? { .array(items) }
}

/// `$setUnion` (accumulator): the union of array values; null/missing ignored.
package struct SetUnionAccumulator: Accumulator {
    var set = AddToSetAccumulator()
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws {
        if BSON.isNullish(v) { return }
        guard case .array(let a)? = v else { throw evalError("$setUnion requires array inputs, but input \(show(v)) is of type \(typeName(v))") }
        for x in a { try set.accumulate(x) }
    }
    package mutating func merge(_ p: BSON?) throws { try accumulate(p) }
    package func partial() -> BSON? { set.partial() }
    package func finalize() -> BSON? { set.finalize() }
}

/// `$mergeObjects`: documents merged in order (later fields win, first position kept);
/// null/missing ignored, anything else is an error. Partial: a document.
package struct MergeObjectsAccumulator: Accumulator {
    var doc = Document()
    package init() {}
    package mutating func accumulate(_ v: BSON?) throws {
        if BSON.isNullish(v) { return }
        guard case .document(let d)? = v else {
            throw evalError("$mergeObjects requires object inputs, but input \(show(v)) is of type \(typeName(v))")
        }
        for (k, x) in d { doc[k] = x }
    }
    package mutating func merge(_ p: BSON?) throws { try accumulate(p) }
    package func partial() -> BSON? { .document(doc) }
    package func finalize() -> BSON? { .document(doc) }
}

/// `$stdDevPop` / `$stdDevSamp`: Welford's online algorithm over numeric inputs (as mongod).
/// Partial: `{count, mean, m2}` merged with the parallel formula, or `{count, mean, stdDevPop}`.
package struct StdDevAccumulator: Accumulator {
    let sample: Bool
    var count: Int64 = 0
    var mean = 0.0
    var m2 = 0.0
    package init(sample: Bool) { self.sample = sample }
    package mutating func accumulate(_ v: BSON?) throws {
        guard let v, v.isNumber else { return }
        let x = v.doubleValue!  // mongod: decimals too are taken as their nearest double
        count += 1
        let delta = x - mean
        if delta != 0 {
            mean += delta / Double(count)
            m2 += delta * (x - mean)
        }
    }
    package func partial() -> BSON? {
        ExactPartial.make("stdDev", [("count", .int64(count)), ("mean", .double(mean)), ("m2", .double(m2))])
    }

    package mutating func merge(_ p: BSON?) throws {
        if let e = try ExactPartial.fields(p, kind: "stdDev") {
            let c = try ExactPartial.long(e, "count"), pm = try ExactPartial.double(e, "mean"), pm2 = try ExactPartial.double(e, "m2")
            if c == 0 { return }
            if count == 0 { count = c; mean = pm; m2 = pm2; return }
            combine(count: c, mean: pm, m2: pm2)
            return
        }
        guard case .document(let d)? = p, let c = d[PartialField.count].flatMap({ Numeric.coerceToLong($0) }) else {
            if BSON.isNullish(p) { return }
            throw evalError("standard deviation partial states must be {count, mean, m2}, found \(show(p))")
        }
        if c == 0 { return }
        let pm = d[PartialField.mean]?.doubleValue ?? 0
        var pm2 = d[PartialField.m2]?.doubleValue
        if pm2 == nil, let sd = d[PartialField.stdDevPop]?.doubleValue { pm2 = sd * sd * Double(c) }
        combine(count: c, mean: pm, m2: pm2 ?? 0)
    }

    /// The parallel formula (Chan et al.).
    mutating func combine(count c: Int64, mean pm: Double, m2 pm2: Double) {
        let delta = pm - mean
        let newCount = c + count
        mean = (Double(count) * mean + Double(c) * pm) / Double(newCount)
        m2 += pm2 + delta * delta * (Double(count) * Double(c) / Double(newCount))
        count = newCount
    }
    package func finalize() -> BSON? {
        let adjusted = sample ? count - 1 : count
        if adjusted <= 0 { return .null }
        return .double((m2 / Double(adjusted)).squareRoot())
    }
}
