import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo
import StrataTestSupport
import XCTest

/// The strongest test strata has: every query of `queries/`, run by strata on
/// the mixed collection, equals the same pipeline run directly by the server on
/// the truth (the same documents migrated by the generator), for several
/// version mixes.
final class DifferentialQueryTests: XCTestCase {
    static let root = TestServer.repositoryRoot
    static let sizes = ["users": 1500, "devices": 1200, "events": 3000]

    static func queries(for dataset: String) throws -> [(String, QuerySpec)] {
        let dir = root.appendingPathComponent("queries")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            .filter { $0.hasPrefix(dataset + "-") && $0.hasSuffix(".json") }
            .map { ($0, try QuerySpec.load(contentsOf: dir.appendingPathComponent($0))) }
    }

    /// The versioned collections the catalog's queries over a dataset join: loaded next to
    /// it (mixed under their names, migrated as `<name>_truth`), at the generator's mix.
    static let joined = ["events": ["users"], "users": ["events"]]

    /// The catalog's queries that answer, for tests that compare answers with the truth's:
    /// not those ending in `$out`/`$merge`, which write instead (`writeDifference` checks them).
    static func answeringQueries(for dataset: String) throws -> [(String, QuerySpec)] {
        try queries(for: dataset).filter { !$0.1.writesResults }
    }

    /// Loads `<dataset>` (mixed), `<dataset>_truth`, the collections its queries join
    /// (`joined`, mixed and truth) and `products` into a fresh database.
    static func load(_ dataset: String, dist: String?, database name: String) throws -> MongoDatabase {
        let db = try TestServer.freshDatabase(name)
        let dir = try Datasets.generate(dataset, count: sizes[dataset]!, dist: dist)
        try db.collection(dataset).insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")))
        try db.collection(dataset + "_truth").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
        if dataset == "devices" {
            try db.collection("products").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl")))
        }
        for other in joined[dataset] ?? [] {
            let partner = try Datasets.generate(other, count: sizes[other]!, dist: nil)
            try db.collection(other).insertMany(try Datasets.readJSONL(partner.appendingPathComponent("\(other).mixed.jsonl")))
            try db.collection(other + "_truth").insertMany(try Datasets.readJSONL(partner.appendingPathComponent("\(other).truth.jsonl")))
        }
        return db
    }

    /// `pipeline` as the server runs it on the truth: joins into the versioned collections
    /// of `joined` read their `_truth` copies.
    static func onTruth(_ pipeline: [BSON], dataset: String) -> [BSON] {
        let versioned = Set(joined[dataset] ?? []).union([dataset])
        func rewrite(_ v: BSON) -> BSON {
            switch v {
            case .array(let items): return .array(items.map(rewrite))
            case .document(let d):
                var out = Document()
                for (k, x) in d {
                    switch (k, x) {
                    case ("$unionWith", .string(let c)) where versioned.contains(c): out[k] = .string(c + "_truth")
                    case ("from", .string(let c)) where versioned.contains(c), ("coll", .string(let c)) where versioned.contains(c):
                        out[k] = .string(c + "_truth")
                    default: out[k] = rewrite(x)
                    }
                }
                return .document(out)
            default: return v
            }
        }
        return pipeline.map(rewrite)
    }

    /// `profile` nil: the server's own (SecantusDB's streams unindexed filters into Swift);
    /// `.mongod` makes the same queries run their translated filters and partial groups
    /// on the server, as they do on a real mongod.
    /// `spillBudget`: run every query with that memory budget, its spill files in a
    /// private folder, which must be empty after each query; some query must spill.
    func check(_ dataset: String, dist: String?, profile: ServerProfile? = nil, spillBudget: Int? = nil) throws {
        let suffix = (profile.map { "_" + $0.name.lowercased() } ?? "") + (spillBudget == nil ? "" : "_spill")
        let db = try Self.load(dataset, dist: dist, database: "diff_\(dataset)_\((dist ?? "default").replacingOccurrences(of: ",", with: "_"))\(suffix)")
        var options = QueryRunner.Options(profile: profile)
        let spillBase = FileManager.default.temporaryDirectory.appendingPathComponent("strata-diff-spill-\(UUID().uuidString)").path
        if let spillBudget {
            try FileManager.default.createDirectory(atPath: spillBase, withIntermediateDirectories: true)
            options.maxMemoryBytes = spillBudget
            options.spillDirectory = spillBase
            options.minimumSpillRunBytes = 4096
        }
        defer { try? FileManager.default.removeItem(atPath: spillBase) }
        var spilled: [String] = []
        let client = StrataClient(database: db, schemasDirectory: Self.root.appendingPathComponent("schemas"),
                                  options: options)
        let collection = try client.collection(dataset)
        let queries = try Self.queries(for: dataset)
        XCTAssertGreaterThan(queries.count, 10)
        var failures: [String] = []
        for (file, spec) in queries {
            if spec.writesResults {
                // It answers nothing: what it leaves in its target is compared instead.
                do {
                    if let d = try writeDifference(spec, db: db, collection: collection) { failures.append("\(file) [\(dist ?? "default")]: \(d)") }
                } catch {
                    failures.append("\(file) [\(dist ?? "default")]: strata failed: \(error)")
                }
                continue
            }
            let want = try db.collection(dataset + "_truth").aggregateAll(Self.onTruth(spec.pipeline, dataset: dataset))
            var got: [Document] = []
            do {
                let statistics = try collection.aggregate(try ParsedQuery(spec)) { got.append($0); return true }
                if statistics.spillRuns > 0 { spilled.append(file) }
            } catch {
                failures.append("\(file) [\(dist ?? "default")]: strata failed: \(error)")
                continue
            }
            if spillBudget != nil, let left = try? FileManager.default.contentsOfDirectory(atPath: spillBase), !left.isEmpty {
                failures.append("\(file): spill files left behind: \(left)")
            }
            if let d = ResultComparison.difference(got, want, pipeline: spec.pipeline) {
                failures.append("\(file) [\(dist ?? "default")]: \(d)")
            }
            failures += try Self.seededSampleDifferences(file, spec, db: db, dataset: dataset, profile: profile, want: want)
                .map { "\(file) [\(dist ?? "default")]: \($0)" }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) queries differ:\n" + failures.joined(separator: "\n"))
        if spillBudget != nil { XCTAssertFalse(spilled.isEmpty, "some query of the catalog spilled") }
    }

