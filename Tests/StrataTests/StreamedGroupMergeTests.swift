import Foundation
@testable import Strata
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// Partial groups merged as sorted streams (`PlannerPass.sortedPartialGroups`,
/// `StreamedGroupMerger`) on the real server: keys of every BSON type — numbers equal
/// across types, arrays that `$sort` orders by their smallest element, missing and null —
/// give the answer of the same pipeline on the migrated truth, and of the hash merge.
final class StreamedGroupMergeTests: XCTestCase {
    func lens() throws -> Lens { try Lens.load(collection: "events", schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas")) }

    /// The group keys are users (stored alike at every version); an accumulator of the
    /// region (stored apart at v3) or the amount (at v0) makes the branches differ.
    ///
    /// Event `id` stored at `version` in that version's shape (events lens), for `user`.
    func event(_ id: Int, version: Int, user: BSON?, amount: BSON = .int32(250)) -> Document {
        var d: Document = ["_id": .int32(Int32(id))]
        if version > 0 { d["v"] = .int32(Int32(version)) }
        if let user { d["user"] = user }
        d[version >= 2 ? "at" : "ts"] = .date(1_704_067_200_000 + Int64(id) * 60_000)
        if version == 0 {
            d["amountCents"] = amount
        } else {
            d["amount"] = ["value": amount, "currency": "USD"]
        }
        if version == 3 {
            d["kind"] = "view"
            d["geo"] = ["region": "eu-west"]
        } else {
            d["type"] = "View"
            d["region"] = "eu-west"
        }
        return d
    }

    /// Group keys of every kind: equal numbers of four types, strings, documents, arrays
    /// (one sharing its smallest element with a number, an empty one, a nested one), null,
    /// missing, booleans, dates, object ids.
    static let users: [BSON?] = [
        .int32(1), .int64(1), .double(1), .decimal128(Decimal128("1")!), .double(2.5), .int32(0), .int64(-3),
        "a", "b", "B", "", ["x": 1], ["x": 1, "y": 2], ["x": .null],
        [0, 9], [1, 2], [2, 1], [], [[1]], ["a"],
        .null, nil, true, false, .date(0), .date(86_400_000),
        .objectId(ObjectId(bytes: [UInt8](repeating: 7, count: 12))!), .double(.nan), .minKey, .maxKey,
    ]

    /// The documents in version order, each user at several versions.
    func documents() -> [Document] {
        var docs: [Document] = []
        var id = 0
        for version in 0...3 {
            for (u, user) in Self.users.enumerated() where (u + version) % 3 != 0 {
                docs.append(event(id, version: version, user: user, amount: .int32(Int32(100 + id))))
                id += 1
            }
        }
        return docs
    }

    func load(_ name: String) throws -> MongoDatabase {
        let db = try TestServer.freshDatabase(name)
        let docs = documents()
        _ = try db.collection("events").insertMany(docs)
        _ = try db.collection("truth").insertMany(try docs.map { try lens().upgrade($0) })
        return db
    }

    func run(_ db: MongoDatabase, _ pipeline: [BSON], streamed: Bool = true, spillBase: String? = nil) throws -> ([Document], QueryRunner.Statistics) {
        var options = QueryRunner.Options(profile: .mongod)
        options.streamedGroupMerge = streamed
        if let spillBase {
            options.maxMemoryBytes = 1
            options.minimumSpillRunBytes = 1024
            options.spillDirectory = spillBase
        }
        let runner = QueryRunner(database: db, lens: try lens(), options: options)
        var out: [Document] = []
        let statistics = try runner.run(QuerySpec(collection: "events", pipeline: pipeline)) { out.append($0); return true }
        return (out, statistics)
    }

    func testKeysOfEveryTypeMergeAsStreamsExactly() throws {
        let db = try load("streamed_keys")
        let pipeline: [BSON] = [["$group": ["_id": "$user", "n": ["$sum": 1], "total": ["$sum": "$amount.value"],
                                            "avg": ["$avg": "$amount.value"], "ids": ["$addToSet": "$_id"], "top": ["$max": "$amount.value"], "region": ["$max": "$region"]]]]
        let want = try db.collection("truth").aggregateAll(pipeline)
        let (streamed, s) = try run(db, pipeline)
        XCTAssertEqual(s.streamedGroupMerges, 1, "the plan merges sorted streams")
        XCTAssertEqual(s.hashMergesAfterUnorderedKeys, 0, "the server sorts the partial groups as $sort does, arrays included")
        XCTAssertNil(ResultComparison.difference(streamed, want, pipeline: pipeline))
        let (hashed, h) = try run(db, pipeline, streamed: false)
        XCTAssertEqual(h.streamedGroupMerges, 0)
        XCTAssertNil(ResultComparison.difference(hashed, want, pipeline: pipeline))
        // 1, 1L, 1.0 and decimal 1 are one group; [0, 9] and 0 two, though they sort alike
        XCTAssertEqual(streamed.count, want.count)
        XCTAssertEqual(streamed.filter { BSONOrder.compare($0["_id"], .int32(1)) == 0 }.count, 1)
    }

    /// The hash merge past a tiny budget: its table spills runs sorted by key and merges
    /// them back; the same answer, no files left.
    func testTheHashMergeSpillsAndAnswersExactly() throws {
        let db = try load("streamed_hash_spill")
        let pipeline: [BSON] = [["$group": ["_id": "$user", "n": ["$sum": 1], "total": ["$sum": "$amount.value"],
                                            "ids": ["$addToSet": "$_id"], "region": ["$max": "$region"]]]]
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("strata-hash-spill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (got, s) = try run(db, pipeline, streamed: false, spillBase: base)
        XCTAssertGreaterThan(s.spillRuns, 0, "the merge spilled")
        XCTAssertNil(ResultComparison.difference(got, try db.collection("truth").aggregateAll(pipeline), pipeline: pipeline))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: base), [])
    }

    func testMergedGroupsArriveInSortKeyOrderAndFeedTheMergerStages() throws {
        let db = try load("streamed_stages")
        let pipeline: [BSON] = [["$group": ["_id": "$user", "n": ["$sum": 1], "region": ["$max": "$region"]]], ["$match": ["n": ["$gte": 2]]],
                                ["$project": ["n": 1, "twice": ["$multiply": ["$n", 2]]]]]
        let (got, s) = try run(db, pipeline)
        XCTAssertEqual(s.streamedGroupMerges, 1)
        XCTAssertNil(ResultComparison.difference(got, try db.collection("truth").aggregateAll(pipeline), pipeline: pipeline))
        // without a blocking stage after the group, the groups come in `$sort: {_id: 1}` order
        let keys = try got.map { try StreamedGroupMerger.sortKey($0) }
        for (a, b) in zip(keys, keys.dropFirst()) {
            XCTAssertLessThanOrEqual(StreamedGroupMerger.sortPattern.compare(a, b), 0)
        }
    }

    /// A slice's int32 sum overflowed into int64 and the total fits int32 again: the merge
    /// runs again with input types; the groups already delivered are not delivered twice.
    func testAnAmbiguousSumTypeRunsAgainWithoutRepeatingDeliveredGroups() throws {
        let db = try TestServer.freshDatabase("streamed_sumtype")
        var docs: [Document] = []
        for u in 1...5 { docs.append(event(u, version: 1, user: .int32(Int32(u)))); docs.append(event(10 + u, version: 3, user: .int32(Int32(u)))) }
        docs += [event(20, version: 1, user: 9, amount: .int32(2_000_000_000)), event(21, version: 1, user: 9, amount: .int32(2_000_000_000)),
                 event(22, version: 3, user: 9, amount: .int32(-2_000_000_000)), event(23, version: 3, user: 9, amount: .int32(-1_000_000_000))]
        _ = try db.collection("events").insertMany(docs)
        // the region is stored apart at v3: versions 1 and 3 are separate branches
        let pipeline: [BSON] = [["$group": ["_id": "$user", "s": ["$sum": "$amount.value"], "region": ["$max": "$region"]]]]
        let (got, s) = try run(db, pipeline)
        XCTAssertEqual(s.streamedGroupMerges, 2, "the merge ran twice")
        XCTAssertEqual(s.rerunsForSumTypes, 1)
        XCTAssertEqual(got.map { $0["_id"] }, [1, 2, 3, 4, 5, 9].map { BSON.int32($0) }, "each group once, in key order")
        XCTAssertEqual(got.last?["s"], .int32(1_000_000_000), "mongod's type: the widest input is int32")
        XCTAssertEqual(got.first?["s"], .int32(500))
    }

    func testTheExplainShowsSortedBranchesAndTheStreamedMerge() throws {
        let db = try load("streamed_explain")
        let runner = QueryRunner(database: db, lens: try lens(), options: QueryRunner.Options(profile: .mongod))
        let plan = try runner.planner().plan(QuerySpec(collection: "events", pipeline: [["$group": ["_id": "$user", "n": ["$sum": 1], "region": ["$max": "$region"]]]]))
        let explain = plan.explainDocument
        XCTAssertNotNil(explain["merger"]?.documentValue?["mergeSortedGroups"])
        let shards = try XCTUnwrap(explain["shards"]?.arrayValue)
        XCTAssertGreaterThan(shards.count, 1)
        for shard in shards {
            XCTAssertEqual(shard.documentValue?["aggregate"]?.arrayValue?.last, ["$sort": ["_id": 1]])
        }
    }
}
