import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// `map` and `in` (operations inside array elements and sub-documents), end to end:
/// an `orders` collection whose line items and customer change shape over four
/// versions, stored at several mixes, queried by strata and compared with the same
/// pipeline on the truth. The truth is rendered from the same facts at the newest
/// version by hand here, not by the lens. Two lenses: `flat` runs every upgrade on the
/// server (rename, convert, add inside elements); `nested` ends with a `nest` inside
/// the elements, which has no server form, so older versions upgrade in Swift.
final class LensMapDifferentialTests: XCTestCase {
    enum Variant: String, CaseIterable { case flat, nested }

    static func lens(_ variant: Variant) -> String {
        let last: String
        switch variant {
        case .flat:
            last = #"{"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "price", "to": "unitPrice"}]}"#
        case .nested:
            last = #"{"op": "map", "field": "lines", "operations": [{"op": "nest", "into": "unitPrice", "fields": {"price": "amount", "currency": "currency"}}]}"#
        }
        return #"""
        {"collection": "orders", "versionField": "sv",
         "steps": [
          {"from": 0, "to": 1, "operations": [
            {"op": "map", "field": "lines", "operations": [{"op": "rename", "from": "code", "to": "sku"}]},
            {"op": "in", "field": "customer", "operations": [{"op": "rename", "from": "zip", "to": "postcode"}]}]},
          {"from": 1, "to": 2, "operations": [
            {"op": "map", "field": "lines", "operations": [
              {"op": "convert", "field": "qty", "expr": {"$toInt": "$$value"}},
              {"op": "add", "field": "currency", "value": "EUR"}]}]},
          {"from": 2, "to": 3, "operations": [
"""# + last + #"""
          ]}],
         "indexes": [{"key": {"lines.sku": 1}}, {"key": {"customer.postcode": 1}}]}
        """#
    }

    /// One order: its customer and its lines (a line that is not a document is kept as is).
    struct Order {
        var id: Int
        var customer: (name: String, zip: String)?
        var lines: [BSON?]?  // nil element: a line item; see `items`
        var items: [(code: String, qty: Int, price: Double)]
    }

    static func orders(count: Int) -> [Order] {
        var rng = SplitMix64(state: 99)
        return (0..<count).map { i in
            let customer: (String, String)? = rng.chance(0.9) ? (["Ana", "Bo", "Chen", "Dee"][rng.int(4)], String(format: "%05d", rng.int(100_000))) : nil
            var items: [(String, Int, Double)] = []
            var lines: [BSON?]? = []
            let shape = rng.int(20)
            if shape == 0 { lines = nil }  // no lines at all
            else if shape == 1 { lines = [] }
            else {
                for _ in 0..<(1 + rng.int(4)) {
                    if rng.chance(0.05) { lines!.append([BSON.null, .int32(7), "gift"][rng.int(3)]); continue }
                    items.append(("SKU-\(rng.int(12))", 1 + rng.int(10), Double(rng.int(12_000)) / 100))
                    lines!.append(nil)
                }
            }
            return Order(id: i, customer: customer, lines: lines, items: items)
        }
    }

    /// The order as stored at `version` (3: the truth of `variant`).
    static func render(_ o: Order, version: Int, variant: Variant) -> Document {
        var d: Document = ["_id": .int32(Int32(o.id))]
        if version > 0 { d["sv"] = .int32(Int32(version)) }
        if let c = o.customer {
            d["customer"] = ["name": .string(c.name), version == 0 ? "zip" : "postcode": .string(c.zip)]
        }
        if let lines = o.lines {
            var next = o.items.makeIterator()
            d["lines"] = .array(lines.map { other in
                if let other { return other }
                let item = next.next()!
                var line = Document()
                line[version == 0 ? "code" : "sku"] = .string(item.code)
                line["qty"] = version < 2 ? .string(String(item.qty)) : .int32(Int32(item.qty))
                switch (version, variant) {
                case (3, .flat): line["unitPrice"] = .double(item.price); line["currency"] = "EUR"
                case (3, .nested): line["unitPrice"] = ["amount": .double(item.price), "currency": "EUR"]
                case (2, _): line["price"] = .double(item.price); line["currency"] = "EUR"
                default: line["price"] = .double(item.price)
                }
                return .document(line)
            })
        }
        return d
    }

    /// Pipelines SecantusDB answers differently from mongod on the truth (it resolves a
    /// field path through an array of documents to nothing, and sorts by an array field
    /// otherwise): their expected answer is strata's evaluator on the truth, which follows
    /// mongod there (`DifferentialPipelineTests` checks it); the rest use the server.
    static let serverDivergences: Set<String> = ["element paths in an expression", "added element field", "sort on an element field"]

    static func pipelines(_ variant: Variant) -> [(String, [BSON])] {
        let price = variant == .flat ? "$lines.unitPrice" : "$lines.unitPrice.amount"
        let pricePath = String(price.dropFirst())
        return [
            ("element equality", [["$match": ["lines.sku": "SKU-7"]], ["$count": "n"]]),
            ("sub-document range", [["$match": ["customer.postcode": ["$gte": "50000"]]], ["$sort": ["_id": 1]], ["$project": ["_id": 1, "customer": 1]]]),
            ("unwind and group", [["$unwind": "$lines"], ["$group": ["_id": "$lines.sku", "qty": ["$sum": "$lines.qty"],
                                                                      "revenue": ["$sum": ["$multiply": ["$lines.qty", .string(price)]]]]]]),
            ("elemMatch", [["$match": ["lines": ["$elemMatch": ["sku": "SKU-3", "qty": ["$gte": 5]]]]], ["$count": "n"]]),
            ("element range on a renamed field", [["$match": [.init(stringLiteral: pricePath): ["$gt": 90]]], ["$sort": ["_id": 1]], ["$limit": 20]]),
            ("element paths in an expression", [["$project": ["n": ["$size": ["$ifNull": ["$lines", []]]], "skus": "$lines.sku", "zip": "$customer.postcode"]]]),
            ("converted element field", [["$match": ["lines.qty": ["$gt": 8]]], ["$count": "n"]]),
            ("element by position", [["$match": ["lines.0.sku": "SKU-1"]], ["$count": "n"]]),
            ("added element field", [["$group": ["_id": "$lines.currency", "n": ["$sum": 1]]]]),
            ("sort on an element field", [["$sort": ["lines.sku": 1, "_id": 1]], ["$limit": 15], ["$project": ["_id": 1]]]),
            ("null element field", [["$match": ["lines.sku": nil]], ["$count": "n"]]),
            ("missing sub-document field", [["$match": ["customer.zip": ["$exists": true]]], ["$count": "n"]]),
        ]
    }

    /// Loads `orders` at the mix (one share per version, oldest first) and its truth.
    func load(_ variant: Variant, dist: [Int], database: String, profile: ServerProfile? = nil) throws -> (MongoDatabase, StrataClient) {
        let db = try TestServer.freshDatabase(database)
        let all = Self.orders(count: 800)
        var mixed: [Document] = [], truth: [Document] = []
        for o in all {
            var pick = o.id % 100, version = 0
            while version < 3 && pick >= dist[version] { pick -= dist[version]; version += 1 }
            mixed.append(Self.render(o, version: version, variant: variant))
            truth.append(Self.render(o, version: 3, variant: variant))
        }
        try db.collection("orders").insertMany(mixed)
        try db.collection("orders_truth").insertMany(truth)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-map-\(database)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.lens(variant).write(to: dir.appendingPathComponent("orders.json"), atomically: true, encoding: .utf8)
        return (db, StrataClient(database: db, schemasDirectory: dir, options: QueryRunner.Options(profile: profile)))
    }

    func check(_ variant: Variant, dist: [Int], profile: ServerProfile? = nil) throws {
        let name = "map_\(variant)_\(dist.map(String.init).joined(separator: "_"))\(profile == nil ? "" : "_mongod")"
        let (db, client) = try load(variant, dist: dist, database: name, profile: profile)
        let orders = try client.collection("orders")
        var failures: [String] = []
        // Under mongod's plans the server evaluates these pipelines' expressions itself, so
        // on SecantusDB their answers carry its divergences (on mongod they would not).
        for (title, pipeline) in Self.pipelines(variant) where profile == nil || !Self.serverDivergences.contains(title) {
            let want = try Self.expected(pipeline, title: title, truth: db.collection("orders_truth"))
            do {
                let got = try orders.aggregate(pipeline)
                if let d = ResultComparison.difference(got, want, pipeline: pipeline) { failures.append("\(title): \(d)") }
            } catch {
                failures.append("\(title): strata failed: \(error)")
            }
        }
        XCTAssert(failures.isEmpty, "\(variant) \(dist): \(failures.count) differ:\n" + failures.joined(separator: "\n"))
    }

    static func expected(_ pipeline: [BSON], title: String, truth: MongoCollection) throws -> [Document] {
        guard serverDivergences.contains(title) else { return try truth.aggregateAll(pipeline) }
        return try PipelineExecutor(try Pipeline.parse(pipeline)).run(try truth.aggregateAll([]))
    }

    func testFlatEveryMix() throws {
        for dist in [[25, 25, 25, 25], [100, 0, 0, 0], [0, 0, 0, 100], [50, 0, 0, 50], [0, 60, 40, 0]] {
            try check(.flat, dist: dist)
        }
    }

    func testNestedEveryMix() throws {
        for dist in [[25, 25, 25, 25], [100, 0, 0, 0], [50, 0, 0, 50]] {
            try check(.nested, dist: dist)
        }
    }

    func testMongodPlans() throws {
        try check(.flat, dist: [25, 25, 25, 25], profile: .mongod)
        try check(.nested, dist: [25, 25, 25, 25], profile: .mongod)
    }

    /// A renamed element field still uses each version's index: `lines.sku` is served by
    /// the index on `lines.code` at version 0 (and on `lines.sku` after), as explain shows.
    func testElementFieldUsesTheOlderVersionsIndex() throws {
        let (db, client) = try load(.flat, dist: [25, 25, 25, 25], database: "map_index")
        let lens = try Lens.parse(Self.lens(.flat), file: "orders.json")
        let plan = LensIndexPlan(lens: lens)
        let keys = plan.specs.map { ExtendedJSON.string(.document($0.keys)) }
        XCTAssertTrue(keys.contains(#"{ "lines.code" : 1 }"#), "\(keys)")
        XCTAssertTrue(keys.contains(#"{ "customer.zip" : 1 }"#), "\(keys)")
        _ = try plan.create(on: db.collection("orders"))
        let orders = try client.collection("orders")
        let pipeline: [BSON] = [["$match": ["lines.sku": "SKU-7"]], ["$group": ["_id": "$customer.name", "n": ["$sum": 1]]]]
        let explain = try orders.explain(pipeline)
        let shards = try XCTUnwrap(explain["shards"]?.arrayValue?.compactMap(\.documentValue))
        var sawOldest = false
        for shard in shards where shard["strategy"] != "empty" {
            let versions = shard["versions"]?.arrayValue?.compactMap(\.exactInt) ?? []
            let serverPlan = try XCTUnwrap(shard["serverPlan"]?.documentValue, ExtendedJSON.string(.document(shard)))
            XCTAssertTrue(serverPlan["stages"]?.arrayValue?.contains("IXSCAN") == true, ExtendedJSON.string(.document(shard)))
            if versions.contains(0) {
                sawOldest = true
                let filter = ExtendedJSON.string(.document(shard))
                XCTAssertTrue(filter.contains("lines.code"), "v0 reads the stored element field: \(filter)")
            }
        }
        XCTAssertTrue(sawOldest)
        let want = try db.collection("orders_truth").aggregateAll(pipeline)
        XCTAssertNil(ResultComparison.difference(try orders.aggregate(pipeline), want, pipeline: pipeline))
    }
}
