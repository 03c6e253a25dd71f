import Foundation
import StrataBSON
import StrataLibBSON

/// `$percentile` / `$median` (accumulators and expressions), as mongod computes them.
///
/// - `method: "discrete"` — the sample of rank `max(0, ceil(n·p) − 1)` (p ≥ 1: the largest);
/// - `method: "continuous"` — linear interpolation at rank `p·(n − 1)`;
/// - `method: "approximate"` — as expressions, the discrete algorithm (mongod does the same);
///   as `$group` accumulators, mongod's t-digest (k2 scaling function, δ = 1000, inputs
///   buffered by 5000 and merged sorted), reproduced step by step. Below about a thousand
///   inputs every centroid holds one value and the answer equals the discrete one; above,
///   the answer is approximate exactly as mongod's is, and depends on the input order
///   only through the buffer boundaries, as in mongod.
///
/// Non-numeric inputs are ignored, NaN is ignored, ±∞ are counted apart. With no numeric
/// input the result is null (`$median`) or an array of nulls (`$percentile`).
///
/// A quirk kept from mongod: the t-digest's running maximum starts at the smallest positive
/// double, so for all-negative inputs the approximate `p: 1` accumulator answers
/// 2.2250738585072014e-308.
package struct PercentileOptions: Sendable, Equatable {
    package enum Method: String, Sendable { case approximate, discrete, continuous }
    /// The requested percentiles (one, 0.5, for `$median`).
    package var ps: [Double]
    package var method: Method
    /// `$median`: a single value instead of an array.
    package var isMedian: Bool

    package init(ps: [Double], method: Method, isMedian: Bool) {
        self.ps = ps; self.method = method; self.isMedian = isMedian
    }

    /// Parses `{input, p, method}` (`$percentile`) or `{input, method}` (`$median`),
    /// returning the options and the input expression.
    static func parse(_ op: String, _ arg: BSON, at loc: Location) throws -> (PercentileOptions, Expr) {
        guard case .document(let d) = arg else {
            throw StrataError.badInput("specification must be an object; found \(arg.typeName)", at: loc)
        }
        let median = op == "$median"
        var input: Expr?, ps: [Double]?, method: Method?
        for (k, v) in d {
            let kl = loc.appending(k)
            switch k {
            case "input": input = try Expr.parse(v, at: kl)
            case "p" where !median: ps = try parseP(v, at: kl)
            case "method":
                guard case .string(let s) = v else {
                    throw StrataError.badInput("\(op).method must be a string, found \(v.typeName)", at: kl)
                }
                guard let m = Method(rawValue: s) else {
                    throw StrataError.badInput("Currently only 'approximate', 'discrete', and 'continuous' can be used as percentile 'method'.", at: kl)
                }
                method = m
            default:
                throw StrataError.badInput("\(op) found an unknown argument: \(k)", at: kl)
            }
        }
        guard let input else { throw StrataError.badInput("\(op) requires an 'input' field", at: loc) }
        if !median && ps == nil { throw StrataError.badInput("\(op) requires a 'p' field", at: loc) }
        guard let method else { throw StrataError.badInput("\(op) requires a 'method' field", at: loc) }
        return (PercentileOptions(ps: median ? [0.5] : ps!, method: method, isMedian: median), input)
    }

    /// `p` must be a constant (an expression without paths or variables) evaluating to a
    /// non-empty array of numbers in [0, 1].
    static func parseP(_ v: BSON, at loc: Location) throws -> [Double] {
        let e = try Expr.parse(v, at: loc)
        guard isConstant(e) else {
            throw StrataError.badInput("The $percentile 'p' field must be an array of constant values, but found value: \(show(v)).", at: loc)
        }
        let value = try EvalContext(root: Document(), variables: Variables()).eval(e)
        let msg = "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: "
        guard case .array(let items)? = value, !items.isEmpty else {
            throw StrataError.badInput(msg + show(value), at: loc)
        }
        return try items.map { x in
            guard x.isNumber, let p = x.doubleValue else { throw StrataError.badInput(msg + show(x), at: loc) }
            if !(p >= 0 && p <= 1) { throw StrataError.badInput(msg + show(x), at: loc) }
            return p
        }
    }

    static func isConstant(_ e: Expr) -> Bool {
        switch e {
        case .literal: return true
        case .fieldPath, .variable: return false
        case .op("$rand", _): return false
        default: return e.children.allSatisfy(isConstant)
        }
    }

    /// `{input, p, method}` as the named arguments of an `Expr.op`.
    func namedArguments(_ input: Expr) -> [(String, Expr)] {
        var out: [(String, Expr)] = [("input", input)]
        if !isMedian { out.append(("p", .literal(.array(ps.map { .double($0) })))) }
        out.append(("method", .literal(.string(method.rawValue))))
        return out
    }

    /// Reads back `namedArguments`.
    init?(op: String, _ args: ExprArgs) {
        guard case .named(let a) = args else { return nil }
        var ps: [Double] = [0.5]
        var method = Method.approximate
        for (k, e) in a {
            switch (k, e) {
            case ("p", .literal(.array(let items))): ps = items.compactMap(\.doubleValue)
            case ("method", .literal(.string(let m))): method = Method(rawValue: m) ?? .approximate
            default: break
            }
        }
        self.init(ps: ps, method: method, isMedian: op == "$median")
    }

    /// The accumulator form's argument: `{input, p, method}`.
    func argumentBSON(_ input: Expr) -> BSON {
        var d: Document = ["input": input.bson]
        if !isMedian { d["p"] = .array(ps.map { .double($0) }) }
        d["method"] = .string(method.rawValue)
        return .document(d)
    }

    /// The final value for computed percentiles (empty: no numeric input).
    func format(_ values: [Double]) -> BSON {
        if isMedian { return values.first.map { .double($0) } ?? .null }
        if values.isEmpty { return .array(Array(repeating: .null, count: ps.count)) }
        return .array(values.map { .double($0) })
    }

    /// The expression form: a number gives itself for every percentile; an array is
    /// summarised (discrete for "approximate" and "discrete"); anything else gives nulls.
    func evaluateExpression(_ input: BSON?) -> BSON {
        guard let input else { return format([]) }
        if input.isNumber, let d = input.doubleValue { return format(Array(repeating: d, count: ps.count)) }
        guard case .array(let items) = input, !items.isEmpty else { return format([]) }
        var sample = ExactSample()
        for x in items where x.isNumber { if let d = x.doubleValue { sample.add(d) } }
        return format(sample.percentiles(ps, continuous: method == .continuous))
    }
}

