import Foundation
@testable import Strata
import StrataEvaluator
import StrataLens
import StrataTestSupport
import XCTest

/// Joins into collections with lenses of their own (`$lookup`, `$graphLookup`,
/// `$unionWith`), wherever they sit (top level, inside `$facet`, inside another join's
/// pipeline): the server would read the foreign documents as stored, so the plan runs the
/// join in Swift (`Joins` reads the foreign side as if migrated). Before the blocking stage
/// that means record order; after it, the merger. Whether the answers are right is what
/// `VersionedJoinTests` checks on the server.
final class PlannerJoinTests: XCTestCase {
    func planner() throws -> Planner {
        let lens = try Lens.load(collection: "devices", schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
        return Planner(lens: lens, versionedCollections: ["devices", "users", "events"], profile: .mongod)
    }

    func plan(_ json: String) throws -> QueryPlan {
        try planner().plan(try QuerySpec.inline(collection: "devices", pipelineJSON: json))
    }

    func testJoinsIntoVersionedCollectionsRunInSwiftAtAnyDepth() throws {
        let cases = [
            #"[{"$lookup": {"from": "devices", "localField": "product", "foreignField": "product", "as": "d"}}, {"$count": "n"}]"#,
            #"[{"$lookup": {"from": "products", "pipeline": [{"$lookup": {"from": "devices", "localField": "_id", "foreignField": "product", "as": "d"}}], "as": "p"}}, {"$group": {"_id": "$product", "n": {"$sum": 1}}}]"#,
            #"[{"$unionWith": {"coll": "products", "pipeline": [{"$unionWith": "events"}]}}, {"$count": "n"}]"#,
            #"[{"$graphLookup": {"from": "users", "startWith": "$owner", "connectFromField": "_id", "connectToField": "_id", "as": "o"}}, {"$count": "n"}]"#,
        ]
        for c in cases {
            let plan = try plan(c)
            XCTAssertEqual(plan.mode, .recordOrder, c)
            XCTAssertTrue(plan.reason.contains("which has a lens of its own"), plan.reason)
            XCTAssertTrue(plan.branches.allSatisfy { $0.serverPipeline == nil }, "no branch runs the join on the server: \(c)")
        }
    }

    func testAJoinAfterTheGroupRunsInTheMerger() throws {
        let plan = try plan(#"[{"$group": {"_id": "$product", "n": {"$sum": 1}}}, {"$lookup": {"from": "devices", "localField": "_id", "foreignField": "product", "as": "d"}}]"#)
        guard case .partialGroups(let p) = plan.strategy else { return XCTFail("\(plan.mode)") }
        XCTAssertEqual(p.mergerStages.map(\.name), ["$lookup"])
    }

    func testAJoinInsideAFacetIsPlannedInItsFacet() throws {
        let plan = try plan(#"[{"$facet": {"a": [{"$lookup": {"from": "users", "localField": "x", "foreignField": "_id", "as": "u"}}], "b": [{"$count": "n"}]}}]"#)
        guard case .facets(let f) = plan.strategy else { return XCTFail("\(plan.mode)") }
        XCTAssertEqual(f.facets.map(\.name), ["a", "b"])
        XCTAssertTrue(f.facets[0].plan.reason.contains("joins 'users'"), f.facets[0].plan.reason)
        XCTAssertEqual(f.facets[1].plan.mode, .partialGroups)
    }

    func testJoinsIntoPlainCollectionsAreUnchanged() throws {
        let plan = try plan(#"[{"$lookup": {"from": "products", "localField": "product", "foreignField": "_id", "as": "p"}}, {"$group": {"_id": "$p.name", "n": {"$sum": 1}}}]"#)
        XCTAssertEqual(plan.mode, .partialGroups)
    }
}
