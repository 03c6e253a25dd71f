/// The random numbers behind `$sample`: a generator that is either the system's (the
/// default: mongod's `$sample` is not reproducible either) or seeded (tests and
/// `strata run --sample-seed`), and the exact draws strata makes with it.
///
/// Every draw here is exact: integers below a bound come from rejection sampling
/// (Lemire's method), never from scaling a floating-point number, so each outcome has
/// exactly its probability. The bounded draw, the shuffle and the choice are written
/// here rather than taken from the standard library so that a seed gives the same answer
/// whatever Swift version built strata.
package struct SampleRandom: RandomNumberGenerator {
    private enum Source {
        case system(SystemRandomNumberGenerator)
        case seeded(Xoshiro256StarStar)
    }
    private var source: Source

    /// Seeded when `seed` is given, else the system's generator.
    package init(seed: UInt64?) {
        source = seed.map { .seeded(Xoshiro256StarStar(seed: $0)) } ?? .system(SystemRandomNumberGenerator())
    }

    /// Seeded from `seed` and `place` (where the `$sample` stands in the query: facets and
    /// stages each have their own), else the system's generator: two `$sample`s of one
    /// seeded query draw independently, and each the same way every run.
    package init(seed: UInt64?, place: String) {
        self.init(seed: seed.map { SplitMix.derive($0, place) })
    }

    package var isSeeded: Bool {
        if case .seeded = source { return true }
        return false
    }

    package mutating func next() -> UInt64 {
        switch source {
        case .system(var g):
            let x = g.next()
            source = .system(g)
            return x
        case .seeded(var g):
            let x = g.next()
            source = .seeded(g)
            return x
        }
    }

    /// A uniform integer in `0..<bound` (`bound` > 0), exactly: Lemire's multiply-and-reject.
    package mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "an empty range")
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    /// A uniform index in `0..<bound` (`bound` > 0).
    package mutating func index(below bound: Int) -> Int { Int(below(UInt64(bound))) }
}

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64 as its authors advise:
/// small, fast and statistically sound for sampling; not for secrets.
struct Xoshiro256StarStar: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var sm = SplitMix(seed: seed)
        s = (sm.next(), sm.next(), sm.next(), sm.next())
    }

    mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// SplitMix64 (Steele, Lea and Flood): seeds xoshiro, and mixes a seed with a place.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed derived from `seed` and a text (a stage's place in the pipeline), so two
    /// `$sample` stages of one seeded query draw independently, and the same each run
    /// (FNV-1a of the text's UTF-8, not `Hasher`, whose seed changes every process).
    static func derive(_ seed: UInt64, _ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var g = SplitMix(seed: seed ^ h)
        return g.next()
    }
}

/// The exact draws of a uniform sample without replacement.
package enum Sampling {
    /// A hypergeometric draw: how many of `draws` items taken without replacement from
    /// `population` items are among its `successes` marked ones — by drawing them one by
    /// one from the urn (each draw marked with probability marked-left / left). Exact;
    /// O(min(draws, population − draws)): past half the population it draws the items
    /// left behind instead.
    package static func hypergeometric(population: Int, successes: Int, draws: Int, using rng: inout SampleRandom) -> Int {
        precondition(population >= 0 && (0...population).contains(successes) && (0...population).contains(draws))
        if draws == 0 || successes == 0 { return 0 }
        if draws == population { return successes }
        if successes == population { return draws }
        let complement = draws > population / 2
        let taken = complement ? population - draws : draws
        var left = population, marked = successes, hits = 0
        for _ in 0..<taken {
            if marked == 0 { break }
            if rng.index(below: left) < marked { hits += 1; marked -= 1 }
            left -= 1
        }
        // Drawing the left-behind items: the marked ones among the drawn are the rest.
        return complement ? successes - hits : hits
    }

    /// A multivariate hypergeometric draw: how many of `draws` items, taken uniformly
    /// without replacement from groups of `counts` items, come from each group. Drawn
    /// group by group, each conditional on those before it: the first group's share is
    /// hypergeometric over the whole population; the next is hypergeometric over what is
    /// left, with the draws left; the last takes the rest. Exact. `draws` ≤ the total.
    package static func multivariateHypergeometric(counts: [Int], draws: Int, using rng: inout SampleRandom) -> [Int] {
        var population = counts.reduce(0, +)
        precondition(counts.allSatisfy { $0 >= 0 } && (0...population).contains(draws), "more draws than items")
        var left = draws
        var out: [Int] = []
        for (i, c) in counts.enumerated() {
            let k = i == counts.count - 1 ? left : hypergeometric(population: population, successes: c, draws: left, using: &rng)
            out.append(k)
            population -= c
            left -= k
        }
        return out
    }

    /// Moves a uniform random choice of `k` of `items` (every `k`-subset equally likely, in
    /// a uniformly random order) to the front: the first `k` steps of a Fisher–Yates
    /// shuffle. `k` ≥ the count: all of them, shuffled.
    package static func chooseToFront<T>(_ k: Int, of items: inout [T], using rng: inout SampleRandom) {
        let n = items.count
        for i in 0..<min(k, max(n - 1, 0)) {
            let j = i + rng.index(below: n - i)
            if j != i { items.swapAt(i, j) }
        }
    }

    /// A uniformly random order of `items` (Fisher–Yates).
    package static func shuffle<T>(_ items: inout [T], using rng: inout SampleRandom) {
        chooseToFront(items.count, of: &items, using: &rng)
    }
}
