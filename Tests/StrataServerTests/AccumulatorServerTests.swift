import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import StrataTestFixtures
import XCTest

/// AccumulatorTests' checks against the server: partial states merged in Swift give the server's answer.
final class AccumulatorServerTests: XCTestCase {

    /// The partial states computed by the *server* with the specs documented on `Accumulator`,
    /// merged in Swift slice by slice, give the server's single-pass `$group` result.
    func testMergeOfServerPartialsEqualsServerResult() throws {
        let fx = try ServerFixture.get()
        let coll = try fx.collection("orders_merge", DifferentialPipelineTests.orders)
        let isNum: BSON = ["$cond": [["$isNumber": "$price"], 1, 0]]
        let widest: BSON = ["$max": ["$switch": ["branches": [
            ["case": ["$eq": [["$type": "$qty"], "int"]], "then": 0],
            ["case": ["$eq": [["$type": "$qty"], "long"]], "then": 1],
            ["case": ["$eq": [["$type": "$qty"], "double"]], "then": 2],
        ], "default": -1]]]
        // (field, full accumulator, partial accumulators, how to build the partial from a row)
        struct Item { let name: String; let full: BSON; let partial: Document; let make: (Document) -> BSON?; var tolerance: Double = 0 }
        let items: [Item] = [
            Item(name: "sum", full: ["$sum": "$qty"], partial: ["sum_s": ["$sum": "$qty"], "sum_t": widest],
                 make: { .document(["sum": $0["sum_s"]!, "width": $0["sum_t"]!]) }),
            Item(name: "sumPlain", full: ["$sum": "$price"], partial: ["sumPlain": ["$sum": "$price"]], make: { $0["sumPlain"] }, tolerance: 1e-14),
            Item(name: "count", full: ["$count": .document([:])], partial: ["count": ["$sum": 1]], make: { $0["count"] }),
            Item(name: "avg", full: ["$avg": "$price"], partial: ["avg_s": ["$sum": "$price"], "avg_c": ["$sum": isNum]],
                 make: { .document(["subTotal": $0["avg_s"]!, "count": $0["avg_c"]!]) }, tolerance: 1e-14),
            Item(name: "min", full: ["$min": "$price"], partial: ["min": ["$min": "$price"]], make: { $0["min"] }),
            Item(name: "max", full: ["$max": "$qty"], partial: ["max": ["$max": "$qty"]], make: { $0["max"] }),
            Item(name: "first", full: ["$first": "$region"], partial: ["first": ["$first": ["v": "$region"]]], make: { $0["first"] }),
            Item(name: "last", full: ["$last": "$price"], partial: ["last": ["$last": ["v": "$price"]]], make: { $0["last"] }),
            Item(name: "push", full: ["$push": "$region"], partial: ["push": ["$push": "$region"]], make: { $0["push"] }),
            Item(name: "mergeObjects", full: ["$mergeObjects": "$customer"], partial: ["mergeObjects": ["$mergeObjects": "$customer"]], make: { $0["mergeObjects"] }),
            Item(name: "stdDevSamp", full: ["$stdDevSamp": "$price"],
                 partial: ["sd_c": ["$sum": isNum], "sd_m": ["$avg": "$price"], "sd_p": ["$stdDevPop": "$price"]],
                 make: { .document(["count": $0["sd_c"]!, "mean": $0["sd_m"]!, "stdDevPop": $0["sd_p"]!]) }, tolerance: 1e-9),
            Item(name: "topN", full: ["$topN": ["n": 3, "sortBy": ["qty": -1, "_id": 1], "output": "$_id"]],
                 partial: ["topN": ["$topN": ["n": 3, "sortBy": ["qty": -1, "_id": 1], "output": ["output": "$_id", "sortFields": ["$qty", "$_id"]]]]],
                 make: { $0["topN"] }),
            Item(name: "bottom", full: ["$bottom": ["sortBy": ["price": 1, "_id": 1], "output": "$price"]],
                 partial: ["bottom": ["$bottomN": ["n": 1, "sortBy": ["price": 1, "_id": 1], "output": ["output": "$price", "sortFields": ["$price", "$_id"]]]]],
                 make: { $0["bottom"] }),
            Item(name: "firstN", full: ["$firstN": ["n": 4, "input": "$qty"]], partial: ["firstN": ["$firstN": ["n": 4, "input": "$qty"]]], make: { $0["firstN"] }),
            Item(name: "lastN", full: ["$lastN": ["n": 4, "input": "$qty"]], partial: ["lastN": ["$lastN": ["n": 4, "input": "$qty"]]], make: { $0["lastN"] }),
            Item(name: "maxN", full: ["$maxN": ["n": 3, "input": "$price"]], partial: ["maxN": ["$maxN": ["n": 3, "input": "$price"]]], make: { $0["maxN"] }),
        ]
        var fullSpec: Document = ["_id": "$product"]
        var partialSpec: Document = ["_id": "$product"]
        for it in items {
            fullSpec[it.name] = it.full
            for (k, v) in it.partial { partialSpec[k] = v }
        }
        let sortById: BSON = ["$sort": ["_id": 1]]
        let full = try coll.aggregateAll([sortById, ["$group": .document(fullSpec)]])
        var slices: [[Document]] = []
        for (lo, hi) in [(0, 70), (70, 150), (150, 240)] {
            slices.append(try coll.aggregateAll([["$match": ["_id": ["$gte": .int32(Int32(lo)), "$lt": .int32(Int32(hi))]]], sortById, ["$group": .document(partialSpec)]]))
        }
        let specs = try items.map { try AccumulatorSpec.parse($0.full, at: Location(path: $0.name)) }
        let cmp = { (tol: Double) in BSONComparison(relativeTolerance: tol) }
        var failures: [String] = []
        for row in full {
            let key = row["_id"]!
            for (i, it) in items.enumerated() {
                var acc = try specs[i].makeAccumulator(groupId: key)
                for slice in slices {
                    guard let p = slice.first(where: { BSONOrder.equal($0["_id"], key) }) else { continue }
                    try acc.merge(it.make(p))
                }
                let merged = try acc.finalize() ?? .null
                if let d = cmp(it.tolerance).difference(merged, row[it.name]!) {
                    failures.append("\(it.name) for \(show(key)): merged \(show(merged)) vs server \(show(row[it.name])) (\(d))")
                }
            }
        }
        if !failures.isEmpty { XCTFail(failures.joined(separator: "\n")) }
    }

