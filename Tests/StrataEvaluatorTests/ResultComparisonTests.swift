import StrataEvaluator
import StrataTestFixtures
import XCTest

/// The comparison every differential test and `strata bench` relies on: it must find real
/// differences and must not invent any where the pipeline leaves the order open.
final class ResultComparisonTests: XCTestCase {
    private func differs(_ got: String, _ want: String, _ pipeline: String) -> String? {
        ResultComparison.difference(J(got).arrayValue!.map(\.documentValue!), J(want).arrayValue!.map(\.documentValue!),
                                    pipeline: J(pipeline).arrayValue!)
    }

    func testOrderOnlyWhereThePipelineDefinesIt() {
        // A $group leaves the order open; a $sort fixes it, ties compared as a multiset.
        XCTAssertNil(differs(#"[{"_id": 1}, {"_id": 2}]"#, #"[{"_id": 2}, {"_id": 1}]"#, #"[{"$group": {"_id": "$a"}}]"#))
        XCTAssertNotNil(differs(#"[{"_id": 1}, {"_id": 2}]"#, #"[{"_id": 2}, {"_id": 1}]"#, #"[{"$group": {"_id": "$a"}}, {"$sort": {"_id": 1}}]"#))
        XCTAssertNil(differs(#"[{"k": 1, "v": "a"}, {"k": 1, "v": "b"}, {"k": 2}]"#, #"[{"k": 1, "v": "b"}, {"k": 1, "v": "a"}, {"k": 2}]"#,
                             #"[{"$sort": {"k": 1}}]"#))
        XCTAssertNotNil(differs(#"[{"_id": 1, "n": 3}]"#, #"[{"_id": 1, "n": 4}]"#, #"[{"$group": {"_id": "$a"}}]"#))
        // Doubles within 1e-9 relative are equal; beyond it they differ.
        XCTAssertNil(differs(#"[{"x": 1.0000000000001}]"#, #"[{"x": 1.0}]"#, #"[]"#))
        XCTAssertNotNil(differs(#"[{"x": 1.00001}]"#, #"[{"x": 1.0}]"#, #"[]"#))
        // Also as sort keys (a sorted sum of doubles): within 1e-9 the same key, beyond it not.
        XCTAssertNil(differs(#"[{"_id": "a", "t": 1416.3800000000001}, {"_id": "b", "t": 3.5}]"#,
                             #"[{"_id": "a", "t": 1416.3800000000006}, {"_id": "b", "t": 3.5}]"#, #"[{"$sort": {"t": -1}}]"#))
        XCTAssertNotNil(differs(#"[{"_id": "a", "t": 1416.39}, {"_id": "b", "t": 3.5}]"#,
                                #"[{"_id": "a", "t": 1416.38}, {"_id": "b", "t": 3.5}]"#, #"[{"$sort": {"t": -1}}]"#))
    }

    func testFacetsFollowedByOtherStages() {
        // Each facet compares by its own pipeline's order, also when stages follow the $facet;
        // fields the later stages replaced or computed compare exactly.
        let pipeline = #"""
            [{"$facet": {"byA": [{"$group": {"_id": "$a"}}], "n": [{"$count": "n"}]}},
             {"$project": {"byA": 1, "total": {"$arrayElemAt": ["$n.n", 0]}}}]
            """#
        XCTAssertNil(differs(#"[{"byA": [{"_id": 1}, {"_id": 2}], "total": 2}]"#, #"[{"byA": [{"_id": 2}, {"_id": 1}], "total": 2}]"#, pipeline))
        XCTAssertNotNil(differs(#"[{"byA": [{"_id": 1}, {"_id": 2}], "total": 3}]"#, #"[{"byA": [{"_id": 2}, {"_id": 1}], "total": 2}]"#, pipeline))
        XCTAssertNotNil(differs(#"[{"byA": [{"_id": 1}, {"_id": 3}], "total": 2}]"#, #"[{"byA": [{"_id": 2}, {"_id": 1}], "total": 2}]"#, pipeline))
        XCTAssertNotNil(differs(#"[{"total": 2}]"#, #"[{"byA": [{"_id": 2}, {"_id": 1}], "total": 2}]"#, pipeline))
    }
}
