import Foundation
@testable import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `Lens.upgradingViewStages()`: one pipeline that upgrades documents of every version,
/// checked against the generator's truth on the server.
final class BenchViewTests: XCTestCase {
    func testUpgradingViewEqualsTruth() throws {
        for (dataset, dists) in [("events", [nil, "100,0,0,0", "0,0,0,100", "10,20,30,40"]), ("devices", [nil, "100,0,0", "0,0,100"])] {
            for dist in dists {
                let d = try RuntimeFixture.load(dataset, count: 1500, database: "bench_view_\(dataset)", dist: dist)
                let stages = try XCTUnwrap(d.lens.upgradingViewStages(), dataset)
                let upgraded = try d.collection.aggregateAll(stages)
                XCTAssertEqual(upgraded.count, d.truth.count, "\(dataset) \(dist ?? "default")")
                let want = d.truthById
                for doc in upgraded {
                    let id = try XCTUnwrap(doc["_id"])
                    guard let t = want[GroupKey(id)] else { return XCTFail("\(dataset): unexpected _id \(ExtendedJSON.string(id))") }
                    if let diff = BSONComparison().difference(doc, t) {
                        return XCTFail("\(dataset) \(dist ?? "default") _id \(ExtendedJSON.string(id)): \(diff)")
                    }
                }
            }
        }
    }

    /// The view pipeline followed by a query gives the truth's answer (what the benchmark's
    /// "upgrading" way relies on).
    func testUpgradingViewThenPipeline() throws {
        let d = try RuntimeFixture.load("events", count: 1500, database: "bench_view_query")
        let truth = d.database.collection("events_truth")
        try truth.insertMany(d.truth)
        let pipeline: [BSON] = [["$match": ["kind": "purchase"]],
                                ["$group": ["_id": "$geo.region", "n": ["$sum": 1], "revenue": ["$sum": "$amount.value"]]],
                                ["$sort": ["_id": 1]]]
        let got = try d.collection.aggregateAll(try XCTUnwrap(d.lens.upgradingViewStages()) + pipeline)
        let want = try truth.aggregateAll(pipeline)
        XCTAssertFalse(want.isEmpty)
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: pipeline))
    }

    /// Steps with an application-defined function have no server form: no view.
    func testSwiftOnlyLensHasNoView() throws {
        XCTAssertNil(try RuntimeFixture.lens("users").upgradingViewStages())
    }

    /// The shape of the rewriting: conditional sets, unsets as $$REMOVE, lookups unconditional.
    func testConditionalForms() throws {
        let lens = try RuntimeFixture.lens("devices")
        let stages = try XCTUnwrap(lens.upgradingViewStages())
        // The lookup's guard (a `localField` that is an array, a `tags` already there) comes
        // first, conditional like any $set; then the lookup, for every document.
        let guardStage = try XCTUnwrap(stages.first?.documentValue)
        XCTAssertNotNil(guardStage["$set"]?.documentValue?["__strata_guard"], "\(guardStage)")
        let lookup = try XCTUnwrap(stages.dropFirst(2).first?.documentValue)  // after the guard's $set and (conditional) $unset
        XCTAssertNotNil(lookup["$lookup"], "the lookup runs for every document")
        let text = stages.map { ExtendedJSON.string($0) }.joined(separator: "\n")
        XCTAssertTrue(text.contains("$$REMOVE"), text)
        XCTAssertTrue(stages.contains { $0.documentValue?["$unset"] == .string("__strata_lookup_tags") }, "the lookup's temporary field goes unconditionally: \(text)")
        // Every $set is conditional.
        for stage in stages {
            guard case .document(let set)? = stage.documentValue?["$set"] else { continue }
            for (path, value) in set where !path.hasPrefix("__strata") {
                XCTAssertNotNil(value.documentValue?["$cond"], "\(path): \(ExtendedJSON.string(value))")
            }
        }
    }
}
