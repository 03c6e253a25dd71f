import Foundation
@testable import Strata
import Strata
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

final class RuntimeIndexTests: XCTestCase {
    func spec(_ plan: LensIndexPlan, _ name: String) throws -> LensIndexPlan.Spec {
        try XCTUnwrap(plan.specs.first { $0.name == name }, "\(name) in \(plan.specs.map(\.name))")
    }

    func testPerVersionEquivalentsOfTheDeclaredIndexes() throws {
        let events = LensIndexPlan(lens: try RuntimeFixture.lens("events"))
        XCTAssertEqual(try spec(events, "v_1").keys, ["v": 1])
        XCTAssertNil(try spec(events, "v_1").partialFilter)
        // The path never changed: one ordinary index.
        XCTAssertNil(try spec(events, "user_1").partialFilter)
        // Renamed at 1→2: ts for 0...1 (absent version included: sparse), at for 2...3.
        XCTAssertEqual(try spec(events, "at_1__v0-1").keys, ["ts": 1])
        XCTAssertNil(try spec(events, "at_1__v0-1").partialFilter)
        XCTAssertTrue(try spec(events, "at_1__v0-1").sparse)
        XCTAssertEqual(try spec(events, "at_1__v2-3").partialFilter, ["v": ["$gte": 2, "$lte": 3]])
        XCTAssertFalse(try spec(events, "at_1__v2-3").sparse)
        XCTAssertEqual(try spec(events, "geo.region_1_kind_1__v3").partialFilter, ["v": 3])
        // kind is $toLower of type with an exact inverse: equalities on kind become
        // equalities on type, so {region, type} serves them at 0...2.
        XCTAssertEqual(try spec(events, "geo.region_1_kind_1__v0-2").keys, ["region": 1, "type": 1])
        XCTAssertTrue(events.skipped.isEmpty, "\(events.skipped)")
        // Exactly the unknown versions, and the types no range bounds.
        // (NaN is one of its values: compared as text, since NaN != NaN.)
        XCTAssertEqual(try spec(events, "strata_unknown_v__v0-3").partialFilter.map { ExtendedJSON.string($0, mode: .canonical) },
                       ExtendedJSON.string(try RuntimeFixture.lens("events").filterForUnknownVersions, mode: .canonical))
        XCTAssertNotNil(try spec(events, "strata_unusual_v").partialFilter)
        // Monotone conversions are indexed on the stored field.
        let devices = LensIndexPlan(lens: try RuntimeFixture.lens("devices"))
        XCTAssertEqual(try spec(devices, "reading.tempC_1__v0-1").keys, ["reading.tempF": 1])
        XCTAssertEqual(try spec(devices, "serial_1").unique, true)
        XCTAssertNil(try spec(devices, "serial_1").partialFilter, "unique across every version")
        let users = LensIndexPlan(lens: try RuntimeFixture.lens("users"))
        XCTAssertEqual(try spec(users, "name.last_1_name.first_1__v0").keys, ["lastName": 1, "name": 1])
        XCTAssertEqual(try spec(users, "name.last_1_name.first_1__v1-3").keys, ["name.last": 1, "name.first": 1])
        XCTAssertEqual(try spec(users, "signedUpAt_1__v0-2").keys, ["signup": 1])
    }

    /// Created on the server once; a second run finds them; unique stays unique within versions.
    func testCreateIsIdempotentAndUniqueHoldsWithinVersions() throws {
        let d = try RuntimeFixture.load("events", count: 300, database: "rt_index")
        let unique = try Lens.parse(try String(contentsOf: RuntimeFixture.schemas.appendingPathComponent("events.json"), encoding: .utf8)
            .replacingOccurrences(of: "{ \"key\": { \"at\": 1 } }", with: "{ \"key\": { \"at\": 1 }, \"unique\": true }"))
        let plan = LensIndexPlan(lens: unique)
        let first = try plan.create(on: d.collection)
        XCTAssertTrue(first.allSatisfy { $0.1 == .created })
        let names = Set(try d.collection.listIndexes().compactMap { $0["name"]?.stringValue })
        XCTAssertTrue(Set(plan.specs.map(\.name)).isSubset(of: names), "\(names)")
        XCTAssertTrue(try plan.create(on: d.collection).allSatisfy { $0.1 == .exists(name: $0.0.name) })

        let v2 = try XCTUnwrap(d.mixed.first { unique.storedVersion(of: $0) == .known(2) })
        var twin = v2
        twin["_id"] = 1_000_001
        XCTAssertThrowsError(try d.collection.insertOne(twin), "unique within version 2...3") { e in
            XCTAssertTrue((e as? MongoError)?.isDuplicateKey == true, "\(e)")
        }
        // A v0 document storing the same instant as `ts` is another version: not refused (see README).
        var old = try XCTUnwrap(d.mixed.first { unique.storedVersion(of: $0) == .known(0) })
        old["_id"] = 1_000_002
        old["ts"] = v2["at"]
        XCTAssertNoThrow(try d.collection.insertOne(old))

        // A same-named index with another definition is an error naming it.
        let other = try TestServer.freshDatabase("rt_index_clash").collection("events")
        try other.createIndexes([["key": ["user": -1], "name": "user_1"]])
        XCTAssertThrowsError(try plan.create(on: other)) { e in
            XCTAssertTrue("\(e)".contains("user_1"), "\(e)")
        }
    }

    /// What the embedded server does with these indexes (SecantusDB 0.7.0b3): it uses a
    /// partial index restricted by the version field when the query holds a plain equality
    /// on that field; the shape is recorded here so a server upgrade that changes it shows.
    func testServerUsesTheVersionRestrictedIndexForAPlainVersionEquality() throws {
        let d = try RuntimeFixture.load("events", count: 500, database: "rt_index_explain")
        _ = try LensIndexPlan(lens: d.lens).create(on: d.collection)
        let explain = try d.collection.explainFind(["v": 3, "geo.region": "us-east", "kind": "purchase"])
        XCTAssertTrue(ExtendedJSON.string(explain).contains("geo.region_1_kind_1__v3"), ExtendedJSON.string(explain))
        let count = try d.collection.countDocuments(["v": 3, "geo.region": "us-east", "kind": "purchase"])
        XCTAssertEqual(count, d.mixed.filter { $0["v"] == 3 && $0.value(atPath: "geo.region") == "us-east" && $0["kind"] == "purchase" }.count)
    }
}
