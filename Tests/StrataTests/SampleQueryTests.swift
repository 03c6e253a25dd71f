import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `$sample` over a collection whose documents sit at several versions, on the server:
/// the size, no document twice, every drawn document equal to its migrated form in the
/// truth collection and matching the filter, all of them when the size is at least the
/// count, with filters whose rewrite is exact or not at old versions, at several mixes
/// (one version only, one absent); the split across versions against the multivariate
/// hypergeometric law; seeds; `$sample` after a `$group`.
final class SampleQueryTests: XCTestCase {
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")

    /// `dataset` at `dist` (mixed and truth) in a fresh database, loaded once per test run.
    static let loaded = Locked([String: MongoDatabase]())
    func load(_ dataset: String, dist: String?) throws -> MongoDatabase {
        let name = "sample_\(dataset)_\((dist ?? "default").replacingOccurrences(of: ",", with: "_"))"
        if let db = Self.loaded.value[name] { return db }
        let db = try DifferentialQueryTests.load(dataset, dist: dist, database: name)
        Self.loaded.mutate { $0[name] = db }
        return db
    }

    func collection(_ db: MongoDatabase, _ dataset: String, seed: UInt64? = nil, profile: ServerProfile? = nil) throws -> VersionedCollection {
        var c = try StrataClient(database: db, schemasDirectory: Self.schemas).collection(dataset)
        c.options.sampleSeed = seed
        c.options.profile = profile
        return c
    }

    func ids(_ docs: [Document]) -> [BSON] { docs.map { $0["_id"] ?? .null } }

