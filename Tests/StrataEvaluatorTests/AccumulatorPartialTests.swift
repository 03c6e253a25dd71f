import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

/// `Accumulator.partial()`: a state written out and merged back is the same state, bit for bit.
final class AccumulatorPartialTests: XCTestCase {
    // MARK: exact comparison

    /// Type- and bit-exact equality: int32 1 ≠ int64 1, doubles by bit pattern (NaN payloads
    /// and the sign of zero count), decimals by encoding, fields in order.
    static func same(_ a: BSON?, _ b: BSON?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (.double(let x)?, .double(let y)?): return x.bitPattern == y.bitPattern
        case (.array(let xs)?, .array(let ys)?):
            return xs.count == ys.count && zip(xs, ys).allSatisfy { same($0, $1) }
        case (.document(let x)?, .document(let y)?):
            return x.keys == y.keys && zip(x.values, y.values).allSatisfy { same($0, $1) }
        case (let x?, let y?): return x == y  // the synthesized == tells the cases apart
        default: return false
        }
    }

    /// As `same`, but doubles within a relative 1e-9 (combined Welford states, combined
    /// compensated sums that rounded, re-compressed digests); the types must still match.
    static func close(_ a: BSON?, _ b: BSON?, _ tolerance: Double = 1e-9, _ absolute: Double = 0) -> Bool {
        switch (a, b) {
        case (.double(let x)?, .double(let y)?):
            if x.isNaN || y.isNaN || x.isInfinite || y.isInfinite { return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) }
            return abs(x - y) <= tolerance * max(abs(x), abs(y), 1) + absolute
        case (.array(let xs)?, .array(let ys)?): return xs.count == ys.count && zip(xs, ys).allSatisfy { close($0, $1, tolerance, absolute) }
        default: return same(a, b)
        }
    }

    func assertSame(_ a: BSON?, _ b: BSON?, _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        if !Self.same(a, b) { XCTFail("\(what()): \(show(a)) != \(show(b))", file: file, line: line) }
    }

    func testSameIsExact() {
        XCTAssertFalse(Self.same(.int32(1), .int64(1)))
        XCTAssertFalse(Self.same(.double(0), .double(-0.0)))
        XCTAssertTrue(Self.same(.double(.nan), .double(.nan)))
        XCTAssertFalse(Self.same(.decimal128(Decimal128("1.0")!), .decimal128(Decimal128("1.00")!)))
        XCTAssertFalse(Self.same(.document(["a": 1, "b": 2]), .document(["b": 2, "a": 1])))
        XCTAssertFalse(Self.same(nil, .null))
    }

    // MARK: inputs

    struct Case {
        let spec: AccumulatorSpec
        let source: String
        /// Produces one input (nil = missing).
        let value: (inout SplitMix64) -> BSON?
        /// Whether combining two non-empty partials is exact for these inputs (see the
        /// `Accumulator` doc: the parallel Welford formula is not).
        var chunkExact = true
        /// Longest input sequence.
        var maxLength = 40
        /// The relative and absolute tolerance of doubles when not `chunkExact` and split.
        var tolerance = 1e-9
        var absoluteTolerance = 0.0
        /// `$bottom`/`$bottomN` with tied keys: when split, only the outputs' keys
        /// (output / 1000) must match (which of the tied documents is kept may differ).
        var keysOnly = false
        /// Split checks make no sense (see the case): the chunked test uses one chunk.
        var singleChunkOnly = false
    }

    static func spec(_ s: String) throws -> AccumulatorSpec { try AccumulatorSpec.parse(J(s), at: Location(path: "acc")) }

    static let decimals = ["1.5", "-2.25", "0.001", "1E+3", "-0", "0E-5", "123456789.123456789", "NaN", "Infinity"].map { Decimal128($0)! }

    /// Numbers of every type, chosen so that sums stay exact in double-double arithmetic
    /// (doubles are multiples of 1/8 below 2^30), plus the specials and int32/int64 overflows.
    static func number(_ r: inout SplitMix64, specials: Bool = true) -> BSON {
        switch r.int(specials ? 12 : 8) {
        case 0: return .int32(Int32(r.int(201)) - 100)
        case 1: return .int32(r.chance(0.5) ? Int32.max - Int32(r.int(3)) : Int32.min + Int32(r.int(3)))
        case 2: return .int64(Int64(r.int(2001)) - 1000)
        case 3: return .int64(r.chance(0.5) ? Int64.max - Int64(r.int(3)) : Int64.min + Int64(r.int(3)))
        case 4, 5: return .double(Double(Int(r.int(1 << 20)) - (1 << 19)) / 8)
        case 6: return .decimal128(r.pick(decimals.filter { !$0.isNaN && $0.description != "Infinity" }))
        case 7: return .int64(Int64(r.int(1 << 30)) << 30)
        case 8: return .double(r.chance(0.5) ? 0.0 : -0.0)
        case 9: return .double(r.pick([Double.nan, .infinity, -.infinity]))
        case 10: return .decimal128(r.pick(decimals))
        default: return .double(Double(r.int(1 << 30)))
        }
    }

    static func integer(_ r: inout SplitMix64) -> BSON? {
        while true {
            let x = number(&r, specials: false)
            switch x { case .int32, .int64: return x; default: continue }
        }
    }

    /// Numbers whose totals stay below 2^53 in magnitude (so every partial total is exact).
    static func smallTotal(_ r: inout SplitMix64) -> BSON? {
        while true {
            let x = number(&r)
            if case .int64(let i) = x, i.magnitude > 1 << 40 { continue }
            if case .double(let d) = x, d.isFinite, d.magnitude > 0x1p40 { continue }
            return x
        }
    }

    /// Anything: numbers, missing, null, strings, documents, arrays, booleans.
    static func anyValue(_ r: inout SplitMix64) -> BSON? {
        switch r.int(10) {
        case 0: return nil
        case 1: return .null
        case 2: return .string(r.pick(["a", "b", "ab", ""]))
        case 3: return .document(Document([(r.pick(["a", "b", "c"]), number(&r))]))
        case 4: return .array((0..<r.int(3)).map { _ in number(&r) })
        case 5: return .bool(r.chance(0.5))
        default: return number(&r)
        }
    }

    static func array(_ r: inout SplitMix64) -> BSON? {
        switch r.int(6) {
        case 0: return nil
        case 1: return .null
        default: return .array((0..<r.int(4)).map { _ in r.chance(0.3) ? .string(r.pick(["x", "y"])) : .int32(Int32(r.int(5))) })
        }
    }

    static func object(_ r: inout SplitMix64) -> BSON? {
        switch r.int(5) {
        case 0: return nil
        case 1: return .null
        default: return .document(Document((0..<r.int(3)).map { _ in (r.pick(["a", "b", "c", "d"]), anyValue(&r) ?? .null) }))
        }
    }

    /// `$top` family inputs: `{output, sortFields: [k]}` with few distinct keys (ties).
    /// `distinct`: keys from a range of 2^50 values (ties practically never);
    /// `keyed`: the output is key × 1000 + a random part, always present.
    static func ranked(_ r: inout SplitMix64, distinct: Bool = false, keyed: Bool = false) -> BSON? {
        var d = Document()
        let key = r.int(6)
        if distinct {
            d["output"] = .int32(Int32(r.int(1000)))
            d["sortFields"] = .array([.double(Double(r.int(1 << 30)) + Double(r.int(1 << 20)) / 0x1p20)])
            return .document(d)
        }
        if keyed { d["output"] = .int32(Int32(key * 1000 + r.int(1000))) } else if !r.chance(0.1) { d["output"] = .int32(Int32(r.int(1000))) }
        let k: BSON = r.chance(0.1) && !keyed ? .null : r.chance(0.5) ? .int32(Int32(key)) : .double(Double(key))
        d["sortFields"] = .array([k])
        return .document(d)
    }

    static func keysOf(_ v: BSON?) -> BSON? {
        switch v {
        case .int32(let i)?: return .int32(i / 1000)
        case .array(let a)?: return .array(a.map { keysOf($0) ?? .null })
        default: return v
        }
    }

    static func cases() throws -> [Case] {
        var out: [Case] = []
        func add(_ s: String, chunkExact: Bool = true, maxLength: Int = 40, tolerance: Double = 1e-9, absoluteTolerance: Double = 0,
                 keysOnly: Bool = false, singleChunkOnly: Bool = false, _ value: @escaping (inout SplitMix64) -> BSON?) throws {
            out.append(Case(spec: try spec(s), source: s, value: value, chunkExact: chunkExact, maxLength: maxLength,
                            tolerance: tolerance, absoluteTolerance: absoluteTolerance, keysOnly: keysOnly,
                            singleChunkOnly: singleChunkOnly))
        }
        // Totals beyond 2^53 (int64 overflows, large longs next to fractions): mongod's
        // compensated pair is not kept normalized, so combining two totals may differ from the
        // single pass by an ulp of the total (as mongod's own sharded merge would).
        for op in ["$sum", "$avg"] {
            try add(#"{"\#(op)": "$x"}"#, chunkExact: false, absoluteTolerance: 8192) { anyValue(&$0) }
            try add(#"{"\#(op)": "$x"}"#, chunkExact: false, absoluteTolerance: 8192) { r in integer(&r) }
        }
        // Totals that stay exact merge exactly: int32 overflows, longs, doubles, decimals, NaN,
        // ±∞, ±0, missing, non-numbers.
        for op in ["$sum", "$avg"] {
            try add(#"{"\#(op)": "$x"}"#) { r in r.chance(0.8) ? smallTotal(&r) : anyValue(&r).flatMap { $0.isNumber ? nil : $0 } }
        }
        // Constant arguments: the executor feeds the constant itself.
        try add(#"{"$count": {}}"#) { _ in .int32(1) }
        try add(#"{"$sum": 1}"#) { _ in .int32(1) }
        try add(#"{"$sum": 2147483647}"#) { _ in .int32(Int32.max) }
        try add(#"{"$sum": {"$numberLong": "1152921504606846976"}}"#) { _ in .int64(1 << 60) }
        try add(#"{"$sum": 0.125}"#) { _ in .double(0.125) }
        try add(#"{"$sum": {"$numberDecimal": "0.1"}}"#) { _ in .decimal128(Decimal128("0.1")!) }
        // A constant-mode accumulator fed anything (not what the executor does, but the contract
        // is for any input): typed int32 → int64 → double arithmetic, a decimal leaves the mode.
        // Combining two non-empty constant totals adds them as one more typed constant, and a
        // slice that left the mode makes the merge leave it: the single pass's uncompensated
        // doubles are not reproduced, so only the state copy (one chunk) is checked.
        try add(#"{"$sum": 1}"#, chunkExact: false, singleChunkOnly: true) { anyValue(&$0) }
        try add(#"{"$min": "$x"}"#) { anyValue(&$0) }
        try add(#"{"$max": "$x"}"#) { anyValue(&$0) }
        try add(#"{"$first": "$x"}"#) { anyValue(&$0) }
        try add(#"{"$last": "$x"}"#) { anyValue(&$0) }
        try add(#"{"$push": "$x"}"#) { anyValue(&$0) }
        try add(#"{"$addToSet": "$x"}"#) { anyValue(&$0) }
        try add(#"{"$concatArrays": "$x"}"#) { array(&$0) }
        try add(#"{"$setUnion": "$x"}"#) { array(&$0) }
        try add(#"{"$mergeObjects": "$x"}"#) { object(&$0) }
        // Welford's parallel formula is not bitwise the sequential one: exact for one chunk only.
        try add(#"{"$stdDevPop": "$x"}"#, chunkExact: false) { anyValue(&$0) }
        try add(#"{"$stdDevSamp": "$x"}"#, chunkExact: false) { anyValue(&$0) }
        // `$top`'s ties keep the earliest consistently: exact whatever the split.
        try add(#"{"$top": {"output": "$o", "sortBy": {"k": 1}}}"#) { ranked(&$0) }
        try add(#"{"$topN": {"n": 3, "output": "$o", "sortBy": {"k": -1}}}"#) { ranked(&$0) }
        // `$bottom` evicts the earliest of tied keys yet refuses an equal newcomer (mongod's
        // multimap): with ties, which tied document stays depends on the split; exact without.
        try add(#"{"$bottom": {"output": "$o", "sortBy": {"k": -1}}}"#) { ranked(&$0, distinct: true) }
        try add(#"{"$bottomN": {"n": 3, "output": "$o", "sortBy": {"k": 1}}}"#) { ranked(&$0, distinct: true) }
        try add(#"{"$bottom": {"output": "$o", "sortBy": {"k": -1}}}"#, chunkExact: false, keysOnly: true) { ranked(&$0, keyed: true) }
        try add(#"{"$bottomN": {"n": 3, "output": "$o", "sortBy": {"k": 1}}}"#, chunkExact: false, keysOnly: true) { ranked(&$0, keyed: true) }
        try add(#"{"$firstN": {"n": 3, "input": "$x"}}"#) { anyValue(&$0) }
        try add(#"{"$lastN": {"n": 3, "input": "$x"}}"#) { anyValue(&$0) }
        try add(#"{"$maxN": {"n": 3, "input": "$x"}}"#) { anyValue(&$0) }
        try add(#"{"$minN": {"n": 3, "input": "$x"}}"#) { anyValue(&$0) }
        try add(#"{"$percentile": {"input": "$x", "p": [0, 0.3, 0.5, 1], "method": "discrete"}}"#) { anyValue(&$0) }
        try add(#"{"$percentile": {"input": "$x", "p": [0.1, 0.5, 0.95], "method": "continuous"}}"#) { anyValue(&$0) }
        try add(#"{"$percentile": {"input": "$x", "p": [0.1, 0.5, 0.95], "method": "approximate"}}"#) { anyValue(&$0) }
        try add(#"{"$median": {"input": "$x", "method": "approximate"}}"#) { anyValue(&$0) }
        // Past mongod's 5000-value buffer the t-digest flushes; combining two flushed digests is
        // approximate (within 1%) when split.
        try add(#"{"$median": {"input": "$x", "method": "approximate"}}"#, chunkExact: false, maxLength: 12_000, tolerance: 1e-2) {
            .double(Double($0.int(1 << 20)))
        }
        return out
    }

    static func run(_ spec: AccumulatorSpec, _ values: ArraySlice<BSON?>) throws -> any Accumulator {
        var a = try spec.makeAccumulator()
        for v in values { try a.accumulate(v) }
        return a
    }

    static func finalize(_ a: any Accumulator) throws -> BSON? { try a.finalize() }

    // MARK: tests

    /// The brief's property: a sequence split into 1–5 chunks, each chunk accumulated apart,
    /// the partials merged in order into a fresh accumulator, finalizes as the single pass.
    func testChunkedPartialsMergeToTheSinglePass() throws {
        var checked = 0
        for c in try Self.cases() {
            var r = SplitMix64(state: 0x5EED ^ c.source.utf8.reduce(UInt64(c.maxLength)) { $0 &* 31 &+ UInt64($1) })
            let rounds = c.maxLength > 1000 ? 6 : 300
            for round in 0..<rounds {
                let length = r.int(c.maxLength + 1)
                let values = (0..<length).map { _ in c.value(&r) }
                let single = try Self.finalize(Self.run(c.spec, values[...]))
                let chunkCount = c.singleChunkOnly ? 1 : 1 + r.int(5)
                var cuts = (0..<(chunkCount - 1)).map { _ in r.int(length + 1) }.sorted()
                cuts = [0] + cuts + [length]
                var merged = try c.spec.makeAccumulator()
                for i in 0..<(cuts.count - 1) {
                    let part = try Self.run(c.spec, values[cuts[i]..<cuts[i + 1]])
                    try merged.merge(try part.partial())
                }
                let what = "\(c.source) round \(round) chunks \(cuts) inputs \(values.map(show))"
                if c.chunkExact || chunkCount == 1 {
                    assertSame(try merged.finalize(), single, what)
                } else if c.keysOnly {
                    assertSame(Self.keysOf(try merged.finalize()), Self.keysOf(single), what)
                } else if !Self.close(try merged.finalize(), single, c.tolerance, c.absoluteTolerance) {
                    XCTFail("\(what): \(show(try merged.finalize())) is not close to \(show(single))")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 9000)
    }

    /// The contract itself: `b.merge(a.partial())` into a fresh `b` makes `b` behave as `a`
    /// for any following `accumulate` and `merge`; an empty accumulator's partial is a no-op.
    /// Checked for every case, chunk-exact or not, and across a BSON encoding round trip.
    func testPartialIsTheWholeState() throws {
        for c in try Self.cases() {
            var r = SplitMix64(state: 0xC0FFEE ^ c.source.utf8.reduce(UInt64(c.maxLength)) { $0 &* 31 &+ UInt64($1) })
            let rounds = c.maxLength > 1000 ? 4 : 200
            for round in 0..<rounds {
                let length = r.int(c.maxLength + 1)
                let values = (0..<length).map { _ in c.value(&r) }
                let cut = r.int(length + 1)
                let tail = values[cut...]
                // extra inputs (for constant `$sum` too: a merged partial leaves constant mode alike)
                let extra = try Self.run(c.spec, (0..<r.int(6)).map { _ in c.value(&r) }[...])

                var a = try Self.run(c.spec, values[..<cut])
                var b = try c.spec.makeAccumulator()
                try b.merge(try a.partial())
                var e = try c.spec.makeAccumulator()
                try e.merge(try Self.roundTrip(try a.partial()))
                var n = try Self.run(c.spec, values[..<cut])
                try n.merge(try c.spec.makeAccumulator().partial())  // an empty partial: no-op
                let what = "\(c.source) round \(round) cut \(cut) inputs \(values.map(show))"
                assertSame(try b.partial(), try a.partial(), what + " (partial of the copy)")
                assertSame(try Self.roundTrip(try a.partial()), try a.partial(), what + " (BSON round trip)")
                for x in tail {
                    try a.accumulate(x); try b.accumulate(x); try e.accumulate(x); try n.accumulate(x)
                }
                let p = try extra.partial()
                try a.merge(p); try b.merge(p); try e.merge(p); try n.merge(p)
                let want = try a.finalize()
                assertSame(try b.finalize(), want, what)
                assertSame(try e.finalize(), want, what + " (through BSON)")
                assertSame(try n.finalize(), want, what + " (after an empty partial)")
            }
        }
    }

    /// A partial survives libbson encoding and decoding unchanged (as a spill run stores it).
    static func roundTrip(_ p: BSON?) throws -> BSON? {
        var d = Document()
        if let p { d["p"] = p }
        return BSONBuffer(d).document["p"]
    }

    func testEmptyFirstAndLastStayUnseen() throws {
        for op in ["$first", "$last"] {
            let s = try Self.spec(#"{"\#(op)": "$x"}"#)
            var a = try s.makeAccumulator()
            try a.merge(try s.makeAccumulator().partial())
            try a.accumulate(.int32(7))
            assertSame(try a.finalize(), .int32(7), op)
            var m = try s.makeAccumulator()
            try m.accumulate(nil)  // seen, missing
            var b = try s.makeAccumulator()
            try b.merge(try m.partial())
            try b.accumulate(.int32(7))
            assertSame(try b.finalize(), op == "$first" ? nil : .int32(7), op + " after a missing value")
        }
    }

    func testSumPartialKeepsTheCompensation() throws {
        let s = try Self.spec(#"{"$sum": "$x"}"#)
        var a = try s.makeAccumulator()
        for x in [1e16, 1.0, 1.0, 1.0] { try a.accumulate(.double(x)) }
        guard case .document(let d)? = try a.partial() else { return XCTFail("not a document") }
        XCTAssertEqual(d.keys.first, "__exact")
        // 1e16 + 3 is not a double: the sum holds 1e16 + 4 and the addend -1
        XCTAssertEqual(d["sum"], .double(1e16 + 4))
        XCTAssertEqual(d["addend"], .double(-1))
        var b = try s.makeAccumulator()
        try b.merge(.document(d))
        try b.accumulate(.double(1))
        assertSame(try b.finalize(), .double(1e16 + 4), "compensated")
    }

    func testExactPartialOfAnotherKindIsRefused() throws {
        var avg = try Self.spec(#"{"$avg": "$x"}"#).makeAccumulator()
        var sum = try Self.spec(#"{"$sum": "$x"}"#).makeAccumulator()
        try sum.accumulate(.int32(1))
        XCTAssertThrowsError(try avg.merge(try sum.partial()))
    }
}
