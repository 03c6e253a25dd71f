import Foundation
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestSupport
import XCTest

/// The lenses of the shared datasets against the generator's truth: upgrade in
/// Swift, upgrade on the server, down-migration, and path translation.
final class LensDatasetTests: XCTestCase {
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")
    static let exact = BSONComparison()
    static let sizes = ["users": 1500, "devices": 1500, "events": 2000]

    struct Loaded {
        let lens: Lens
        let mixed: [Document]
        let truth: [Document]
        let products: [Document]
        var context: LensContext {
            let products = self.products
            return LensContext(lookup: { from, foreignField, value in
                precondition(from == "products" && foreignField == "_id")
                return products.first { $0["_id"] == (value ?? .null) }
            })
        }
    }

    func load(_ dataset: String, dist: String? = nil) throws -> Loaded {
        let dir = try Datasets.generate(dataset, count: Self.sizes[dataset]!, dist: dist)
        let products = dataset == "devices" ? try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl")) : []
        return Loaded(lens: try Lens.load(collection: dataset, schemasDirectory: Self.schemas),
                      mixed: try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl")),
                      truth: try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")),
                      products: products)
    }

    // MARK: (a) upgrade in Swift

    func testSwiftUpgradeEqualsTruth() throws {
        for dataset in ["users", "devices", "events"] {
            for dist in [nil, dataset == "devices" ? "100,0,0" : "100,0,0,0"] {
                let d = try load(dataset, dist: dist)
                XCTAssertEqual(d.mixed.count, d.truth.count)
                var seen = Set<Int>()
                for (stored, truth) in zip(d.mixed, d.truth) {
                    if case .known(let v) = d.lens.storedVersion(of: stored) { seen.insert(v) }
                    let upgraded = try d.lens.upgrade(stored, context: d.context)
                    if let diff = Self.exact.difference(upgraded, truth) {
                        return XCTFail("\(dataset) \(stored["_id"]!): \(diff)")
                    }
                }
                if dist == nil { XCTAssertEqual(seen, Set(d.lens.knownVersions), dataset) }
            }
        }
    }

    // MARK: (b) upgrade on the server

    /// Every step whose operations can run on the server, run there on the
    /// documents stored at its `from` version, equals the same step in Swift;
    /// and every full chain that can run there equals the truth.
    func testServerUpgradeEqualsSwiftUpgrade() throws {
        for dataset in ["users", "devices", "events"] {
            let d = try load(dataset)
            let db = try TestServer.freshDatabase("lens_server_\(dataset)")
            let coll = db.collection(dataset)
            try coll.insertMany(d.mixed)
            if !d.products.isEmpty { try db.collection("products").insertMany(d.products) }
            let byId = Dictionary(uniqueKeysWithValues: d.truth.map { (GroupKeyForTest($0["_id"]!), $0) })
            for step in d.lens.steps {
                let stepStages = d.lens.serverUpgradeStages(from: step.from, to: step.to)
                if dataset == "users" && step.from == 1 {
                    XCTAssertNil(stepStages, "the password hash is declared Swift-only")
                    continue
                }
                let stages = try XCTUnwrap(stepStages, "\(dataset) step \(step.from)")
                let serverDocs = try coll.aggregateAll([.document(["$match": .document(d.lens.filter(forVersion: step.from))])] + stages)
                let stored = d.mixed.filter { d.lens.storedVersion(of: $0) == .known(step.from) }
                XCTAssertEqual(serverDocs.count, stored.count, "\(dataset) step \(step.from)")
                let swiftById = try Dictionary(uniqueKeysWithValues: stored.map {
                    (GroupKeyForTest($0["_id"]!), try d.lens.upgrade($0, to: step.to, context: d.context))
                })
                for doc in serverDocs {
                    let expected = try XCTUnwrap(swiftById[GroupKeyForTest(doc["_id"]!)])
                    if let diff = Self.exact.difference(doc, expected) {
                        return XCTFail("\(dataset) step \(step.from) \(doc["_id"]!): \(diff)")
                    }
                }
            }
            for version in d.lens.knownVersions {
                guard let stages = d.lens.serverUpgradeStages(from: version) else {
                    XCTAssertTrue(dataset == "users" && version <= 1, "\(dataset) v\(version) should upgrade on the server")
                    continue
                }
                let docs = try coll.aggregateAll([.document(["$match": .document(d.lens.filter(forVersion: version))])] + stages)
                for doc in docs {
                    if let diff = Self.exact.difference(doc, byId[GroupKeyForTest(doc["_id"]!)]!) {
                        return XCTFail("\(dataset) v\(version) chain \(doc["_id"]!): \(diff)")
                    }
                }
            }
        }
    }

