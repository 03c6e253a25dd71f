import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
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

/// With the indexes `strata index` creates, no branch of a selective query scans the
/// collection: the version predicate never defeats the index (SecantusDB plans an index
/// only when every field of the filter is a key of it, or the version predicate implies
/// its partial filter; the branches are shaped for that, and mongod plans them alike).
final class PlannerIndexShapeTests: XCTestCase {
    static let selective = ["events-one-user", "events-first-and-last-kind", "events-region-kind",
                            "users-signed-up-in-2020", "devices-boiling"]

    func testEverySelectiveBranchScansAnIndex() throws {
        var checked = 0
        for dataset in ["events", "users", "devices"] {
            let db = try DifferentialQueryTests.load(dataset, dist: nil, database: "planner_shape_\(dataset)")
            let lens = try Lens.load(collection: dataset, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
            let outcomes = try LensIndexPlan(lens: lens).create(on: db.collection(dataset))
            XCTAssertFalse(outcomes.contains { if case .refused = $0.1 { return true } else { return false } }, "\(outcomes)")
            let client = StrataClient(database: db, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
            let collection = try client.collection(dataset)
            for (file, spec) in try DifferentialQueryTests.queries(for: dataset) where Self.selective.contains(String(file.dropLast(5))) {
                let explain = try collection.explain(spec.pipeline, file: file)
                let shards = try XCTUnwrap(explain["shards"]?.arrayValue?.compactMap(\.documentValue), file)
                for shard in shards where shard["strategy"] != "empty" {
                    let stages = shard["serverPlan"]?.documentValue?["stages"]?.arrayValue ?? []
                    XCTAssertTrue(stages.contains("IXSCAN") && !stages.contains("COLLSCAN"),
                                  "\(file) v\(ExtendedJSON.string(shard["versions"] ?? .null)): \(ExtendedJSON.string(.document(shard)))")
                }
                XCTAssertEqual(explain["unknownVersionLook"]?.stringValue, "1 bounded find on index '\(lens.unknownVersionIndex.name)'", file)
                let want = try db.collection(dataset + "_truth").aggregateAll(DifferentialQueryTests.onTruth(spec.pipeline, dataset: dataset))
                XCTAssertNil(ResultComparison.difference(try collection.aggregate(spec.pipeline), want, pipeline: spec.pipeline), file)
                checked += 1
            }
        }
        XCTAssertEqual(checked, Self.selective.count)
    }
}
