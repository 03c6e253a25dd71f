import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// The look for documents at unknown versions that runs before every query: every
/// kind of odd version value is found, with the recommended indexes (bounded finds)
/// and without them (one scan); an explicit null is read as absent.
final class UnknownVersionProbeTests: XCTestCase {
    static let oddValues: [BSON] = [
        7, -1, .int64(4), .double(0.5), .double(2.5), .double(.nan), .double(.infinity), .double(-.infinity),
        .decimal128(Decimal128("3.5")!), "2", "", .document(["v": 1]), .document([:]), .array([1]), .array([]),
        // (A date before year 1 is one too, but SecantusDB cannot store one.)
        true, false, .date(0), .objectId(ObjectId(bytes: Array(repeating: 7, count: 12))!),
        .binary(BSONBinary(subtype: 0, data: [1])), .timestamp(BSONTimestamp(t: 1, i: 1)), .minKey, .maxKey,
        .regex(BSONRegex(pattern: "a", options: "")), .javascript("x"),
    ]

    func lens() throws -> Lens { try Lens.load(collection: "events", schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas")) }

    func seed(_ name: String, indexed: Bool) throws -> MongoCollection {
        let coll = try TestServer.freshDatabase(name).collection("events")
        _ = try coll.insertMany([["_id": 1], ["_id": 2, "v": 1], ["_id": 3, "v": 2], ["_id": 4, "v": 3], ["_id": 5, "v": .double(3)],
                             ["_id": 6, "v": .int64(2)], ["_id": 7, "v": .null]])
        if indexed { _ = try LensIndexPlan(lens: lens()).create(on: coll) }
        return coll
    }

    func testEveryOddVersionIsFoundOnTheIndexes() throws {
        try check(indexed: true)
        // One hinted find on the index of exactly the unknown versions.
        let coll = try seed("probe_one_find", indexed: true)
        let method = try UnknownVersionProbe(collection: coll, lens: lens()).anyUnknown().method
        XCTAssertEqual(method, .index(name: "strata_unknown_v__v0-3", queries: 1))
    }

    /// A server that refuses `$or` in a partial filter (mongod before 6.0) gets the
    /// other indexes; the look is then the bounded finds plus the unusual-types index.
    func testEveryOddVersionIsFoundWithTheBoundedProbes() throws {
        let coll = try seed("probe_bounded", indexed: true)
        _ = try coll.database.runCommand(["dropIndexes": .string(coll.name), "index": "strata_unknown_v__v0-3"])
        let probe = try UnknownVersionProbe(collection: coll, lens: lens())
        guard case .index(let name, let queries) = try probe.anyUnknown().method else { return XCTFail("not on the index") }
        XCTAssertEqual(name, "v_1")
        XCTAssertGreaterThan(queries, 10)
        for value in Self.oddValues {
            try coll.insertOne(["_id": "odd", "v": value])
            XCTAssertTrue(try probe.anyUnknown().found, "v = \(ExtendedJSON.string(value)) (bounded)")
            _ = try coll.delete(["_id": "odd"])
        }
    }

    func testEveryOddVersionIsFoundWithoutIndexes() throws {
        try check(indexed: false)
    }

    func check(indexed: Bool) throws {
        let coll = try seed("probe_\(indexed ? "indexed" : "scan")", indexed: indexed)
        let probe = try UnknownVersionProbe(collection: coll, lens: lens())
        let healthy = try probe.anyUnknown()
        XCTAssertFalse(healthy.found, "known versions, absent, 3.0, NumberLong(2) and null are all known")
        switch healthy.method {
        case .index: XCTAssertTrue(indexed, "\(healthy.method)")
        case .scan: XCTAssertFalse(indexed, "\(healthy.method)")
        }
        for value in Self.oddValues {
            try coll.insertOne(["_id": "odd", "v": value])
            XCTAssertTrue(try probe.anyUnknown().found, "v = \(ExtendedJSON.string(value)) (\(indexed ? "indexed" : "scan"))")
            _ = try coll.delete(["_id": "odd"])
        }
        XCTAssertFalse(try probe.anyUnknown().found)
    }

    /// The unusual-types index is empty on a healthy collection and is the one the
    /// probe hints; `strata index` creates it.
    func testUnusualVersionIndexIsRecommended() throws {
        let plan = try LensIndexPlan(lens: lens())
        let spec = try XCTUnwrap(plan.specs.first { $0.name == "strata_unusual_v" })
        XCTAssertEqual(spec.keys, ["v": 1])
        XCTAssertEqual(spec.partialFilter, try lens().unusualVersionFilter)
    }

    /// A null version is read as absent: counted at the version absence means, the same
    /// answer as on the migrated copy.
    func testNullVersionCountsAsAbsent() throws {
        let coll = try seed("probe_null", indexed: true)
        let versioned = VersionedCollection(database: coll.database, lens: try lens())
        let rows = try versioned.aggregate([["$group": ["_id": .null, "n": ["$sum": 1]]]])
        XCTAssertEqual(rows.first?["n"]?.exactInt, 7)
    }
}
