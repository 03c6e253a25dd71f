import StrataBSON
import StrataLibBSON

/// `$sample: {size: N}`: a uniformly random choice of N of the input documents (all of
/// them when there are fewer), in a uniformly random order — what mongod's `$sample`
/// gives wherever it is in a pipeline (a random sort and a limit).
package enum SampleStage {
    /// mongod's parse (document_source_sample.cpp): an object with one field `size`, a
    /// number read as `safeNumberLong` (truncated, saturated, NaN as 0), at least 1.
    package static func parse(_ arg: BSON, at l: Location) throws -> Int64 {
        guard case .document(let d) = arg else {
            throw StrataError.badInput("the $sample stage specification must be an object", at: l)
        }
        var size: Int64?
        for (k, v) in d {
            guard k == "size" else { throw StrataError.badInput("unrecognized option to $sample: \(k)", at: l.appending(k)) }
            guard v.isNumber else { throw StrataError.badInput("size argument to $sample must be a number", at: l.appending(k)) }
            size = safeNumberLong(v)
        }
        guard let size else { throw StrataError.badInput("$sample stage must specify a size", at: l) }
        guard size > 0 else { throw StrataError.badInput("size argument to $sample must be a positive integer", at: l.appending("size")) }
        return size
    }

    /// mongod's `BSONElement::safeNumberLong`: doubles truncated toward zero, decimals
    /// rounded to the nearest (ties to even), both saturated at the int64 bounds; NaN is 0.
    static func safeNumberLong(_ v: BSON) -> Int64 {
        switch v {
        case .double(let d): return d.isNaN ? 0 : Numeric.doubleToLongSaturating(d)
        case .decimal128(let x):
            if x.isNaN { return 0 }
            return x.toInt64(rounding: .toNearestOrEven) ?? (x.isNegative ? .min : .max)
        default: return v.exactInt ?? 0
        }
    }
}

/// Runs `$sample` in Swift: reservoir sampling (Algorithm R: the i-th input replaces a
/// kept document with probability N / i), which keeps every N-subset of the input equally
/// likely while holding only N documents, then a shuffle of what was kept. With a seed
/// in the context the choice is reproducible: the generator is seeded from the seed and
/// the stage's place, so two `$sample` stages of a pipeline draw independently.
final class SampleOp: Op {
    let size: Int
    let next: Op
    var kept: [Document] = []
    var seen = 0
    var rng: SampleRandom

    init(_ size: Int64, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        self.size = Int(clamping: size)
        self.next = next
        rng = SampleRandom(seed: ctx.sampleSeed, place: loc.path)
    }

    override func push(_ doc: Document) throws -> Bool {
        seen += 1
        if kept.count < size {
            kept.append(doc)
        } else {
            let j = rng.index(below: seen)
            if j < size { kept[j] = doc }
        }
        return true
    }

    override func finish() throws {
        Sampling.shuffle(&kept, using: &rng)
        for d in kept { if try !next.push(d) { break } }
        kept = []
        try next.finish()
    }
}
