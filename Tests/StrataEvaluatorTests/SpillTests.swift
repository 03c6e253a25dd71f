import Foundation
import StrataBSON
@testable import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import XCTest

/// Blocking stages past a tiny `MemoryBudget`: they spill sorted runs and answer exactly
/// what the unbounded run answers; their temporary files are gone after success and error.
final class SpillTests: XCTestCase {
    var base: String = ""

    override func setUpWithError() throws {
        base = NSTemporaryDirectory() + "strata-spill-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: base)
    }

    /// What is left in the spill base.
    var leftovers: [String] { (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] }

    /// A tiny budget: every operator spills each time it holds 16 KB, and compacts its runs
    /// past `MemoryBudget.maxRuns`.
    func tinyBudget() -> MemoryBudget { MemoryBudget(limitBytes: 1, spillBase: base, minimumRunBytes: 16 * 1024) }

    func run(_ pipeline: String, _ docs: [Document], budget: MemoryBudget?) throws -> [Document] {
        var context = ExecutionContext()
        context.memory = budget
        return try PipelineExecutor(try Pipeline.parse(J(pipeline).arrayValue ?? []), context: context).run(docs)
    }

    /// Documents of mixed types: numbers of every type (with overflows and NaN), strings,
    /// nulls, missing fields, arrays and documents, keyed into `groups` groups.
    func documents(_ n: Int, groups: Int) -> [Document] {
        (0..<n).map { i in
            var d: Document = ["_id": .int32(Int32(i)), "g": .int32(Int32((i * 7919) % groups))]
            switch i % 7 {
            case 0: d["x"] = .int32(Int32(i))
            case 1: d["x"] = .int64(Int64(i) * 3_000_000_000)
            case 2: d["x"] = .double(Double(i) / 3)
            case 3: d["x"] = .decimal128(Decimal128("\(i).25")!)
            case 4: d["x"] = .string("s\(i % 13)")
            case 5: d["x"] = .null
            default: break
            }
            if i % 11 == 0 { d["x"] = .double(.nan) }
            d["o"] = ["k\(i % 3)": .int32(Int32(i))]
            d["tag"] = .string("t\(i % 5)")
            return d
        }
    }

    /// Exact, type by type, as multisets (a spilled `$group` gives its groups in key order);
    /// the `$stdDev*` fields (named `sd...`) to 1e-12 relative.
    func assertSameGroups(_ got: [Document], _ want: [Document], file: StaticString = #filePath, line: UInt = #line) {
        let g = got.map { ExtendedJSON.string($0, mode: .canonical) }.sorted()
        let w = want.map { ExtendedJSON.string($0, mode: .canonical) }.sorted()
        XCTAssertEqual(g.count, w.count, file: file, line: line)
        let byId = Dictionary(want.map { (ExtendedJSON.string($0["_id"] ?? .null, mode: .canonical), $0) }, uniquingKeysWith: { a, _ in a })
        for d in got {
            guard let w = byId[ExtendedJSON.string(d["_id"] ?? .null, mode: .canonical)] else { XCTFail("unexpected group \(d["_id"] ?? .null)", file: file, line: line); continue }
            for (k, v) in d where ExtendedJSON.string(v, mode: .canonical) != ExtendedJSON.string(w[k] ?? .null, mode: .canonical) {
                // $stdDev* slices merge with the parallel formula, as mongod's spilled
                // partials do: the last bits differ from one sequential pass
                if k.hasPrefix("sd"), case .double(let a) = v, case .double(let b)? = w[k], abs(a - b) <= 1e-12 * max(abs(a), abs(b)) { continue }
                XCTFail("group \(ExtendedJSON.string(d["_id"] ?? .null)) field \(k): spilled \(ExtendedJSON.string(v, mode: .canonical)) vs \(ExtendedJSON.string(w[k] ?? .null, mode: .canonical))", file: file, line: line)
                return
            }
        }
    }

