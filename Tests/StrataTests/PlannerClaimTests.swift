import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataTestFixtures
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

    // MARK: inverseExact that does not round-trip

    static func secondsLens(monotone: Bool) throws -> Lens {
        try Lens.parse(#"""
            {"collection": "timings", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
              {"op": "convert", "field": "ms", "to": "seconds", "expr": {"$divide": ["$$value", 1000]},
               "inverse": {"$multiply": ["$$value", 1000]}, "inverseExact": true\#(monotone ? #", "monotone": "increasing""# : "")}]}],
             "indexes": [{"key": {"seconds": 1}}]}
            """#)
    }

    /// 32 documents whose seconds are 1.001: 24 stored at v0 as ms 1001, 8 at v1.
    static func timings() -> [Document] {
        var docs: [Document] = []
        for i in 0..<24 { docs.append(["_id": .int32(Int32(i)), "ms": 1001]) }
        for i in 24..<32 { docs.append(["_id": .int32(Int32(i)), "v": 1, "seconds": .double(1.001)]) }
        for (i, ms) in [1000, 1002, 999, 2500, 1500, 1, 0, 123_456].enumerated() {
            docs.append(["_id": .int32(Int32(100 + i)), "ms": .int32(Int32(ms))])
            docs.append(["_id": .int32(Int32(200 + i)), "v": 1, "seconds": .double(Double(ms) / 1000)])
        }
        return docs
    }

    /// The issue's case: `ms / 1000` back through `* 1000`, claimed exact. 1.001 × 1000 is
    /// 1000.9999999999999, which converts back to 1.001 — but so does the stored 1001: the
    /// inverse translation would miss it (8 of 32 answered). Such a constant gets no
    /// stored equality; the exact computed predicate answers.
    func testAnInverseThatDoesNotRoundTripIsNotUsedForThatConstant() throws {
        for monotone in [false, true] {
            let lens = try Self.secondsLens(monotone: monotone)
            let c = try collection(lens, Self.timings(), database: "claims_inverse_\(monotone)")
            XCTAssertEqual(try c.count(["seconds": 1.001]), 32, "monotone: \(monotone)")
            XCTAssertEqual(try c.count(["seconds": ["$in": [1.001, 2.5]]]), 34, "monotone: \(monotone)")
            XCTAssertEqual(try c.count(["seconds": 1.5]), 2, "monotone: \(monotone)")
            XCTAssertEqual(try c.count(["seconds": 1.0015]), 0, "monotone: \(monotone)")
        }
    }

    /// The rule itself: a constant that does not round-trip (or whose neighbours convert
    /// to it too) gets no superset; where the claim holds the stored equality is kept.
    func testInverseEqualityRoundTripsEveryConstant() throws {
        let lens = try Self.secondsLens(monotone: false)
        let source = try XCTUnwrap(lens.exactInverseSource(of: ["seconds"], atVersion: 0))
        XCTAssertNil(InverseEquality.superset(for: [.eq(.double(1.001))], source: source))
        XCTAssertNil(InverseEquality.superset(for: [.in([.double(1.001), .double(2.5)])], source: source))
        // Another equality on the same field still narrows the fetch.
        if let q = InverseEquality.superset(for: [.eq(.double(1.001)), .in([.double(2.5)])], source: source) {
            XCTAssertFalse(try q.matches(["ms": 1001]), "the conjunction cannot hold for 1001 anyway")
        }
        // Never "no stored value converts to c" from a failed round trip.
        let users = try RuntimeFixture.lens("users")
        let signup = try XCTUnwrap(users.exactInverseSource(of: ["signedUpAt"], atVersion: 2))
        XCTAssertNil(InverseEquality.superset(for: [.eq(.date(1_577_880_000_000))], source: signup), "noon does not round-trip through a day")
        XCTAssertEqual(InverseEquality.superset(for: [.eq(.date(1_577_836_800_000))], source: signup)?.bson, ["signup": "2020-01-01"])
        // Where the claim holds: cents as integers, kinds as capitalised words.
        let events = try RuntimeFixture.lens("events")
        let cents = try XCTUnwrap(events.exactInverseSource(of: ["amount", "value"], atVersion: 0))
        XCTAssertEqual(InverseEquality.superset(for: [.eq(.double(1.01))], source: cents)?.bson, ["amountCents": 101])
        XCTAssertNil(InverseEquality.superset(for: [.eq(.double(1.015))], source: cents))
        let kind = try XCTUnwrap(events.exactInverseSource(of: ["kind"], atVersion: 2))
        XCTAssertEqual(InverseEquality.superset(for: [.eq("refund")], source: kind)?.bson, ["type": "Refund"])
    }

    /// The same claim on a primary key: a read by the newest key must not look the stored
    /// key up through an inverse that rounds (1.001 → 1000.9999999999999 misses `_id: 1001`).
    func testAKeyConversionWhoseInverseRoundsStillFindsTheDocument() throws {
        let lens = try Lens.parse(#"""
            {"collection": "ticks", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
              {"op": "convert", "field": "_id", "expr": {"$divide": ["$$value", 1000]},
               "inverse": {"$multiply": ["$$value", 1000]}, "inverseExact": true}]}]}
            """#)
        let filter = try XCTUnwrap(lens.legacyKeyFilter(for: .double(1.001)))
        XCTAssertFalse(ExtendedJSON.string(filter).contains("1000.9999999999999"), ExtendedJSON.string(filter))
        // Where the inverse does round-trip, the stored key is looked up directly.
        XCTAssertTrue(ExtendedJSON.string(try XCTUnwrap(lens.legacyKeyFilter(for: .double(2.5)))).contains("2500"))

        let db = try TestServer.freshDatabase("claims_key")
        try db.collection("ticks").insertMany([["_id": 1001, "x": 1], ["_id": 2500, "x": 2], ["_id": 1000, "x": 3]])
        let repo = try VersionedRepository(database: db, lens: lens, options: .init(transactions: .never))
        XCTAssertEqual(try XCTUnwrap(repo.findOne(byId: .double(1.001)), "1.001").document["x"], 1)
        XCTAssertEqual(try XCTUnwrap(repo.findOne(byId: .double(2.5)), "2.5").document["x"], 2)
        XCTAssertNil(try repo.findOne(byId: .double(1.0005)))
    }
}

/// The library refuses the same lens as the CLI: `StrataClient.collection` checks a lens
/// `lookup` against the collections that have lenses of their own.
final class ClientLookupClaimTests: XCTestCase {
    /// The client binds a lens lookup to the foreign collection's lens when it has one
    /// (read as if migrated) and refuses one into the collection itself.
    func testTheClientBindsALookupIntoAVersionedCollectionAndRefusesOneIntoItself() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-client-lookup-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let devices = dir.appendingPathComponent("devices.json")
        try FileManager.default.copyItem(at: RuntimeFixture.schemas.appendingPathComponent("devices.json"), to: devices)
        let client = StrataClient(database: try TestServer.freshDatabase("client_lookup"), schemasDirectory: dir)
        XCTAssertNil(try lookup(in: client.collection("devices").lens).foreign)
        try #"{"collection": "products", "versionField": "v", "steps": []}"#
            .write(to: dir.appendingPathComponent("products.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try lookup(in: client.collection("devices").lens).foreign?.collection, "products")
        let text = try String(contentsOf: devices, encoding: .utf8)
        try text.replacingOccurrences(of: #""from": "products""#, with: #""from": "devices""#).write(to: devices, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try client.collection("devices")) { e in
            XCTAssertEqual((e as? StrataError)?.kind, .badInput)
            XCTAssert("\(e)".contains("the collection this lens describes"), "\(e)")
        }
    }

    func lookup(in lens: Lens) throws -> LookupOperation {
        try XCTUnwrap(lens.steps.flatMap(\.operations).compactMap { $0 as? LookupOperation }.first)
    }
}