    /// A catalog query ending in `$out`/`$merge`: strata's run over the mixed collection
    /// into its target, the server's own run over the truth into a second target, both
    /// empty at first, twice each (so the second run meets the first one's documents:
    /// `whenMatched`, or a `$out` replacing a collection); nil when both targets then hold
    /// the same documents.
    func writeDifference(_ spec: QuerySpec, db: MongoDatabase, collection: VersionedCollection) throws -> String? {
        guard let output = try ParsedQuery(spec).output else { return "not a writing query" }
        let target = db.collection(output.collection), truthTarget = db.collection(output.collection + "_from_truth")
        try target.drop()
        try truthTarget.drop()
        for _ in 0..<2 {
            _ = try collection.write(try ParsedQuery(spec))
            _ = try db.collection(spec.collection + "_truth").aggregateAll(WrittenTargets.retarget(spec.pipeline, to: truthTarget.name))
        }
        if try target.countDocuments() == 0 { return "nothing written" }
        return try WrittenTargets.difference(target, truthTarget)
    }

    /// A `$sample` query's answer is random, yet it is compared with the truth's like any
    /// other: the catalog's `$sample` queries are written so that their answer does not
    /// depend on the draw (they count or check a sample, e.g. events-sample-purchases:
    /// 40 purchases, all positive), while `SampleQueryTests` tests the draw itself. Here
    /// such a query also runs at two seeds (each a different, reproducible draw): a catalog
    /// query whose answer depends on the draw fails below, every run, naming the seed.
    static func seededSampleDifferences(_ file: String, _ spec: QuerySpec, db: MongoDatabase, dataset: String, profile: ServerProfile?,
                                        want: [Document]) throws -> [String] {
        guard spec.pipeline.contains(where: { $0.documentValue?["$sample"] != nil }) else { return [] }
        var out: [String] = []
        for seed: UInt64 in [1, 2] {
            let client = StrataClient(database: db, schemasDirectory: root.appendingPathComponent("schemas"),
                                      options: QueryRunner.Options(profile: profile, sampleSeed: seed))
            let got = try client.collection(dataset).aggregate(spec.pipeline)
            if let d = ResultComparison.difference(got, want, pipeline: spec.pipeline) {
                out.append("with --sample-seed \(seed) (a $sample query of the catalog must not depend on the draw): \(d)")
            }
        }
        return out
    }

    func testUsersDefaultMix() throws { try check("users", dist: nil) }
    func testUsersAllOldest() throws { try check("users", dist: "100,0,0,0") }
    func testUsersAllNewest() throws { try check("users", dist: "0,0,0,100") }
    func testUsersMiddleVersionAbsent() throws { try check("users", dist: "40,0,30,30") }

    func testDevicesDefaultMix() throws { try check("devices", dist: nil) }
    func testDevicesAllOldest() throws { try check("devices", dist: "100,0,0") }
    func testDevicesAllNewest() throws { try check("devices", dist: "0,0,100") }
    func testDevicesMiddleVersionAbsent() throws { try check("devices", dist: "50,0,50") }

    func testEventsDefaultMix() throws { try check("events", dist: nil) }
    func testEventsAllOldest() throws { try check("events", dist: "100,0,0,0") }
    func testEventsAllNewest() throws { try check("events", dist: "0,0,0,100") }
    func testEventsMiddleVersionAbsent() throws { try check("events", dist: "30,30,0,40") }

    // The plans mongod gets: every version's rewrite on the server.
    func testUsersAsOnMongod() throws { try check("users", dist: nil, profile: .mongod) }
    func testDevicesAsOnMongod() throws { try check("devices", dist: nil, profile: .mongod) }
    func testEventsAsOnMongod() throws { try check("events", dist: "30,30,0,40", profile: .mongod) }

    // A budget so small that every blocking stage spills (4 KB runs, compacted past 32): the same answers.
    func testEventsSpilling() throws { try check("events", dist: nil, spillBudget: 1) }
    func testDevicesSpilling() throws { try check("devices", dist: nil, spillBudget: 1) }
}