    /// GroupSplit end to end: the server runs `partialGroup` on slices, Swift merges.
    func testGroupSplitAgainstTheServer() throws {
        let fx = try ServerFixture.get()
        let coll = try fx.collection("orders_split", DifferentialPipelineTests.orders)
        let groups = [
            #"{"_id": "$product", "n": {"$count": {}}, "q": {"$sum": "$qty"}, "p": {"$sum": "$price"}, "half": {"$sum": 0.5}, "a": {"$avg": "$price"}, "mn": {"$min": "$price"}, "mx": {"$max": "$ts"}, "f": {"$first": "$region"}, "l": {"$last": "$customer.name"}, "pu": {"$push": "$qty"}, "s": {"$addToSet": "$region"}, "m": {"$mergeObjects": "$customer"}, "sd": {"$stdDevPop": "$price"}, "t": {"$top": {"sortBy": {"price": -1, "_id": 1}, "output": "$_id"}}, "b": {"$bottomN": {"n": 2, "sortBy": {"qty": 1, "_id": 1}, "output": ["$_id", "$qty"]}}, "fn": {"$firstN": {"n": 2, "input": "$price"}}, "ln": {"$lastN": {"n": 2, "input": "$price"}}, "xn": {"$maxN": {"n": 2, "input": "$qty"}}, "med": {"$median": {"input": "$price", "method": "approximate"}}, "pc": {"$percentile": {"input": "$qty", "p": [0.1, 0.9], "method": "approximate"}}}"#,
            #"{"_id": {"r": "$region", "t": "$customer.tier"}, "q": {"$sum": "$qty"}, "n": {"$sum": 1}}"#,
            #"{"_id": null, "q": {"$sum": "$qty"}, "sd": {"$stdDevSamp": "$qty"}}"#,
        ]
        let sortById: BSON = ["$sort": ["_id": 1]]
        for text in groups {
            let spec = JD(text)
            let split = try GroupSplit(try Group.parse(spec, at: Location(path: "g")))
            let merger = split.makeMerger()
            for (lo, hi) in [(0, 50), (50, 51), (51, 180), (180, 240)] {
                let rows = try coll.aggregateAll([["$match": ["_id": ["$gte": .int32(Int32(lo)), "$lt": .int32(Int32(hi))]]], sortById, ["$group": .document(split.partialGroup)]])
                for r in rows { try merger.add(r) }
            }
            let merged = try merger.finish()
            let full = try coll.aggregateAll([sortById, ["$group": .document(spec)]])
            // $addToSet order is unspecified: compare it as a set
            func normalize(_ ds: [Document]) -> [Document] {
                ds.map { d in
                    var d = d
                    if case .array(let a)? = d["s"] { d["s"] = .array(a.sorted { BSONOrder.compare($0, $1) < 0 }) }
                    return d
                }
            }
            XCTAssertNil(DifferentialPipelineTests.difference(normalize(full), normalize(merged), ordered: false, tolerance: 1e-12), text)
        }
    }
}