    /// The sample's properties: `size` or all the matching documents, none twice, each
    /// equal to its migrated form, and each matching `filter` on the truth.
    func checkSample(_ got: [Document], size: Int, truth: MongoCollection, filter: Document, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let matching = try truth.find(filter).all()
        let byId = Dictionary(matching.map { (GroupKey($0["_id"]!), $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(got.count, min(size, matching.count), "\(what): the size", file: file, line: line)
        XCTAssertEqual(Set(ids(got).map { GroupKey($0) }).count, got.count, "\(what): a document twice", file: file, line: line)
        for d in got {
            guard let want = byId[GroupKey(d["_id"] ?? .null)] else {
                XCTFail("\(what): \(d["_id"] ?? .null) is not a matching document of the truth", file: file, line: line)
                continue
            }
            XCTAssertNil(ResultComparison.values.difference([d], [want]), "\(what): not its migrated form", file: file, line: line)
        }
    }

    /// Every mix (default, all at the oldest version, one version absent), with and without
    /// a seed, SecantusDB's and mongod's plans: without a filter, with a filter exact at every
    /// version, with one whose old versions need a temporary field, and sizes past the count.
    func testEventsSamplesAreExactAtEveryMix() throws {
        let filters: [Document] = [[:], ["amount.value": ["$gte": 100]], ["kind": "purchase"], ["kind": ["$in": ["purchase", "refund"]]]]
        // (seed, plans, size): each path of the runner — the server's `$sample`, a seeded
        // choice among `_id`s — at a small size, a size past the count, and one document.
        let runs: [(UInt64?, ServerProfile?, Int)] = [(nil, nil, 25), (11, nil, 1), (nil, .mongod, 5000), (11, .mongod, 25)]
        for dist in [nil, "100,0,0,0", "30,30,0,40", "0,0,0,100"] {
            let db = try load("events", dist: dist)
            for filter in filters {
                for (seed, profile, size) in runs {
                    let c = try collection(db, "events", seed: seed, profile: profile)
                    let pipeline: [BSON] = (filter.isEmpty ? [] : [["$match": .document(filter)]]) + [["$sample": ["size": .int32(Int32(size))]]]
                    let what = "events [\(dist ?? "default")] seed \(seed.map(String.init) ?? "none") \(profile?.name ?? "server's") \(ExtendedJSON.string(.array(pipeline)))"
                    try checkSample(try c.aggregate(pipeline), size: size, truth: db.collection("events_truth"), filter: filter, what)
                }
            }
        }
    }

    /// The users' `password` is a Swift-only hash below version 2: a filter on it has no
    /// rewrite there, so those versions' matching documents are found in Swift.
    func testAFilterOnlySwiftCanDecideAtOldVersions() throws {
        let filter: Document = ["password": ["$gte": "8"]]
        for dist in [nil, "100,0,0,0", "40,0,30,30"] {
            let db = try load("users", dist: dist)
            let plan = try collection(db, "users").plan([["$match": .document(filter)], ["$sample": ["size": 30]]])
            guard case .sample(let s) = plan.strategy else { return XCTFail("not a sample plan: \(plan.explainDocument)") }
            XCTAssertEqual(s.sampledInSwift, [0, 1])
            for seed: UInt64? in [nil, 5] {
                let c = try collection(db, "users", seed: seed)
                for size in [30, 100_000] {
                    let got = try c.aggregate([["$match": .document(filter)], ["$sample": ["size": .int32(Int32(size))]]])
                    try checkSample(got, size: size, truth: db.collection("users_truth"), filter: filter,
                                    "users [\(dist ?? "default")] seed \(seed.map(String.init) ?? "none") size \(size)")
                }
            }
        }
    }

    func testSizeAtLeastTheCountGivesEveryMatchingDocumentInRandomOrder() throws {
        let db = try load("events", dist: nil)
        let truth = try db.collection("events_truth").find(["kind": "purchase"]).all()
        XCTAssertGreaterThan(truth.count, 50)
        let c = try collection(db, "events", seed: 3)
        let got = try c.aggregate([["$match": ["kind": "purchase"]], ["$sample": ["size": 1_000_000]]])
        XCTAssertEqual(Set(ids(got).map { GroupKey($0) }), Set(ids(truth).map { GroupKey($0) }))
        let sorted = ids(got).sorted { BSONOrder.compare($0, $1) < 0 }
        XCTAssertNotEqual(ids(got), sorted, "shuffled, not in _id order")
    }

    func testSeedsReproduceAndDiffer() throws {
        let db = try load("events", dist: nil)
        let pipeline: [BSON] = [["$match": ["amount.value": ["$gte": 10]]], ["$sample": ["size": 40]]]
        let a = ids(try collection(db, "events", seed: 99).aggregate(pipeline))
        XCTAssertEqual(a, ids(try collection(db, "events", seed: 99).aggregate(pipeline)), "same seed, same documents in the same order")
        XCTAssertNotEqual(a, ids(try collection(db, "events", seed: 100).aggregate(pipeline)), "another seed, another sample")
        // The users' Swift-filtered versions too, and a later $sample run in Swift.
        let users = try load("users", dist: nil)
        let p2: [BSON] = [["$match": ["password": ["$gte": "8"]]], ["$sample": ["size": 15]], ["$sample": ["size": 10]]]
        let u = ids(try collection(users, "users", seed: 1).aggregate(p2))
        XCTAssertEqual(u.count, 10)
        XCTAssertEqual(u, ids(try collection(users, "users", seed: 1).aggregate(p2)))
        XCTAssertNotEqual(u, ids(try collection(users, "users", seed: 2).aggregate(p2)))
        // Two facets sampling alike draw independently, each its own way every run.
        let facets: [BSON] = [["$facet": ["a": [["$sample": ["size": 10]]], "b": [["$sample": ["size": 10]]]]]]
        let f = try collection(db, "events", seed: 4).aggregate(facets)
        let (fa, fb) = (ids(f[0]["a"]?.arrayValue?.compactMap(\.documentValue) ?? []), ids(f[0]["b"]?.arrayValue?.compactMap(\.documentValue) ?? []))
        XCTAssertEqual(fa.count, 10)
        XCTAssertNotEqual(fa, fb)
        XCTAssertEqual(try collection(db, "events", seed: 4).aggregate(facets), f)
    }

    /// The split across versions. 100 seeded draws (seeds 0–99) of 100 from 3000 events
    /// stored about 40/30/20/10 over versions 0–3: each version's total over the draws
    /// against its hypergeometric expectation, 100 · 100 · count / 3000. Pearson's statistic
    /// with the multinomial variance overstates the hypergeometric one (by (N − 1)/(N − n),
    /// 1.03 here), so comparing it with χ²(3)'s upper 0.001 point (16.266) is a test at
    /// significance at most 0.001. Also the mean of the first version's share per draw:
    /// its hypergeometric mean, 30 · count / 3000, within 4 standard errors.
    func testTheSplitAcrossVersionsIsHypergeometric() throws {
        let db = try load("events", dist: "40,30,20,10")
        var storedVersion: [GroupKey: Int] = [:]
        for d in try db.collection("events").find([:], options: FindOptions(projection: ["v": 1])).all() {
            storedVersion[GroupKey(d["_id"]!)] = Int(d["v"]?.exactInt ?? 0)
        }
        let counts = (0...3).map { v in storedVersion.values.filter { $0 == v }.count }
        XCTAssertEqual(counts.reduce(0, +), 3000)
        XCTAssertTrue(zip(counts, [1200, 900, 600, 300]).allSatisfy { abs($0 - $1) < 100 }, "\(counts)")
        let (draws, n) = (100, 100)
        var totals = [Int](repeating: 0, count: 4)
        for seed in 0..<draws {
            let got = try collection(db, "events", seed: UInt64(seed)).aggregate([["$sample": ["size": .int32(Int32(n))]]])
            XCTAssertEqual(got.count, n)
            for d in got { totals[storedVersion[GroupKey(d["_id"]!)]!] += 1 }
        }
        let expected = counts.map { Double(draws * n) * Double($0) / 3000 }
        let chi2 = zip(totals, expected).reduce(0.0) { $0 + pow(Double($1.0) - $1.1, 2) / $1.1 }
        print("sample split: per-version totals \(totals), expected \(expected), chi-square \(chi2) (bound 16.266, df 3, significance 0.001)")
        XCTAssertLessThan(chi2, 16.266, "per-version totals \(totals), expected \(expected)")
        // Var of one draw's version-0 share: n p (1 − p) (N − n)/(N − 1).
        let p = Double(counts[0]) / 3000, variance = Double(n) * p * (1 - p) * Double(3000 - n) / 2999
        let mean = Double(totals[0]) / Double(draws)
        XCTAssertEqual(mean, Double(n) * p, accuracy: 4 * (variance / Double(draws)).squareRoot())
    }

    /// `$sample` after a `$group` runs in Swift over the merged groups.
    func testSampleAfterAGroup() throws {
        let db = try load("events", dist: nil)
        let pipeline: [BSON] = [["$group": ["_id": "$kind", "n": ["$sum": 1]]], ["$sample": ["size": 2]]]
        let groups = try db.collection("events_truth").aggregateAll([["$group": ["_id": "$kind", "n": ["$sum": 1]]]])
        for profile: ServerProfile? in [nil, .mongod] {
            let c = try collection(db, "events", seed: 8, profile: profile)
            let got = try c.aggregate(pipeline)
            XCTAssertEqual(got.count, 2)
            XCTAssertEqual(Set(ids(got).map { GroupKey($0) }).count, 2)
            for g in got {
                XCTAssertTrue(groups.contains { ResultComparison.values.difference([$0], [g]) == nil }, "\(g) is a group of the truth")
            }
            XCTAssertEqual(ids(got), ids(try c.aggregate(pipeline)))
        }
    }

    func testExplainShowsTheSample() throws {
        let db = try load("events", dist: nil)
        let doc = try collection(db, "events").explain([["$match": ["kind": "purchase"]], ["$sample": ["size": 5]], ["$count": "n"]])
        XCTAssertEqual(doc["mode"], "sample")
        XCTAssertEqual(doc["shards"]?.arrayValue?.count, 4)
        XCTAssertEqual(doc["merger"]?.documentValue?["sample"]?.documentValue?["size"]?.exactInt, 5)
        XCTAssertEqual(doc["merger"]?.documentValue?["pipeline"], [["$count": "n"]])
    }
}