    func testGroupOfEveryAccumulatorSpillsAndAnswersExactly() throws {
        let pipeline = #"""
        [{"$group": {"_id": "$g", "n": {"$sum": 1}, "s": {"$sum": "$x"}, "avg": {"$avg": "$x"}, "lo": {"$min": "$x"}, "hi": {"$max": "$x"},
          "first": {"$first": "$x"}, "last": {"$last": "$_id"}, "all": {"$push": "$_id"}, "tags": {"$addToSet": "$tag"},
          "sd": {"$stdDevPop": "$x"}, "sds": {"$stdDevSamp": "$_id"}, "top": {"$topN": {"n": 2, "sortBy": {"_id": -1}, "output": "$x"}},
          "bottom": {"$bottom": {"sortBy": {"_id": -1}, "output": "$_id"}}, "f2": {"$firstN": {"n": 2, "input": "$x"}},
          "l2": {"$lastN": {"n": 2, "input": "$_id"}}, "mx2": {"$maxN": {"n": 2, "input": "$_id"}}, "mn2": {"$minN": {"n": 2, "input": "$_id"}},
          "merged": {"$mergeObjects": "$o"}, "med": {"$median": {"input": "$_id", "method": "approximate"}}, "c": {"$count": {}}}}]
        """#
        let docs = documents(6_000, groups: 800)
        let want = try run(pipeline, docs, budget: nil)
        let budget = tinyBudget()
        let got = try run(pipeline, docs, budget: budget)
        XCTAssertGreaterThan(budget.runsWritten, MemoryBudget.maxRuns, "the group spilled, and compacted its runs")
        assertSameGroups(got, want)
        XCTAssertEqual(leftovers, [], "the spill directory is removed after the answer")
        XCTAssertEqual(budget.heldBytes, 0, "everything charged is released")
    }

    func testCompoundAndMissingKeysSpillAsTheirOwnGroups() throws {
        let pipeline = #"[{"$group": {"_id": {"a": "$x", "b": "$tag"}, "n": {"$sum": 1}, "ids": {"$push": "$_id"}}}]"#
        let docs = documents(6_000, groups: 10)
        let budget = tinyBudget()
        assertSameGroups(try run(pipeline, docs, budget: budget), try run(pipeline, docs, budget: nil))
        XCTAssertGreaterThan(budget.runsWritten, 0)
    }

    func testSortSpillsAndStaysStable() throws {
        // many ties on `g`: the spilled merge must keep the input order among them
        let pipeline = #"[{"$sort": {"g": 1, "tag": -1}}]"#
        let docs = documents(10_000, groups: 50)
        let budget = tinyBudget()
        let got = try run(pipeline, docs, budget: budget)
        XCTAssertGreaterThan(budget.runsWritten, MemoryBudget.maxRuns, "the sort spilled, and compacted its runs")
        XCTAssertEqual(got.map { ExtendedJSON.string($0, mode: .canonical) }, try run(pipeline, docs, budget: nil).map { ExtendedJSON.string($0, mode: .canonical) })
        XCTAssertEqual(leftovers, [])
    }

    func testGroupThenSortThenBucketUnderOneBudget() throws {
        let pipeline = #"""
        [{"$group": {"_id": "$_id", "x": {"$first": "$x"}, "g": {"$first": "$g"}}}, {"$sort": {"g": -1, "_id": 1}},
         {"$bucket": {"groupBy": "$g", "boundaries": [0, 100, 1000, 5000], "default": "other", "output": {"n": {"$sum": 1}, "ids": {"$push": "$_id"}}}}]
        """#
        let docs = documents(8_000, groups: 1_500)
        let budget = tinyBudget()
        let got = try run(pipeline, docs, budget: budget)
        XCTAssertGreaterThan(budget.runsWritten, 2)
        XCTAssertEqual(got.map { ExtendedJSON.string($0, mode: .canonical) }, try run(pipeline, docs, budget: nil).map { ExtendedJSON.string($0, mode: .canonical) })
        XCTAssertEqual(leftovers, [])
    }

    func testAnErrorAfterSpillingLeavesNoFiles() throws {
        var docs: [Document] = (0..<6_000).map { ["_id": .int32(Int32($0)), "g": .int32(Int32($0 % 4_000)), "x": .int32(Int32($0))] }
        docs.append(["_id": -1, "g": 1, "x": "not a number"])
        let pipeline = #"[{"$group": {"_id": "$g", "v": {"$sum": {"$toInt": "$x"}}, "all": {"$push": "$_id"}}}]"#
        let budget = tinyBudget()
        XCTAssertThrowsError(try run(pipeline, docs, budget: budget))
        XCTAssertGreaterThan(budget.runsWritten, 0, "the group had spilled before the error")
        XCTAssertEqual(leftovers, [], "the spill directory is removed after an error")
    }

    func testRunsRoundTripEveryTypeAndNameTheFileWhenDamaged() throws {
        let dir = try SpillDirectory(base: base)
        let writer = try dir.makeRun()
        let big: Document = ["blob": .string(String(repeating: "x", count: 3 << 20))]  // beyond the 1 MB buffers
        let docs: [Document] = documents(2_000, groups: 17) + [big, ["min": .minKey, "max": .maxKey, "d": .date(5), "b": .bool(true),
                                                                      "bin": .binary(BSONBinary(subtype: 4, data: Array(repeating: 1, count: 16))),
                                                                      "ts": .timestamp(BSONTimestamp(t: 1, i: 2)), "re": .regex(BSONRegex(pattern: "a.c", options: "i"))]]
        for d in docs { try writer.write(d) }
        let run = try writer.finish()
        XCTAssertEqual(run.documents, docs.count)
        let reader = try run.open()
        var back: [Document] = []
        while let d = try reader.next() { back.append(d) }
        XCTAssertEqual(back.map { ExtendedJSON.string($0, mode: .canonical) }, docs.map { ExtendedJSON.string($0, mode: .canonical) })
        // cut the file inside a document
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: run.path)[.size] as? Int)
        XCTAssertEqual(truncate(run.path, off_t(size - 10)), 0)
        let damaged = try run.open()
        XCTAssertThrowsError(try { while try damaged.next() != nil {} }()) { e in
            XCTAssertTrue("\(e)".contains(run.path), "\(e)")
            XCTAssertTrue("\(e)".contains("damaged"), "\(e)")
        }
        dir.remove()
        XCTAssertEqual(leftovers, [])
    }

    func testStaleDirectoriesOfDeadProcessesAreRemoved() throws {
        // a process that has exited: its pid is free (reused only after a full cycle)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let live = try SpillDirectory(base: base)  // the first in this base: sweeps it (nothing yet)
        let dead = "\(base)/\(SpillDirectory.prefix)\(child.processIdentifier)-abcdef"
        try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: dead + "/run-0", contents: Data([1, 2, 3]))
        XCTAssertEqual(SpillDirectory.removeStale(base: base), 1)
        XCTAssertEqual(leftovers, [URL(fileURLWithPath: live.path).lastPathComponent], "the live directory stays")
        live.remove()
    }

    func testSizesParse() {
        XCTAssertEqual(MemoryBudget.parseSize("256MB"), 256 << 20)
        XCTAssertEqual(MemoryBudget.parseSize("1gb"), 1 << 30)
        XCTAssertEqual(MemoryBudget.parseSize("64K"), 64 << 10)
        XCTAssertEqual(MemoryBudget.parseSize("500000"), 500_000)
        XCTAssertNil(MemoryBudget.parseSize("lots"))
        XCTAssertNil(MemoryBudget.parseSize("-5MB"))
    }
}
