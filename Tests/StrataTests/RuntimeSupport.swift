import Foundation
@testable import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// Datasets loaded into fresh databases, and comparisons with their truth.
enum RuntimeFixture {
    static let schemas = TestServer.repositoryRoot.appendingPathComponent("schemas")

    static func lens(_ name: String) throws -> Lens { try Lens.load(collection: name, schemasDirectory: schemas) }

    struct Loaded {
        let database: MongoDatabase
        let lens: Lens
        let mixed: [Document]
        let truth: [Document]
        var collection: MongoCollection { database.collection(lens.collection) }
        var truthById: [GroupKey: Document] { Dictionary(uniqueKeysWithValues: truth.map { (GroupKey($0["_id"]!), $0) }) }
    }

    /// Generates `dataset` (gen.py), loads the mixed documents (and products) into a fresh database.
    static func load(_ dataset: String, count: Int, database: String, dist: String? = nil) throws -> Loaded {
        let dir = try Datasets.generate(dataset, count: count, dist: dist)
        let db = try TestServer.freshDatabase(database)
        let mixed = try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).mixed.jsonl"))
        try db.collection(dataset).insertMany(mixed)
        if dataset == "devices" {
            try db.collection("products").insertMany(try Datasets.readJSONL(dir.appendingPathComponent("products.jsonl")))
        }
        return Loaded(database: db, lens: try lens(dataset), mixed: mixed,
                      truth: try Datasets.readJSONL(dir.appendingPathComponent("\(dataset).truth.jsonl")))
    }

    /// `nil` when the collection holds exactly the truth (same `_id`s, documents equal as
    /// unordered maps, doubles bit for bit); otherwise the first difference.
    static func difference(_ collection: MongoCollection, _ truth: [Document]) throws -> String? {
        let stored = try collection.find().all()
        if stored.count != truth.count { return "\(stored.count) documents stored, the truth has \(truth.count)" }
        let want = Dictionary(uniqueKeysWithValues: truth.map { (GroupKey($0["_id"]!), $0) })
        for doc in stored {
            guard let t = want[GroupKey(doc["_id"]!)] else { return "unexpected _id \(ExtendedJSON.string(doc["_id"]!))" }
            if let d = BSONComparison().difference(doc, t) { return "_id \(ExtendedJSON.string(doc["_id"]!)): \(d)" }
        }
        return nil
    }
}

/// The `accounts` collection of schemas/accounts.json: v0 keyed by the e-mail address as
/// typed, v1 by the lower-cased address (plus a default plan). Deterministic.
enum AccountsDataset {
    static let first = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jon"]
    static let domains = ["Example.com", "mail.ORG", "post.net"]

    /// `count` accounts, about `legacyShare` of them at v0 (absent version field), the rest v1;
    /// every address distinct once lower-cased.
    static func generate(count: Int, legacyShare: Double = 0.7, seed: UInt64 = 7) -> (mixed: [Document], truth: [Document]) {
        var rng = SplitMix64(state: seed)
        var mixed: [Document] = [], truth: [Document] = []
        for i in 0..<count {
            let name = first[i % first.count]
            let base = "\(name).\(i)@\(domains[i % domains.count])"
            let typed = String(base.map { c in rng.next() % 2 == 0 ? Character(c.uppercased()) : Character(c.lowercased()) })
            let created = BSON.date(1_700_000_000_000 + Int64(i) * 86_400_000)
            let plan: BSON? = i % 3 == 0 ? "pro" : nil
            let legacy = Double(rng.next() % 1000) / 1000 < legacyShare
            var t: Document = ["_id": .string(asciiLower(typed)), "v": 1, "name": .string(name), "createdAt": created]
            t["plan"] = plan ?? "free"
            truth.append(t)
            if legacy {
                var d: Document = ["_id": .string(typed), "name": .string(name), "createdAt": created]
                if let plan { d["plan"] = plan }
                mixed.append(d)
            } else {
                mixed.append(t)
            }
        }
        return (mixed, truth)
    }

    /// `$toLower`: ASCII letters only (É stays É), as mongod and strata's evaluator do.
    static func asciiLower(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { u in
            (65...90).contains(u.value) ? Unicode.Scalar(u.value + 32)! : u
        }))
    }

}
