import Foundation
@testable import Strata
import StrataTestSupport
import XCTest

/// Lens claims (`monotone`, `inverseExact`) that, trusted as written, made the planner
/// answer wrong numbers without a word (issue 17): now refused at load, or checked per
/// constant with the exact computed strategy as the fallback.
final class PlannerClaimTests: XCTestCase {
    /// Loads `docs` into a fresh collection with the indexes the lens implies.
    func collection(_ lens: Lens, _ docs: [Document], database: String) throws -> VersionedCollection {
        let db = try TestServer.freshDatabase(database)
        try db.collection(lens.collection).insertMany(docs)
        _ = try LensIndexPlan(lens: lens).create(on: db.collection(lens.collection))
        return VersionedCollection(database: db, lens: lens)
    }

    // MARK: monotone on a type-changing conversion

    static let priceLens = #"""
        {"collection": "prices", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
          {"op": "convert", "field": "price", "expr": {"$toDouble": "$$value"}, "inverse": {"$toString": "$$value"}%CLAIM%}]}],
         "indexes": [{"key": {"price": 1}}]}
        """#

    /// Prices stored as strings at v0 ("9.5" sorts after "10"), numbers at v1.
    static func prices() -> (docs: [Document], values: [Double]) {
        var docs: [Document] = [], values: [Double] = []
        for i in 0..<400 {
            let value = Double((i * 7919) % 2000) / 8  // 0 ... 249.875
            values.append(value)
            if i % 3 == 0 {
                docs.append(["_id": .int32(Int32(i)), "v": 1, "price": .double(value)])
            } else {
                let text = value == value.rounded() ? String(Int(value)) : String(value)
                docs.append(["_id": .int32(Int32(i)), "price": .string(text)])
            }
        }
        return (docs, values)
    }

    /// The issue's case: `$toDouble` of a string price declared monotone, with an index on
    /// the stored field and a range query. Trusted, the planner bounded the stored strings
    /// and dropped documents; now the claim is refused at load, and without it the same
    /// query is exact (with the index present).
    func testMonotoneOnAStringToNumberConversionIsRefusedAndTheAnswerIsExactWithoutIt() throws {
        let (docs, values) = Self.prices()
        let claimed = Self.priceLens.replacingOccurrences(of: "%CLAIM%", with: #", "monotone": "increasing""#)
        let filters: [(Document, (Double) -> Bool)] = [
            (["price": ["$gt": 9.999999998137355]], { $0 > 9.999999998137355 }),
            (["price": ["$gte": 10, "$lt": 100]], { $0 >= 10 && $0 < 100 }),
            (["price": ["$lte": 9.5]], { $0 <= 9.5 }),
        ]
        do {
            let lens = try Lens.parse(claimed, file: "schemas/prices.json")
            XCTFail("a monotone claim on $toDouble of a string was accepted")
            // What trusting it answers (the issue's wrong count).
            let c = try collection(lens, docs, database: "claims_price_trusted")
            for (filter, holds) in filters {
                XCTAssertEqual(try c.count(filter), values.filter(holds).count, "trusted claim: \(ExtendedJSON.string(.document(filter)))")
            }
        } catch let e as StrataError {
            XCTAssertEqual(e.kind, .badInput)
            XCTAssertEqual(e.location?.description, "schemas/prices.json: steps[0].operations[0].monotone")
            XCTAssertTrue(e.message.contains("for a stored value that is a string it gives a number"), e.message)
        }
        let lens = try Lens.parse(Self.priceLens.replacingOccurrences(of: "%CLAIM%", with: ""))
        let c = try collection(lens, docs, database: "claims_price")
        for (filter, holds) in filters {
            XCTAssertEqual(try c.count(filter), values.filter(holds).count, ExtendedJSON.string(.document(filter)))
        }
    }
}
