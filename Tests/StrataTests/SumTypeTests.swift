import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataLens
import StrataLibBSON
import StrataTestSupport
import XCTest

/// Partial `$sum`s ship no input type by default; when a slice's int32 sum overflowed
/// into int64 yet the total fits int32 again, the runner runs the query again with
/// types, and the answer has mongod's type (int32), not int64. (SecantusDB itself
/// answers int64 once an int32 running sum has overflowed, even when the total fits
/// int32 again; mongod types the result by its widest input: int32.)
final class SumTypeTests: XCTestCase {
    func lens() throws -> Lens { try Lens.load(collection: "events", schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas")) }

    func run(_ docs: [Document], _ name: String) throws -> (strata: [Document], truth: [Document], reruns: Int) {
        let db = try TestServer.freshDatabase(name)
        _ = try db.collection("events").insertMany(docs)
        // The same documents at the newest version: amount.value is a path at v1...v3.
        _ = try db.collection("truth").insertMany(try docs.map { try lens().upgrade($0) })
        // Grouped by kind, a converted field: versions 1-2 and 3 are separate branches.
        let pipeline: [BSON] = [["$group": ["_id": "$kind", "s": ["$sum": "$amount.value"], "n": ["$sum": 1]]]]
        // Partial groups (as on mongod; SecantusDB's profile would stream this full scan).
        let runner = QueryRunner(database: db, lens: try lens(), options: QueryRunner.Options(profile: .mongod))
        let spec = QuerySpec(collection: "events", pipeline: pipeline)
        var out: [Document] = []
        let statistics = try runner.run(spec) { out.append($0); return true }
        return (out, try db.collection("truth").aggregateAll(pipeline), statistics.rerunsForSumTypes)
    }

    func amount(_ id: Int, _ v: Int32, _ value: BSON) -> Document {
        v < 3 ? ["_id": .int32(Int32(id)), "v": .int32(v), "type": "Refund", "region": "eu", "amount": ["value": value, "currency": "USD"]]
            : ["_id": .int32(Int32(id)), "v": .int32(v), "kind": "refund", "geo": ["region": "eu"], "amount": ["value": value, "currency": "USD"]]
    }

    func testOverflowedSliceIsRunAgainForTheExactType() throws {
        let docs = [amount(1, 1, .int32(2_000_000_000)), amount(2, 1, .int32(2_000_000_000)),
                    amount(3, 3, .int32(-2_000_000_000)), amount(4, 3, .int32(-1_000_000_000))]
        let r = try run(docs, "sumtype_overflow")
        XCTAssertEqual(r.reruns, 1)
        XCTAssertEqual(r.strata.first?["s"], .int32(1_000_000_000))
        XCTAssertEqual(r.strata.first?["s"]?.doubleValue, r.truth.first?["s"]?.doubleValue)
    }

    func testLongInputsStayLongWithoutRerun() throws {
        let docs = [amount(1, 1, .int64(5)), amount(2, 3, .int32(7))]
        let r = try run(docs, "sumtype_long")
        XCTAssertEqual(r.reruns, 0)
        XCTAssertEqual(r.strata.first?["s"], .int64(12))
        XCTAssertEqual(r.strata.first?["s"], r.truth.first?["s"])
    }

    func testIntInputsStayIntWithoutRerun() throws {
        let docs = [amount(1, 1, .int32(5)), amount(2, 2, .int32(6)), amount(3, 3, .int32(7))]
        let r = try run(docs, "sumtype_int")
        XCTAssertEqual(r.reruns, 0)
        XCTAssertEqual(r.strata.first?["s"], .int32(18))
        XCTAssertEqual(r.strata.first?["s"], r.truth.first?["s"])
    }
}