    // MARK: (d) down-migration

    func testDownMigrationGivesBackTheStoredDocument() throws {
        var checkedExact = 0, checkedLossy = 0
        for dataset in ["users", "devices", "events"] {
            let d = try load(dataset)
            for (stored, truth) in zip(d.mixed, d.truth) {
                guard case .known(let v) = d.lens.storedVersion(of: stored), v < d.lens.newest else { continue }
                switch d.lens.downgradeInvertibility(from: d.lens.newest, to: v) {
                case .impossible:
                    XCTAssertThrowsError(try d.lens.downgrade(truth, to: v, context: d.context))
                case .exact:
                    let back = try d.lens.downgrade(truth, to: v, context: d.context)
                    if let diff = Self.exact.difference(back, stored) { return XCTFail("\(dataset) \(stored["_id"]!): \(diff)") }
                    checkedExact += 1
                case .lossy:
                    let back = try d.lens.downgrade(truth, to: v, context: d.context)
                    if let diff = BSONComparison(relativeTolerance: 1e-12).difference(back, stored) {
                        return XCTFail("\(dataset) \(stored["_id"]!) (lossy): \(diff)")
                    }
                    checkedLossy += 1
                }
            }
        }
        // events' nest into `geo` merges into an existing sub-document, so its undo is declared
        // lossy (an empty `geo` held before is not told from none): its chains are checked as lossy
        // ones, which compare to 1e-12 — no dataset document has such a `geo`.
        XCTAssertGreaterThan(checkedExact + checkedLossy, 1100)
        XCTAssertGreaterThan(checkedLossy, 100)
    }

    // MARK: (c) paths

    /// For every newest path, the translated expression evaluated on the stored
    /// document equals the path read from the upgraded document.
    func testPathSourcesAgreeWithTheUpgrade() throws {
        let paths: [String: [String]] = [
            "users": ["name", "name.first", "name.last", "contacts", "contacts.value", "contacts.method", "address",
                      "address.country", "signedUpAt", "logins", "schema_version", "_id"],
            "devices": ["tags", "firmware", "firmware.major", "firmware.patch", "reading.tempC", "product", "lastSeen", "schemaVersion"],
            "events": ["amount", "amount.value", "amount.currency", "at", "kind", "geo", "geo.region", "tags", "user", "v"],
        ]
        for dataset in ["users", "devices", "events"] {
            let d = try load(dataset)
            for p in paths[dataset]! {
                let path = p.split(separator: ".").map(String.init)
                for version in d.lens.knownVersions {
                    let src = d.lens.source(of: path, atVersion: version)
                    guard let expr = src.expression else {
                        XCTFail("\(dataset).\(p) at v\(version) should translate: \(src.value)")
                        continue
                    }
                    if !src.lookups.isEmpty { continue }  // needs the server: checked in the planner's tests
                    for (stored, truth) in zip(d.mixed, d.truth) where d.lens.storedVersion(of: stored) == .known(version) {
                        let got = try Evaluator.evaluate(expr, stored)
                        let want = try Evaluator.evaluate(.fieldPath(path), truth)
                        XCTAssertEqual(got, want, "\(dataset).\(p) v\(version) \(stored["_id"]!)")
                        if got != want { return }
                    }
                }
            }
        }
    }

    func testPathSourceKinds() throws {
        let events = try load("events").lens
        XCTAssertEqual(events.source(of: ["at"], atVersion: 0), .path(["ts"]))
        XCTAssertEqual(events.source(of: ["geo", "region"], atVersion: 1), .path(["region"]))
        XCTAssertEqual(events.source(of: ["user"], atVersion: 0), .path(["user"]))
        XCTAssertEqual(events.source(of: ["geo", "region"], atVersion: 3), .path(["geo", "region"]))
        guard case .computed = events.source(of: ["kind"], atVersion: 2).value else { return XCTFail("kind is computed") }
        let users = try load("users").lens
        guard case .swiftOnly = users.source(of: ["password"], atVersion: 1).value else { return XCTFail("password needs Swift") }
        XCTAssertEqual(users.source(of: ["password"], atVersion: 2), .path(["password"]))
        XCTAssertEqual(users.source(of: ["name", "first"], atVersion: 0), .path(["name"]))
        let devices = try load("devices").lens
        XCTAssertEqual(devices.source(of: ["tags"], atVersion: 0).lookups.count, 1)
    }
}

/// `_id`s as dictionary keys.
struct GroupKeyForTest: Hashable {
    let text: String
    init(_ v: BSON) { text = ExtendedJSON.string(v, mode: .canonical) }
}
