import Foundation
@testable import Strata
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// The devices lens's own `lookup` (v0 → v1 copies the product's `tags`) into a
/// `products` collection that is itself mid-migration: a products lens whose v0 stores
/// the tags as `labels`. The lookup reads products as if migrated, so every catalog query
/// over devices, and a migration, give what they give over the migrated truths — where
/// reading products as stored would give v0 products no tags.
final class VersionedLensLookupTests: XCTestCase {
    static let productsLens = #"""
        {"collection": "products", "versionField": "v", "steps": [
          {"from": 0, "to": 1, "operations": [{"op": "rename", "from": "labels", "to": "tags"}]}]}
        """#

    /// Where SecantusDB (the truth's server) differs from mongod on a catalog query whose
    /// `$lookup` runs in Swift here (products has a lens): the same pipeline in the form
    /// SecantusDB evaluates as mongod does. `$p.name` over an array of documents is the
    /// array of their names in mongod (and strata), missing in SecantusDB; `$map` is not.
    static let onSecantus: [String: [BSON]] = [
        "devices-product-names.json": [
            ["$lookup": ["from": "products", "localField": "product", "foreignField": "_id", "as": "p"]],
            ["$project": ["name": ["$ifNull": [["$first": ["$map": ["input": "$p", "in": "$$this.name"]]], "unknown"]]]],
            ["$group": ["_id": "$name", "n": ["$sum": 1]]],
            ["$sort": ["_id": 1]],
        ],
    ]

    /// A schemas folder with the shipped devices lens and the products lens.
    func schemas(_ name: String = "lenses") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-lens-lookup-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestServer.repositoryRoot.appendingPathComponent("schemas/devices.json"),
                                         to: dir.appendingPathComponent("devices.json"), replacing: true)
        try Self.productsLens.write(to: dir.appendingPathComponent("products.json"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Devices mixed and products mixed (every other product at v0, tags stored as
    /// `labels`) in one database; their truths under the same names in another.
    func load(_ tag: String) throws -> (mixed: MongoDatabase, truth: MongoDatabase) {
        let mixed = try TestServer.freshDatabase("lens_lookup_mixed_\(tag)")
        let truth = try TestServer.freshDatabase("lens_lookup_truth_\(tag)")
        let dir = try Datasets.generate("devices", count: DifferentialQueryTests.sizes["devices"]!, dist: nil)
        try mixed.collection("devices").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("devices.mixed.jsonl")))
        try truth.collection("devices").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("devices.truth.jsonl")))
        let products = try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl"))
        var stored: [Document] = []
        for (i, p) in products.enumerated() {
            if i % 2 == 0 {
                stored.append(Document(p.map { ($0.key == "tags" ? "labels" : $0.key, $0.value) }))
            } else {
                var d = p
                d["v"] = 1
                stored.append(d)
            }
        }
        XCTAssertTrue(stored.contains { $0["labels"] != nil })
        try mixed.collection("products").insertMany(stored)
        try truth.collection("products").insertMany(products.map { var d = $0; d["v"] = 1; return d })
        return (mixed, truth)
    }

    func testTheLensBindsTheLookupToTheProductsLens() throws {
        let lens = try Lens.load(collection: "devices", schemasDirectory: try schemas()).bindingLookups(schemasDirectory: try schemas())
        let lookup = try XCTUnwrap(lens.steps[0].operations.compactMap { $0 as? LookupOperation }.first)
        XCTAssertEqual(lookup.foreign?.collection, "products")
        XCTAssertNil(lookup.serverStages, "the server's $lookup would read products as stored")
        XCTAssertNil(lens.serverUpgradeStages(from: 0))
        XCTAssertNotNil(lens.serverUpgradeStages(from: 1))
    }

    func testEveryDevicesQueryAnswersAsOnTheTruths() throws {
        let (mixed, truth) = try load("queries")
        for profile: ServerProfile? in [nil, .mongod] {
            let client = StrataClient(database: mixed, schemasDirectory: try schemas(), options: QueryRunner.Options(profile: profile))
            var failures: [String] = []
            let queries = try DifferentialQueryTests.answeringQueries(for: "devices")
            XCTAssertGreaterThan(queries.count, 10)
            for (file, spec) in queries {
                let want = try truth.collection("devices").aggregateAll(Self.onSecantus[file] ?? spec.pipeline)
                do {
                    let got = try client.collection("devices").aggregate(spec.pipeline)
                    if let d = ResultComparison.difference(got, want, pipeline: spec.pipeline) { failures.append("\(file): \(d)") }
                } catch {
                    failures.append("\(file): strata failed: \(error)")
                }
            }
            XCTAssert(failures.isEmpty, "\(profile.map { "\($0)" } ?? "server's profile"): " + failures.joined(separator: "\n"))
        }
    }

    func testAMigrationWritesWhatTheTruthHolds() throws {
        let (mixed, truth) = try load("migrate")
        let lens = try Lens.load(collection: "devices", schemasDirectory: try schemas()).bindingLookups(schemasDirectory: try schemas())
        _ = try Migrator(collection: mixed.collection("devices"), lens: lens).run()
        let sort: [BSON] = [["$sort": ["_id": 1]]]
        let got = try mixed.collection("devices").aggregateAll(sort)
        let want = try truth.collection("devices").aggregateAll(sort)
        XCTAssertEqual(got.count, want.count)
        XCTAssertNil(ResultComparison.difference(got, want, pipeline: sort))
        XCTAssertTrue(got.contains { !($0["tags"]?.arrayValue ?? []).isEmpty }, "the case shows nothing")
    }

    func testLookupsThatCannotBeBoundAreRefused() throws {
        let dir = try schemas("refusals")
        // Into the collection itself.
        try #"""
            {"collection": "gadgets", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
              {"op": "lookup", "field": "t", "from": "gadgets", "localField": "p", "foreignField": "_id", "select": "tags"}]}]}
            """#.write(to: dir.appendingPathComponent("gadgets.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Lens.load(collection: "gadgets", schemasDirectory: dir).bindingLookups(schemasDirectory: dir)) { error in
            XCTAssertTrue("\(error)".contains("the collection this lens describes"), "\(error)")
            XCTAssertTrue("\(error)".contains("steps[0].operations[0].from"), "\(error)")
        }
        // Into a collection whose own lens looks up a versioned collection: devices looks up products.
        try #"""
            {"collection": "fleets", "versionField": "v", "steps": [{"from": 0, "to": 1, "operations": [
              {"op": "lookup", "field": "d", "from": "devices", "localField": "serial", "foreignField": "serial", "select": "product"}]}]}
            """#.write(to: dir.appendingPathComponent("fleets.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Lens.load(collection: "fleets", schemasDirectory: dir).bindingLookups(schemasDirectory: dir)) { error in
            XCTAssertTrue("\(error)".contains("one level of lookups into versioned collections"), "\(error)")
        }
    }
}

private extension FileManager {
    func copyItem(at from: URL, to: URL, replacing: Bool) throws {
        if replacing, fileExists(atPath: to.path) { try removeItem(at: to) }
        try copyItem(at: from, to: to)
    }
}
