import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

final class AccumulatorTests: XCTestCase {
    func spec(_ s: String) throws -> AccumulatorSpec { try AccumulatorSpec.parse(J(s), at: Location(path: "acc")) }

    func run(_ s: String, _ values: [BSON?]) throws -> BSON? {
        let sp = try spec(s)
        var a = try sp.makeAccumulator()
        for v in values { try a.accumulate(v) }
        return try a.finalize()
    }

    func testSemantics() throws {
        XCTAssertEqual(try run(#"{"$sum": "$x"}"#, []), .int32(0))
        XCTAssertEqual(try run(#"{"$sum": "$x"}"#, [1, 2, "a", nil, .null]), .int32(3))
        XCTAssertEqual(try run(#"{"$sum": "$x"}"#, [.int32(Int32.max), 1]), .int64(2_147_483_648))
        XCTAssertEqual(try run(#"{"$sum": "$x"}"#, [.int64(1), 1]), .int64(2))
        XCTAssertEqual(try run(#"{"$sum": "$x"}"#, [.double(0.1), .double(0.2), .double(0.3)]), .double(0.6))  // compensated
        XCTAssertEqual(try run(#"{"$avg": "$x"}"#, [1, 2, "x", nil]), .double(1.5))
        XCTAssertEqual(try run(#"{"$avg": "$x"}"#, ["x"]), .null)
        XCTAssertEqual(try run(#"{"$min": "$x"}"#, [.null, 3, "a", nil, 2]), .int32(2))
        XCTAssertEqual(try run(#"{"$max": "$x"}"#, [.null, 3, "a", nil]), "a")
        XCTAssertEqual(try run(#"{"$max": "$x"}"#, [nil, .null]), .null)
        XCTAssertNil(try run(#"{"$first": "$x"}"#, [nil, 1]))  // $group turns it into null
        XCTAssertEqual(try run(#"{"$last": "$x"}"#, [nil, 1]), .int32(1))
        XCTAssertEqual(try run(#"{"$push": "$x"}"#, [1, nil, .null]), [1, .null])
        XCTAssertEqual(try run(#"{"$addToSet": "$x"}"#, [1, 1.0, nil, .null, "a"]), [1, .null, "a"])
        XCTAssertEqual(try run(#"{"$stdDevPop": "$x"}"#, [1, 2, 3, 4]), .double(1.118033988749895))
        XCTAssertEqual(try run(#"{"$stdDevSamp": "$x"}"#, [5]), .null)
        XCTAssertEqual(try run(#"{"$mergeObjects": "$x"}"#, [["a": 1], nil, ["a": 2, "b": 1]]), ["a": 2, "b": 1])
        XCTAssertEqual(try run(#"{"$count": {}}"#, [1, 1]), .int32(2))  // the spec feeds 1 per document
        XCTAssertThrowsError(try run(#"{"$mergeObjects": "$x"}"#, [1]))
        XCTAssertEqual(try run(#"{"$sum": "$x"}"#, [.decimal128(Decimal128("1")!)]), .decimal128(Decimal128("1")!))
    }

    func testTopBottomTiesKeepTheFirstSeen() throws {
        func item(_ k: Int, _ out: String) -> BSON { .document(["output": .string(out), "sortFields": [.int32(Int32(k))]]) }
        XCTAssertEqual(try run(#"{"$top": {"sortBy": {"k": 1}, "output": "$o"}}"#, [item(2, "a"), item(1, "b"), item(1, "c")]), "b")
        XCTAssertEqual(try run(#"{"$bottom": {"sortBy": {"k": 1}, "output": "$o"}}"#, [item(2, "a"), item(2, "b"), item(1, "c")]), "a")
        XCTAssertEqual(try run(#"{"$topN": {"n": 2, "sortBy": {"k": -1}, "output": "$o"}}"#, [item(1, "a"), item(3, "b"), item(3, "c"), item(2, "d")]), ["b", "c"])
        XCTAssertEqual(try run(#"{"$bottomN": {"n": 2, "sortBy": {"k": 1}, "output": "$o"}}"#, [item(1, "a"), item(3, "b"), item(3, "c"), item(2, "d")]), ["b", "c"])
    }

    func testParseErrors() {
        XCTAssertThrowsError(try spec(#"{"$sum": [1, 2]}"#)) { XCTAssertTrue("\($0)".contains("unary operator")) }
        XCTAssertThrowsError(try spec(#"{"$foo": 1}"#)) { XCTAssertEqual(($0 as? StrataError)?.kind, .badInput) }
        XCTAssertThrowsError(try spec(#"{"$median": {"input": "$x"}}"#)) { XCTAssertTrue("\($0)".contains("'method'")) }
        XCTAssertThrowsError(try spec(#"{"$percentile": {"input": "$x", "p": [0.5, 2], "method": "approximate"}}"#)) {
            XCTAssertEqual(($0 as? StrataError)?.location?.path, "acc.$percentile.p")
        }
        XCTAssertThrowsError(try spec(#"{"$percentile": {"input": "$x", "p": "$ps", "method": "approximate"}}"#)) { XCTAssertTrue("\($0)".contains("constant")) }
        XCTAssertThrowsError(try spec(#"{"$percentile": {"input": "$x", "p": [0.5], "method": "tdigest"}}"#)) { XCTAssertEqual(($0 as? StrataError)?.kind, .badInput) }
        XCTAssertThrowsError(try spec(#"{"$accumulator": {}}"#)) { XCTAssertEqual(($0 as? StrataError)?.kind, .unsupported) }
        XCTAssertThrowsError(try spec(#"{"$topN": {"sortBy": {"a": 1}, "output": "$x"}}"#)) { XCTAssertTrue("\($0)".contains("'n'")) }
    }

    /// Merging the partial states of slices gives what accumulating everything gives.
    func testMergeOfOwnPartialsEqualsAccumulateAll() throws {
        let values: [BSON?] = [1, 2.5, .int64(10), nil, .null, "s", 7, -3.25, .int32(Int32.max), 4]
        for s in [#"{"$sum": "$x"}"#, #"{"$min": "$x"}"#, #"{"$max": "$x"}"#, #"{"$push": "$x"}"#, #"{"$addToSet": "$x"}"#,
                  #"{"$first": "$x"}"#, #"{"$last": "$x"}"#, #"{"$firstN": {"n": 3, "input": "$x"}}"#,
                  #"{"$lastN": {"n": 3, "input": "$x"}}"#, #"{"$maxN": {"n": 3, "input": "$x"}}"#, #"{"$minN": {"n": 3, "input": "$x"}}"#] {
            let all = try run(s, values)
            let sp = try spec(s)
            var merged = try sp.makeAccumulator()
            for slice in [values[0..<3], values[3..<7], values[7...]] {
                var part = try sp.makeAccumulator()
                for v in slice { try part.accumulate(v) }
                var p = try part.finalize()
                if sp.op == "$first" || sp.op == "$last" { p = p.map { .document(["v": $0]) } ?? .document([:]) }
                try merged.merge(p)
            }
            XCTAssertEqual(try merged.finalize(), all, s)
        }
        // $avg and $stdDev through their documented partial shapes
        let nums: [Double] = [1, 2, 3.5, 10, -4, 7.25, 8, 0.5]
        var avgAll = AvgAccumulator(), sdAll = StdDevAccumulator(sample: true)
        for x in nums { try avgAll.accumulate(.double(x)); try sdAll.accumulate(.double(x)) }
        var avgMerged = AvgAccumulator(), sdMerged = StdDevAccumulator(sample: true)
        for slice in [nums[0..<3], nums[3...]] {
            var s = SumAccumulator(), pop = StdDevAccumulator(sample: false), mean = AvgAccumulator()
            for x in slice { try s.accumulate(.double(x)); try pop.accumulate(.double(x)); try mean.accumulate(.double(x)) }
            try avgMerged.merge(["subTotal": s.finalize()!, "count": .int32(Int32(slice.count))])
            try sdMerged.merge(["count": .int32(Int32(slice.count)), "mean": mean.finalize()!, "stdDevPop": pop.finalize()!])
        }
        XCTAssertEqual(avgMerged.finalize(), avgAll.finalize())
        XCTAssertEqual(sdMerged.finalize()!.doubleValue!, sdAll.finalize()!.doubleValue!, accuracy: 1e-12)
    }

    /// mongod's percentile algorithms: discrete rank ceil(n·p) − 1, continuous interpolation,
    /// infinities counted apart, NaN and non-numbers ignored; "approximate" is mongod's t-digest.
    func testPercentiles() throws {
        let values: [BSON?] = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, .int64(11), nil, "x", .null, .double(.nan), [1, 2]]
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": [0, 0.1, 0.25, 0.5, 0.9, 0.95, 1], "method": "discrete"}}"#, values),
                       [1.0, 2.0, 3.0, 6.0, 10.0, 11.0, 11.0])
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": [0, 0.1, 0.25, 0.5, 0.9, 0.95, 1], "method": "approximate"}}"#, values),
                       [1.0, 2.0, 3.0, 6.0, 10.0, 11.0, 11.0])
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": [0, 0.25, 0.5, 0.95, 1], "method": "continuous"}}"#, values),
                       [1.0, 3.5, 6.0, 10.5, 11.0])
        XCTAssertEqual(try run(#"{"$median": {"input": "$x", "method": "approximate"}}"#, [4, 1, 3, 2]), 2.0)
        XCTAssertEqual(try run(#"{"$median": {"input": "$x", "method": "continuous"}}"#, [4, 1, 3, 2]), 2.5)
        XCTAssertEqual(try run(#"{"$median": {"input": "$x", "method": "approximate"}}"#, ["a", nil]), .null)
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": [0.5, 0.9], "method": "discrete"}}"#, []), [.null, .null])
        // infinities
        let inf: [BSON?] = [.double(-.infinity), 1, 2, .double(.infinity), .double(.infinity)]
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": [0, 0.2, 0.4, 0.6, 1], "method": "approximate"}}"#, inf),
                       [.double(-.infinity), .double(-.infinity), 1.0, 2.0, .double(.infinity)])
        // mongod's t-digest starts its maximum at the smallest positive double
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": [1, 0.5], "method": "approximate"}}"#, [-1, -5]),
                       [.double(Double.leastNormalMagnitude), -5.0])
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": [1, 0.5], "method": "discrete"}}"#, [-1, -5]), [-1.0, -5.0])
        // expressions
        XCTAssertEqual(try ev(#"{"$percentile": {"input": [1, 2, 3, 4, "a"], "p": [0.5, 0.75], "method": "continuous"}}"#), [2.5, 3.25])
        XCTAssertEqual(try ev(#"{"$percentile": {"input": [1, 2, 3, 4, "a"], "p": [0.5, 0.75], "method": "approximate"}}"#), [2.0, 3.0])
        XCTAssertEqual(try ev(#"{"$median": {"input": 7, "method": "approximate"}}"#), 7.0)
        XCTAssertEqual(try ev(#"{"$median": {"input": [], "method": "approximate"}}"#), .null)
        XCTAssertEqual(try ev(#"{"$percentile": {"input": "$m", "p": [0.1, 0.2], "method": "approximate"}}"#), [.null, .null])
        let e = try Expr.parse(J(#"{"$percentile": {"input": "$a", "p": [0.5, 1], "method": "continuous"}}"#))
        XCTAssertEqual(try Expr.parse(e.bson), e)
        XCTAssertEqual(try AccumulatorSpec.parse(try spec(#"{"$median": {"input": "$a", "method": "discrete"}}"#).bson, at: Location()),
                       try spec(#"{"$median": {"input": "$a", "method": "discrete"}}"#))
    }

    /// Beyond about a thousand inputs mongod's t-digest merges neighbours into centroids: the
    /// answer is close to, but in general not, the exact one; extremes stay exact.
    func testTDigestIsApproximateLikeMongod() throws {
        var seed: UInt64 = 7
        func next() -> Double { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Double(seed >> 11) / Double(1 << 53) }
        let values: [BSON?] = (0..<12_000).map { _ in .double(next() * 100) }
        let ps = "[0, 0.01, 0.25, 0.5, 0.75, 0.99, 1]"
        let approx = try run(#"{"$percentile": {"input": "$x", "p": \#(ps), "method": "approximate"}}"#, values)?.arrayValue ?? []
        let exact = try run(#"{"$percentile": {"input": "$x", "p": \#(ps), "method": "discrete"}}"#, values)?.arrayValue ?? []
        XCTAssertEqual(approx.count, 7)
        XCTAssertEqual(approx.first, exact.first)
        XCTAssertEqual(approx.last, exact.last)
        var differs = false
        for (a, x) in zip(approx, exact) {
            XCTAssertEqual(a.doubleValue!, x.doubleValue!, accuracy: 0.1)
            if a != x { differs = true }
        }
        XCTAssertTrue(differs, "the middle percentiles come from interpolated centroids")
        // below the first merge threshold every centroid is a single value: exact
        let small = Array(values.prefix(900))
        XCTAssertEqual(try run(#"{"$percentile": {"input": "$x", "p": \#(ps), "method": "approximate"}}"#, small),
                       try run(#"{"$percentile": {"input": "$x", "p": \#(ps), "method": "discrete"}}"#, small))
    }
}
