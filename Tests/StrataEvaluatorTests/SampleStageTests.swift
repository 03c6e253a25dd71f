import Foundation
import StrataBSON
@testable import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

/// `$sample` in the Swift evaluator (`SampleOp`) and the exact draws behind it
/// (`Sampling`): mongod's parse errors, the size, no repeats, every input document
/// reachable, seeds, and the draws' distributions against their exact laws.
final class SampleStageTests: XCTestCase {
    func docs(_ n: Int) -> [Document] { (0..<n).map { ["_id": .int32(Int32($0)), "x": .int32(Int32($0 % 7))] } }

    func run(_ pipeline: String, _ input: [Document], seed: UInt64? = nil) throws -> [Document] {
        try PipelineExecutor(try Pipeline.parse(J(pipeline).arrayValue ?? []), context: ExecutionContext(sampleSeed: seed)).run(input)
    }

    func ids(_ ds: [Document]) -> [Int64] { ds.compactMap { $0["_id"]?.exactInt } }

    /// mongod's messages (document_source_sample.cpp), each at the place it names.
    func testParseErrorsAreMongods() {
        func expect(_ p: String, _ path: String, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try Pipeline.parse(J(p).arrayValue ?? [], at: Location(file: "q.json", path: "pipeline")), line: line) { e in
                guard let e = e as? StrataError else { return XCTFail("\(e)", line: line) }
                XCTAssertEqual(e.kind, .badInput, "\(e)", line: line)
                XCTAssertEqual(e.location?.path, path, "\(e)", line: line)
                XCTAssertEqual(e.message, message, line: line)
            }
        }
        expect(#"[{"$sample": 5}]"#, "pipeline[0].$sample", "the $sample stage specification must be an object")
        expect(#"[{"$sample": {}}]"#, "pipeline[0].$sample", "$sample stage must specify a size")
        expect(#"[{"$match": {}}, {"$sample": {"size": "3"}}]"#, "pipeline[1].$sample.size", "size argument to $sample must be a number")
        expect(#"[{"$sample": {"size": -1}}]"#, "pipeline[0].$sample.size", "size argument to $sample must be a positive integer")
        expect(#"[{"$sample": {"size": 0}}]"#, "pipeline[0].$sample.size", "size argument to $sample must be a positive integer")
        // safeNumberLong truncates 0.5 to 0; NaN reads as 0.
        expect(#"[{"$sample": {"size": 0.5}}]"#, "pipeline[0].$sample.size", "size argument to $sample must be a positive integer")
        expect(#"[{"$sample": {"size": {"$numberDouble": "NaN"}}}]"#, "pipeline[0].$sample.size", "size argument to $sample must be a positive integer")
        expect(#"[{"$sample": {"size": 2, "seed": 1}}]"#, "pipeline[0].$sample.seed", "unrecognized option to $sample: seed")
    }

    func testSizeIsReadAsMongodReadsIt() throws {
        XCTAssertEqual(try Pipeline.parse(J(#"[{"$sample": {"size": 2.9}}]"#).arrayValue!).stages, [.sample(2)])
        XCTAssertEqual(try Pipeline.parse(J(#"[{"$sample": {"size": {"$numberLong": "3"}}}]"#).arrayValue!).stages, [.sample(3)])
        XCTAssertEqual(try Pipeline.parse(J(#"[{"$sample": {"size": {"$numberDecimal": "2.5"}}}]"#).arrayValue!).stages, [.sample(2)])
        XCTAssertEqual(try Pipeline.parse(J(#"[{"$sample": {"size": 1e300}}]"#).arrayValue!).stages, [.sample(.max)])
        XCTAssertEqual(Stage.sample(4).bson, ["$sample": ["size": .int64(4)]])
    }

    func testExactSizeNoRepeatsAllFromTheInput() throws {
        let input = docs(200)
        for seed: UInt64? in [nil, 1, 2, 3] {
            let out = try run(#"[{"$sample": {"size": 37}}]"#, input, seed: seed)
            XCTAssertEqual(out.count, 37)
            XCTAssertEqual(Set(ids(out)).count, 37, "no document twice")
            for d in out { XCTAssertEqual(d, input[Int(d["_id"]!.exactInt!)], "each is an input document, unchanged") }
        }
    }

    func testSizeAtLeastTheInputGivesEveryDocumentShuffled() throws {
        let input = docs(50)
        let out = try run(#"[{"$sample": {"size": 50}}]"#, input, seed: 9)
        XCTAssertEqual(Set(ids(out)), Set(0..<50))
        XCTAssertNotEqual(ids(out), Array(0..<50), "a random order (at this seed, not the input's)")
        XCTAssertEqual(Set(ids(try run(#"[{"$sample": {"size": 1000}}]"#, input))), Set(0..<50))
        XCTAssertEqual(try run(#"[{"$sample": {"size": 3}}]"#, []), [])
    }

    func testSeedsReproduce() throws {
        let input = docs(300)
        let p = #"[{"$sample": {"size": 20}}]"#
        XCTAssertEqual(ids(try run(p, input, seed: 42)), ids(try run(p, input, seed: 42)))
        XCTAssertNotEqual(ids(try run(p, input, seed: 42)), ids(try run(p, input, seed: 43)))
        // Two stages of one pipeline draw independently (seeded by their places).
        let twice = try run(#"[{"$sample": {"size": 300}}, {"$sample": {"size": 300}}]"#, input, seed: 5)
        let once = try run(#"[{"$sample": {"size": 300}}]"#, input, seed: 5)
        XCTAssertNotEqual(ids(twice), ids(once))
    }

    /// After a `$group`: a sample of the groups, the stages after it run on the sample.
    func testAfterAGroup() throws {
        let out = try run(#"[{"$group": {"_id": "$x", "n": {"$sum": 1}}}, {"$sample": {"size": 3}}, {"$sort": {"_id": 1}}]"#, docs(70), seed: 3)
        XCTAssertEqual(out.count, 3)
        XCTAssertTrue(out.allSatisfy { $0["n"]?.exactInt == 10 })
        let keys = out.compactMap { $0["_id"]?.exactInt }
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertTrue(keys.allSatisfy { (0..<7).contains($0) })
    }

    /// Each document is in a sample of k of n with probability k / n: over many seeded
    /// draws of 3 of 12, each document's count against 3/12 of the draws, by a
    /// chi-square test at significance 0.001 (11 degrees of freedom: 31.26).
    func testEachDocumentEquallyLikely() throws {
        let input = docs(12)
        let draws = 4000
        var counts = [Int](repeating: 0, count: 12)
        for s in 0..<draws {
            for id in ids(try run(#"[{"$sample": {"size": 3}}]"#, input, seed: UInt64(s))) { counts[Int(id)] += 1 }
        }
        let expected = Double(draws) * 3 / 12
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        XCTAssertLessThan(chi2, 31.26, "\(counts)")
    }

    /// The hypergeometric draw against its exact probabilities: 20 of 50 with 15 marked,
    /// 20000 seeded draws, chi-square over the outcomes with expected count ≥ 5 (the rest
    /// pooled) at significance 0.001.
    func testHypergeometricMatchesItsLaw() {
        var rng = SampleRandom(seed: 2024)
        let (population, marked, draws, runs) = (50, 15, 20, 20000)
        var seen = [Int](repeating: 0, count: marked + 1)
        for _ in 0..<runs { seen[Sampling.hypergeometric(population: population, successes: marked, draws: draws, using: &rng)] += 1 }
        func choose(_ n: Int, _ k: Int) -> Double { (0..<k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) } }
        let p = (0...marked).map { choose(marked, $0) * choose(population - marked, draws - $0) / choose(population, draws) }
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-9)
        let (chi2, df) = Self.chiSquare(observed: seen, expected: p.map { $0 * Double(runs) })
        XCTAssertLessThan(chi2, Self.chiSquareCritical001[df]!, "df \(df): \(seen)")
    }

    func testMultivariateHypergeometricEdges() {
        var rng = SampleRandom(seed: 1)
        XCTAssertEqual(Sampling.multivariateHypergeometric(counts: [4, 0, 6], draws: 10, using: &rng), [4, 0, 6])
        XCTAssertEqual(Sampling.multivariateHypergeometric(counts: [4, 0, 6], draws: 0, using: &rng), [0, 0, 0])
        XCTAssertEqual(Sampling.multivariateHypergeometric(counts: [0, 7, 0], draws: 5, using: &rng), [0, 5, 0])
        XCTAssertEqual(Sampling.multivariateHypergeometric(counts: [], draws: 0, using: &rng), [])
        for _ in 0..<200 {
            let k = Sampling.multivariateHypergeometric(counts: [3, 9, 1, 5], draws: 8, using: &rng)
            XCTAssertEqual(k.reduce(0, +), 8)
            XCTAssertTrue(zip(k, [3, 9, 1, 5]).allSatisfy { $0 <= $1 })
        }
    }

    func testSeededGeneratorIsFixed() {
        // SplitMix64 from 0 (its published first output); xoshiro256** from it: fixed values, so a seed means the same sample on
        // every build.
        var g = Xoshiro256StarStar(seed: 0)
        let first = (0..<3).map { _ in g.next() }
        var again = Xoshiro256StarStar(seed: 0)
        XCTAssertEqual(first, (0..<3).map { _ in again.next() })
        var sm = SplitMix(seed: 0)
        XCTAssertEqual(sm.next(), 0xE220_A839_7B1D_CDAF)
        var r = SampleRandom(seed: 7)
        for bound in [1, 2, 3, 10, 1000] { for _ in 0..<100 { XCTAssertLessThan(r.index(below: bound), bound) } }
    }

    /// Pearson's statistic, pooling the cells whose expected count is below 5 into one;
    /// the degrees of freedom are the cells left minus one.
    static func chiSquare(observed: [Int], expected: [Double]) -> (Double, Int) {
        var cells: [(Double, Double)] = []
        var pooled = (0.0, 0.0)
        for (o, e) in zip(observed, expected) {
            if e < 5 { pooled.0 += Double(o); pooled.1 += e } else { cells.append((Double(o), e)) }
        }
        if pooled.1 > 0 { cells.append(pooled) }
        return (cells.reduce(0) { $0 + pow($1.0 - $1.1, 2) / $1.1 }, cells.count - 1)
    }

    /// The chi-square distribution's upper 0.001 points, by degrees of freedom.
    static let chiSquareCritical001: [Int: Double] = [
        1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322, 8: 26.124, 9: 27.877, 10: 29.588,
        11: 31.264, 12: 32.909, 13: 34.528, 14: 36.123, 15: 37.697, 16: 39.252, 17: 40.790, 18: 42.312, 19: 43.820, 20: 45.315,
    ]
}
