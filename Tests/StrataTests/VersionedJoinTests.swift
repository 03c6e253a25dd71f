import Foundation
import Strata
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// Joins between two collections that are both mid-migration: strata over the mixed
/// `events` and `users` must answer as the server does over their migrated truths, at
/// several mixes of both sides (all-oldest included). Every join form reads a field the
/// lenses move or convert on one side or the other: `address.country` (top-level
/// `country` before users v3), `kind` (upper-case `type` before events v3), `amount.value`
/// (cents before events v1). A joined array's field is read with `$map` (`$u.address.country`
/// over an array of documents is mongod's array of values, missing in SecantusDB, the truth's
/// server: a known difference strata follows mongod on).
final class VersionedJoinTests: XCTestCase {
    static let pipelines: [(title: String, collection: String, json: String)] = [
        ("events joined to their users (localField/foreignField)", "events", #"""
            [{"$match": {"kind": "purchase"}},
             {"$lookup": {"from": "users", "localField": "user", "foreignField": "_id", "as": "u"}},
             {"$unwind": "$u"},
             {"$group": {"_id": "$u.address.country", "n": {"$sum": 1}, "revenue": {"$sum": "$amount.value"}}},
             {"$sort": {"_id": 1}}]
            """#),
        ("events joined to their users after a group (the merger joins)", "events", #"""
            [{"$group": {"_id": "$user", "n": {"$sum": 1}}},
             {"$lookup": {"from": "users", "localField": "_id", "foreignField": "_id", "as": "u"}},
             {"$project": {"n": 1, "country": {"$ifNull": [{"$first": {"$map": {"input": "$u", "in": "$$this.address.country"}}}, "none"]},
                           "logins": {"$ifNull": [{"$first": {"$map": {"input": "$u", "in": "$$this.logins"}}}, -1]}}},
             {"$sort": {"n": -1, "_id": 1}}, {"$limit": 25}]
            """#),
        ("users joined to their events, with a sub-pipeline", "users", #"""
            [{"$match": {"logins": {"$gt": 500}}},
             {"$lookup": {"from": "events", "localField": "_id", "foreignField": "user", "as": "big",
                          "pipeline": [{"$match": {"amount.value": {"$gt": 50}}}, {"$project": {"_id": 1, "kind": 1, "amount": 1}}]}},
             {"$project": {"big": {"$sortArray": {"input": "$big", "sortBy": {"_id": 1}}}, "country": "$address.country"}},
             {"$sort": {"_id": 1}}]
            """#),
        ("users joined to their events, pipeline form with let", "users", #"""
            [{"$match": {"address.country": {"$in": ["FR", "DE", "JP"]}}},
             {"$lookup": {"from": "events", "let": {"u": "$_id"}, "as": "purchases",
                          "pipeline": [{"$match": {"kind": "purchase"}},
                                       {"$match": {"$expr": {"$eq": ["$user", "$$u"]}}},
                                       {"$group": {"_id": null, "n": {"$sum": 1}, "total": {"$sum": "$amount.value"}}}]}},
             {"$project": {"purchases": 1}}, {"$sort": {"_id": 1}}]
            """#),
        // SecantusDB ignores restrictSearchWithMatch (mongod applies it): not used here;
        // GraphLookupTests checks it against a computed answer.
        ("a $graphLookup over a converted path", "users", #"""
            [{"$match": {"_id": {"$lte": 5}}},
             {"$graphLookup": {"from": "users", "startWith": "$address.country", "connectFromField": "address.country",
                               "connectToField": "address.country", "as": "same", "maxDepth": 0}},
             {"$project": {"n": {"$size": "$same"}, "logins": {"$sum": {"$map": {"input": "$same", "as": "s", "in": "$$s.logins"}}},
                           "country": "$address.country"}},
             {"$sort": {"_id": 1}}]
            """#),
        ("a $unionWith of both collections' groups", "events", #"""
            [{"$group": {"_id": "$kind", "n": {"$sum": 1}}},
             {"$unionWith": {"coll": "users", "pipeline": [{"$group": {"_id": "$address.country", "n": {"$sum": 1}}}]}},
             {"$sort": {"_id": 1, "n": 1}}]
            """#),
        ("a join inside a $facet", "events", #"""
            [{"$match": {"kind": "refund"}},
             {"$facet": {"countries": [{"$lookup": {"from": "users", "localField": "user", "foreignField": "_id", "as": "u"}},
                                       {"$group": {"_id": {"$ifNull": [{"$first": {"$map": {"input": "$u", "in": "$$this.address.country"}}}, "none"]},
                                                   "n": {"$sum": 1}}},
                                       {"$sort": {"_id": 1}}],
                         "total": [{"$count": "n"}]}}]
            """#),
    ]

    /// `events` and `users` at the given mixes (nil: the generator's), mixed in one
    /// database and migrated in another, under the same collection names.
    func check(events: String?, users: String?) throws {
        let tag = "\(events ?? "d")_\(users ?? "d")".replacingOccurrences(of: ",", with: "_")
        let mixed = try TestServer.freshDatabase("joins_mixed_\(tag)")
        let truth = try TestServer.freshDatabase("joins_truth_\(tag)")
        for (dataset, dist) in [("events", events), ("users", users)] {
            let dir = try Datasets.generate(dataset, count: DifferentialQueryTests.sizes[dataset]!, dist: dist)
            try mixed.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
            try truth.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
        }
        let client = StrataClient(database: mixed, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
        var failures: [String] = []
        for (title, from, json) in Self.pipelines {
            let pipeline = try XCTUnwrap(ExtendedJSON.parseQueryValue(json).arrayValue)
            let want = try truth.collection(from).aggregateAll(pipeline)
            XCTAssertFalse(want.isEmpty, "\(title): the truth answers nothing; the case shows nothing")
            do {
                let got = try client.collection(from).aggregate(pipeline)
                if let d = ResultComparison.difference(got, want, pipeline: pipeline) { failures.append("\(title): \(d)") }
            } catch {
                failures.append("\(title): strata failed: \(error)")
            }
        }
        XCTAssert(failures.isEmpty, "events \(events ?? "default"), users \(users ?? "default"):\n" + failures.joined(separator: "\n"))
    }

    func testDefaultMixes() throws { try check(events: nil, users: nil) }
    func testBothAllOldest() throws { try check(events: "100,0,0,0", users: "100,0,0,0") }
    func testOldEventsNewUsers() throws { try check(events: "100,0,0,0", users: "0,0,0,100") }
    func testAVersionAbsentOnEachSide() throws { try check(events: "30,30,0,40", users: "40,0,30,30") }

    /// A `$lookup` into a versioned collection reads it once per batch of local documents
    /// (not once per document), and every one of those reads carries the query's one
    /// cluster time (mongod's plans, cluster-time pins forced: what is sent is checked).
    func testALookupReadsTheForeignSidePerBatchUnderTheQuerysPin() throws {
        let monitor = CommandMonitor()
        let pool = try MongoPool(uri: try TestServer.uri(), monitor: monitor)
        let mixed = MongoDatabase(pool: pool, name: "joins_batched")
        try mixed.drop()
        let truth = try TestServer.freshDatabase("joins_batched_truth")
        for dataset in ["events", "users"] {
            let dir = try Datasets.generate(dataset, count: DifferentialQueryTests.sizes[dataset]!, dist: nil)
            try mixed.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
            try truth.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
        }
        let pipeline = try XCTUnwrap(ExtendedJSON.parseQueryValue(#"""
            [{"$lookup": {"from": "users", "localField": "user", "foreignField": "_id", "as": "u"}},
             {"$group": {"_id": {"$ifNull": [{"$first": {"$map": {"input": "$u", "in": "$$this.address.country"}}}, "none"]}, "n": {"$sum": 1}}},
             {"$sort": {"_id": 1}}]
            """#).arrayValue)
        let client = StrataClient(database: mixed, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"),
                                  options: QueryRunner.Options(profile: .mongod, readMechanism: .clusterTime))
        monitor.reset()
        let got = try client.collection("events").aggregate(pipeline)
        let want = try truth.collection("events").aggregateAll(pipeline)
        XCTAssertGreaterThan(want.count, 3, "users of several countries are joined")
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: pipeline))
        let reads = monitor.startedCommands.filter { ["find", "aggregate"].contains($0.commandName) && $0.databaseName == mixed.name }
        let foreign = reads.filter { $0.command["find"] == "users" || $0.command["aggregate"] == "users" }
        let batches = (DifferentialQueryTests.sizes["events"]! + LookupBatch.size - 1) / LookupBatch.size
        XCTAssertGreaterThanOrEqual(foreign.count, batches)
        XCTAssertLessThanOrEqual(foreign.count, 1 + batches * 4, "one read per version of users per batch, and the look for unknown versions")
        let times = Set(reads.dropFirst().compactMap { $0.command["readConcern"]?.documentValue?["atClusterTime"] }.map { ExtendedJSON.string($0) })
        XCTAssertEqual(times.count, 1, "every read after the first at the same cluster time: \(times)")
        XCTAssertTrue(foreign.allSatisfy { $0.command["readConcern"]?.documentValue?["atClusterTime"] != nil })

        // $graphLookup: one read per level of a batch of searches, not one per document.
        // (`depthField` is a long in mongod and strata, an int in SecantusDB: compared as ints.)
        let graph = try XCTUnwrap(ExtendedJSON.parseQueryValue(#"""
            [{"$graphLookup": {"from": "users", "startWith": "$user", "connectFromField": "_id", "connectToField": "_id",
                               "as": "g", "maxDepth": 1, "depthField": "d"}},
             {"$group": {"_id": {"$size": "$g"}, "n": {"$sum": 1}, "depths": {"$addToSet": {"$toInt": {"$max": {"$map": {"input": "$g", "in": "$$this.d"}}}}}}}, {"$sort": {"_id": 1}}]
            """#).arrayValue)
        monitor.reset()
        let gotGraph = try client.collection("events").aggregate(graph)
        let wantGraph = try truth.collection("events").aggregateAll(graph)
        XCTAssertEqual(wantGraph.count, 2, "events with and without their user")
        XCTAssertNil(ResultComparison.difference(gotGraph, wantGraph, pipeline: graph))
        let graphReads = monitor.startedCommands.filter {
            ["find", "aggregate"].contains($0.commandName) && $0.databaseName == mixed.name && ($0.command["find"] == "users" || $0.command["aggregate"] == "users")
        }
        // Two levels (the user, then the user again: nothing new) per batch, each at most one read per version.
        XCTAssertLessThanOrEqual(graphReads.count, 1 + batches * 2 * 4, "\(graphReads.count) reads of users")
    }

    /// `restrictSearchWithMatch` on a field the users lens moves, against the answer
    /// computed from the migrated documents (SecantusDB's own `$graphLookup` ignores it).
    func testGraphLookupRestrictSearchWithMatch() throws {
        let mixed = try TestServer.freshDatabase("joins_graph_restrict")
        let dir = try Datasets.generate("users", count: DifferentialQueryTests.sizes["users"]!, dist: "40,20,20,20")
        try mixed.collection("users").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("users.mixed.jsonl")))
        let truth = try Datasets.readJSONL(dir.appendingPathComponent("users.truth.jsonl"))
        let client = StrataClient(database: mixed, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
        let pipeline = try XCTUnwrap(ExtendedJSON.parseQueryValue(#"""
            [{"$match": {"_id": {"$lte": 6}}},
             {"$graphLookup": {"from": "users", "startWith": "$address.country", "connectFromField": "address.country",
                               "connectToField": "address.country", "as": "same", "maxDepth": 0,
                               "restrictSearchWithMatch": {"logins": {"$gt": 1000}}}},
             {"$project": {"n": {"$size": "$same"}}}, {"$sort": {"_id": 1}}]
            """#).arrayValue)
        let got = try client.collection("users").aggregate(pipeline)
        func country(_ d: Document) -> BSON? { d["address"]?.documentValue?["country"] }
        let want: [Document] = truth.filter { ($0["_id"]?.exactInt ?? 99) <= 6 }.sorted { $0["_id"]!.exactInt! < $1["_id"]!.exactInt! }.map { u in
            let n = truth.filter { country($0) == country(u) && ($0["logins"]?.exactInt ?? 0) > 1000 }.count
            return ["_id": u["_id"]!, "n": .int32(Int32(n))]
        }
        XCTAssertEqual(got.count, 6)
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: pipeline))
        XCTAssertTrue(want.contains { ($0["n"]?.exactInt ?? 0) > 0 }, "the case shows nothing")
    }
}