/// All the values (sorted on demand), for the discrete and continuous methods.
struct ExactSample: Sendable {
    var values: [Double] = []
    var sorted = true
    var negInf = 0
    var posInf = 0

    mutating func add(_ x: Double) {
        if x.isNaN { return }
        if x.isInfinite { if x < 0 { negInf += 1 } else { posInf += 1 }; return }
        if sorted, let last = values.last, x < last { sorted = false }
        values.append(x)
    }

    static func discreteRank(_ n: Int, _ p: Double) -> Int {
        if p >= 1 { return n - 1 }
        return max(0, Int((Double(n) * p).rounded(.up)) - 1)
    }

    mutating func percentiles(_ ps: [Double], continuous: Bool) -> [Double] {
        if values.isEmpty && negInf == 0 && posInf == 0 { return [] }
        if !sorted { values.sort(); sorted = true }
        let n = values.count
        let total = n + negInf + posInf
        return ps.map { p in
            if continuous {
                var rank = p * Double(total - 1)
                if negInf > 0 && rank < Double(negInf) { return -.infinity }
                if posInf > 0 && rank > Double(n + negInf - 1) { return .infinity }
                rank -= Double(negInf)
                let hi = Int(rank.rounded(.up)), lo = Int(rank.rounded(.down))
                if hi == lo { return values[lo] }
                return (Double(hi) - rank) * values[lo] + (rank - Double(lo)) * values[hi]
            }
            var rank = ExactSample.discreteRank(total, p)
            if negInf > 0 && rank < negInf { return -.infinity }
            if posInf > 0 && rank >= n + negInf { return .infinity }
            rank -= negInf
            return values[rank]
        }
    }
}

/// mongod's t-digest ("approximate" in `$group`): centroids merged under the k2 scaling
/// function with δ = 1000; raw inputs are buffered (5δ) and merged in sorted batches.
struct TDigest: Sendable {
    struct Centroid: Sendable {
        var weight: Double
        var mean: Double
        mutating func add(_ value: Double) {
            weight += 1
            mean += (value - mean) / weight
        }
    }

    static let delta = 1000.0
    static let maxBuffer = 5000
    static let sqrtOf2Recip = 1 / 2.0.squareRoot()

    var buffer: [Double] = []
    var centroids: [Centroid] = []
    var n: Int64 = 0
    var negInf: Int64 = 0
    var posInf: Int64 = 0
    var minValue = Double.greatestFiniteMagnitude
    var maxValue = Double.leastNormalMagnitude  // as mongod (numeric_limits<double>::min())

    static func k2(_ q: Double, _ delta: Double) -> Double {
        if q <= 0.5 { return delta * sqrtOf2Recip * q.squareRoot() }
        return delta - delta * sqrtOf2Recip * (1 - q).squareRoot()
    }
    static func k2Inverse(_ s: Double, _ delta: Double) -> Double {
        let r = s / delta
        if r <= 0.5 { return 2 * r * r }
        let b = 1 - r
        return 1 - 2 * b * b
    }
    static func k2Limit(_ q: Double, _ delta: Double) -> Double { k2Inverse(1 + k2(q, delta), delta) }

