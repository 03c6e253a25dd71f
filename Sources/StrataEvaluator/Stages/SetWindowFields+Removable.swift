import StrataBSON
// mongod's removable window functions: bounded windows add and remove documents as they slide.

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
