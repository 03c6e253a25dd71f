import Foundation
import Strata
import StrataTestSupport
import XCTest

/// A predicate on a translated field is served by an index on the legacy field.
final class PlannerIndexTests: XCTestCase {
    func testLegacyIndexServesTheTranslatedPredicate() throws {
        let db = try DifferentialQueryTests.load("events", dist: nil, database: "planner_index")
        let events = db.collection("events")
        try events.createIndexes([["key": ["region": 1], "name": "legacy_region"],
                                  ["key": ["geo.region": 1], "name": "newest_region"],
                                  ["key": ["v": 1], "name": "version"]])
        let client = StrataClient(database: db, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
        let collection = try client.collection("events")
        let pipeline: [BSON] = [["$match": ["geo.region": "sa-east"]], ["$group": ["_id": "$kind", "n": ["$sum": 1]]]]
        let explain = try collection.explain(pipeline)
        let shards = try XCTUnwrap(explain["shards"]?.arrayValue?.compactMap(\.documentValue))
        let versions = shards.flatMap { $0["versions"]?.arrayValue ?? [] }.compactMap(\.exactInt)
        XCTAssertEqual(versions.sorted(), [0, 1, 2, 3], "every version once")
        for shard in shards {
            let version = shard["versions"]?.arrayValue?.last?.exactInt
            let plan = try XCTUnwrap(shard["serverPlan"]?.documentValue)
            XCTAssertTrue(plan["stages"]?.arrayValue?.contains("IXSCAN") ?? false, "v\(version ?? -1): \(plan)")
            let index = version == 3 ? "newest_region" : "legacy_region"
            XCTAssertEqual(plan["indexes"]?.arrayValue, [.string(index)], "v\(version ?? -1): \(plan)")
        }
        // And the answer is still the truth's.
        let want = try db.collection("events_truth").aggregateAll(pipeline)
        XCTAssertNil(ResultComparison.difference(try collection.aggregate(pipeline), want, pipeline: pipeline))
    }
}