    mutating func add(_ x: Double) {
        if x.isNaN { return }
        if x.isInfinite { if x < 0 { negInf += 1 } else { posInf += 1 }; return }
        buffer.append(x)
        if buffer.count >= TDigest.maxBuffer { flush() }
    }

    mutating func flush() {
        if buffer.isEmpty { return }
        buffer.sort()
        merge(sorted: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func merge(sorted: [Double]) {
        guard let first = sorted.first, let last = sorted.last else { return }
        n += Int64(sorted.count)
        minValue = Swift.min(minValue, first)
        maxValue = Swift.max(maxValue, last)
        let total = Double(n)
        let delta = TDigest.delta
        var out: [Centroid] = []
        out.reserveCapacity(Swift.min(2 * Int(delta), centroids.count + sorted.count))
        var ci = 0, si = 0
        var w: Int64 = 0
        func limit() -> Double { total * TDigest.k2Limit(Double(w) / total, delta) }
        while ci < centroids.count && si < sorted.count {
            var cur: Centroid
            if centroids[ci].mean > sorted[si] { cur = Centroid(weight: 1, mean: sorted[si]); si += 1 } else { cur = centroids[ci]; ci += 1 }
            let q = limit()
            while ci < centroids.count && si < sorted.count {
                if centroids[ci].mean > sorted[si] {
                    if Double(w) + cur.weight + 1 <= q { cur.add(sorted[si]); si += 1 } else { break }
                } else {
                    if Double(w) + cur.weight + centroids[ci].weight <= q { cur.absorb(centroids[ci]); ci += 1 } else { break }
                }
            }
            out.append(cur)
            w += Int64(cur.weight)
        }
        while ci < centroids.count {
            var cur = centroids[ci]; ci += 1
            let q = limit()
            while ci < centroids.count && Double(w) + cur.weight + centroids[ci].weight <= q { cur.absorb(centroids[ci]); ci += 1 }
            out.append(cur)
            w += Int64(cur.weight)
        }
        while si < sorted.count {
            var cur = Centroid(weight: 1, mean: sorted[si]); si += 1
            let q = limit()
            while si < sorted.count && Double(w) + cur.weight + 1 <= q { cur.add(sorted[si]); si += 1 }
            out.append(cur)
            w += Int64(cur.weight)
        }
        centroids = out
    }

    var lowest: Double { negInf > 0 ? -.infinity : minValue }
    var highest: Double { posInf > 0 ? .infinity : maxValue }

    mutating func percentile(_ p: Double) -> Double? {
        flush()
        if centroids.isEmpty && negInf == 0 && posInf == 0 { return nil }
        if p >= 1 { return highest }
        if p <= 0 { return lowest }
        var rank = Int64(ExactSample.discreteRank(Int(n + posInf + negInf), p))
        if negInf > 0 && rank < negInf { return -.infinity }
        if posInf > 0 && rank >= n + negInf { return .infinity }
        rank -= negInf
        var i = 0
        var r = 0.0
        while i < centroids.count {
            r += centroids[i].weight
            if r > Double(rank) { break }
            i += 1
        }
        let c = centroids[i]
        if c.weight == 1 { return c.mean }
        let wCur = c.weight
        let left: Double, right: Double, wLeft: Double, wRight: Double, doubledInnerRank: Double
        let rk = Double(rank)
        if r - rk >= wCur / 2 {
            left = i == 0 ? minValue : centroids[i - 1].mean
            right = c.mean
            wLeft = i == 0 ? 0 : centroids[i - 1].weight
            wRight = wCur
            doubledInnerRank = wLeft + 2 * wRight - 2 * (r - 1 - rk)
        } else {
            left = c.mean
            right = i == centroids.count - 1 ? maxValue : centroids[i + 1].mean
            wLeft = wCur
            wRight = i == centroids.count - 1 ? 0 : centroids[i + 1].weight
            doubledInnerRank = wLeft - 2 * (r - 1 - rk)
        }
        let innerP = doubledInnerRank / (wLeft + wRight)
        let res = left + (right - left) * innerP
        return res > right ? right : res
    }

    mutating func percentiles(_ ps: [Double]) -> [Double] {
        var out: [Double] = []
        for p in ps {
            guard let v = percentile(p) else { return [] }
            out.append(v)
        }
        return out
    }
}

extension TDigest {
    /// True when nothing was added.
    var isInitial: Bool {
        buffer.isEmpty && centroids.isEmpty && n == 0 && negInf == 0 && posInf == 0
            && minValue == TDigest().minValue && maxValue == TDigest().maxValue
    }

    /// Folds in another digest: taken as is when this one is empty; otherwise both digests'
    /// centroids are re-compressed together (approximate, as any digest merge) and the other's
    /// buffered values are added in order (exact while neither digest has flushed).
    mutating func combine(_ other: TDigest) {
        if isInitial { self = other; return }
        negInf += other.negInf
        posInf += other.posInf
        if !other.centroids.isEmpty {
            n += other.n
            minValue = Swift.min(minValue, other.minValue)
            maxValue = Swift.max(maxValue, other.maxValue)
            let all = (centroids + other.centroids).enumerated()
                .sorted { ($0.element.mean, $0.offset) < ($1.element.mean, $1.offset) }.map(\.element)
            let total = Double(n)
            var out: [Centroid] = []
            var w: Int64 = 0
            var i = 0
            while i < all.count {
                var cur = all[i]; i += 1
                let q = total * TDigest.k2Limit(Double(w) / total, TDigest.delta)
                while i < all.count && Double(w) + cur.weight + all[i].weight <= q { cur.absorb(all[i]); i += 1 }
                out.append(cur)
                w += Int64(cur.weight)
            }
            centroids = out
        }
        for x in other.buffer { add(x) }
    }
}

extension TDigest.Centroid {
    /// Combines two centroids, interpolating from the heavier one (as mongod does).
    mutating func absorb(_ other: TDigest.Centroid) {
        if other.weight < weight {
            weight += other.weight
            mean += (other.mean - mean) * (other.weight / weight)
        } else {
            let newWeight = weight + other.weight
            mean = other.mean + (mean - other.mean) * (weight / newWeight)
            weight = newWeight
        }
    }
}

/// `$percentile` / `$median` as `$group` accumulators. State: O(n) (every numeric input, or
/// mongod's t-digest for "approximate"). Partial state for merging: an array of the slice's
/// values (`{$push: x}`; non-numeric values are skipped on merge).
package struct PercentileAccumulator: Accumulator {
    let options: PercentileOptions
    var sample = ExactSample()
    var digest = TDigest()

    package init(options: PercentileOptions) { self.options = options }

    package mutating func accumulate(_ v: BSON?) throws {
        guard let v, v.isNumber, let d = v.doubleValue else { return }
        if options.method == .approximate { digest.add(d) } else { sample.add(d) }
    }

    package func partial() -> BSON? {
        if options.method == .approximate {
            let d = digest
            return ExactPartial.make("tdigest", [
                ("buffer", .array(d.buffer.map { .double($0) })),
                ("centroids", .array(d.centroids.flatMap { [BSON.double($0.weight), .double($0.mean)] })),
                ("n", .int64(d.n)), ("negInf", .int64(d.negInf)), ("posInf", .int64(d.posInf)),
                ("min", .double(d.minValue)), ("max", .double(d.maxValue)),
            ])
        }
        // The values in input order, then the infinities (counted apart, so their place does not matter).
        var items = sample.values.map { BSON.double($0) }
        items += Array(repeating: .double(-.infinity), count: sample.negInf)
        items += Array(repeating: .double(.infinity), count: sample.posInf)
        return .array(items)
    }

    mutating func mergeExactDigest(_ e: Document) throws {
        func doubles(_ k: String) throws -> [Double] {
            guard case .array(let a)? = e[k] else { throw ExactPartial.corrupt(e, k) }
            return try a.map { guard case .double(let x) = $0 else { throw ExactPartial.corrupt(e, k) }; return x }
        }
        var other = TDigest()
        other.buffer = try doubles("buffer")
        let flat = try doubles("centroids")
        guard flat.count % 2 == 0 else { throw ExactPartial.corrupt(e, "centroids") }
        other.centroids = stride(from: 0, to: flat.count, by: 2).map { TDigest.Centroid(weight: flat[$0], mean: flat[$0 + 1]) }
        other.n = try ExactPartial.long(e, "n")
        other.negInf = try ExactPartial.long(e, "negInf")
        other.posInf = try ExactPartial.long(e, "posInf")
        other.minValue = try ExactPartial.double(e, "min")
        other.maxValue = try ExactPartial.double(e, "max")
        digest.combine(other)
    }

    package mutating func merge(_ p: BSON?) throws {
        if options.method == .approximate, let e = try ExactPartial.fields(p, kind: "tdigest") {
            try mergeExactDigest(e)
            return
        }
        guard let p else { return }
        guard case .array(let items) = p else {
            if p == .null { return }
            throw evalError("\(options.isMedian ? "$median" : "$percentile") expects array partial states, found \(p.typeName)")
        }
        for x in items { try accumulate(x) }
    }

    package func finalize() throws -> BSON? {
        if options.method == .approximate {
            var d = digest
            return options.format(d.percentiles(options.ps))
        }
        var s = sample
        return options.format(s.percentiles(options.ps, continuous: options.method == .continuous))
    }
}
