import Foundation
@testable import Strata
import Strata
import StrataEvaluator
import StrataLens
import StrataTestSupport
import XCTest

/// What the planner refuses loudly rather than answer from stored documents that
/// would need upgrading: a `$lookup`/`$unionWith` into a versioned collection,
/// wherever it sits (top level, inside `$facet`, inside another `$lookup`'s or
/// `$unionWith`'s pipeline).
final class PlannerRefusalTests: XCTestCase {
    func planner() throws -> Planner {
        let lens = try Lens.load(collection: "devices", schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
        return Planner(lens: lens, versionedCollections: ["devices", "users", "events"])
    }

    func refused(_ json: String) throws -> StrataError? {
        do {
            _ = try planner().plan(try QuerySpec.inline(collection: "devices", pipelineJSON: json))
            return nil
        } catch let e as StrataError {
            return e
        }
    }

    func testLookupsIntoVersionedCollectionsAreRefusedAtAnyDepth() throws {
        let cases = [
            #"[{"$lookup": {"from": "devices", "localField": "product", "foreignField": "product", "as": "d"}}]"#,
            #"[{"$facet": {"a": [{"$lookup": {"from": "users", "localField": "x", "foreignField": "_id", "as": "u"}}]}}]"#,
            #"[{"$lookup": {"from": "products", "pipeline": [{"$lookup": {"from": "devices", "localField": "_id", "foreignField": "product", "as": "d"}}], "as": "p"}}]"#,
            #"[{"$unionWith": {"coll": "products", "pipeline": [{"$unionWith": "events"}]}}]"#,
            #"[{"$unionWith": "devices"}]"#,
        ]
        for c in cases {
            let e = try XCTUnwrap(try refused(c), c)
            XCTAssertEqual(e.kind, .unsupported, c)
            XCTAssertTrue(e.message.contains("itself versioned"), e.message)
        }
    }

    func testLookupsIntoPlainCollectionsArePlanned() throws {
        XCTAssertNil(try refused(#"[{"$lookup": {"from": "products", "localField": "product", "foreignField": "_id", "as": "p"}}]"#))
        XCTAssertNil(try refused(#"[{"$unionWith": {"coll": "products", "pipeline": [{"$match": {"_id": "P00"}}]}}]"#))
    }
}
