import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataTestFixtures
import StrataTestSupport
import XCTest

/// Random pipelines over the newest schemas, run by strata on the mixed
/// collection and by the server on the truth: the catalog in `queries/` is
/// hand-written; these explore combinations nobody wrote down. Deterministic
/// (seeded); `STRATA_FUZZ_COUNT` raises the number per dataset.
final class RandomPipelineTests: XCTestCase {
    static var count: Int { Int(ProcessInfo.processInfo.environment["STRATA_FUZZ_COUNT"] ?? "") ?? 40 }

    static var seedOffset: UInt64 { UInt64(ProcessInfo.processInfo.environment["STRATA_FUZZ_SEED"] ?? "") ?? 0 }

    func testUsers() throws { try fuzz("users", seed: 11 &+ Self.seedOffset) }
    func testDevices() throws { try fuzz("devices", seed: 22 &+ Self.seedOffset) }
    func testEvents() throws { try fuzz("events", seed: 33 &+ Self.seedOffset) }

    func fuzz(_ dataset: String, seed: UInt64) throws {
        let db = try DifferentialQueryTests.load(dataset, dist: nil, database: "fuzz_\(dataset)")
        let truth = try db.collection(dataset + "_truth").find().all()
        let client = StrataClient(database: db, schemasDirectory: TestServer.repositoryRoot.appendingPathComponent("schemas"))
        let collection = try client.collection(dataset)
        var gen = PipelineGenerator(schema: .of(dataset), samples: truth, seed: seed)
        var failures: [String] = []
        var unsupported: [String] = []
        var compared = 0
        for i in 0..<Self.count {
            let pipeline = gen.pipeline()
            let text = ExtendedJSON.string(BSON.array(pipeline))
            let t0 = Date()
            let want: Result<[Document], Error> = Result { try db.collection(dataset + "_truth").aggregateAll(pipeline) }
            let t1 = Date()
            let got: Result<[Document], Error> = Result { try collection.aggregate(pipeline) }
            let t2 = Date()
            if ProcessInfo.processInfo.environment["STRATA_FUZZ_TIMES"] != nil {
                print(String(format: "fuzz %@ #%d truth %.2fs strata %.2fs %@", dataset, i, t1.timeIntervalSince(t0), t2.timeIntervalSince(t1), String(text.prefix(160))))
            }
            switch (got, want) {
            case (.success(let g), .success(let w)):
                compared += 1
                if let d = ResultComparison.difference(g, w, pipeline: pipeline) { failures.append("#\(i) \(text)\n  \(d)") }
            case (.failure(let e as StrataError), .success) where e.kind == .unsupported:
                unsupported.append("#\(i) \(e)")
            case (.failure(let e), .success):
                failures.append("#\(i) \(text)\n  strata failed where the server answered: \(e)")
            case (.success(let g), .failure(let e)):
                // The server refused (e.g. a type error in an expression): strata must not answer.
                failures.append("#\(i) \(text)\n  strata answered \(g.count) documents where the server failed: \(e)")
            case (.failure, .failure):
                continue
            }
        }
        XCTAssertGreaterThan(compared, Self.count / 2, "most random pipelines should run on the server")
        XCTAssertLessThanOrEqual(unsupported.count, Self.count / 10, unsupported.joined(separator: "\n"))
        XCTAssert(failures.isEmpty, "\(failures.count) of \(Self.count) random pipelines differ:\n" + failures.joined(separator: "\n"))
    }
}

/// The newest schema of a dataset, as the generator sees it.
struct FuzzSchema {
    /// `traversal`: a string reached through an array of documents (`contacts.method`).
    /// Used in predicates only: SecantusDB 0.7.0b3 evaluates such a path to missing in
    /// expressions (mongod: the array of values), so the truth would be wrong there.
    enum Kind { case int, double, string, date, bool, stringArray, object, contactArray, traversal }
    var fields: [(path: String, kind: Kind)]
    var arrays: [String] { fields.filter { $0.kind == .stringArray || $0.kind == .contactArray }.map(\.path) }

    static func of(_ dataset: String) -> FuzzSchema {
        switch dataset {
        case "users":
            return FuzzSchema(fields: [("_id", .int), ("name.first", .string), ("name.last", .string), ("password", .string),
                                       ("contacts", .contactArray), ("contacts.method", .traversal), ("contacts.value", .traversal),
                                       ("address.country", .string), ("address", .object), ("name", .object),
                                       ("signedUpAt", .date), ("logins", .int), ("schema_version", .int)])
        case "devices":
            return FuzzSchema(fields: [("_id", .string), ("serial", .string), ("product", .string), ("tags", .stringArray),
                                       ("firmware.major", .int), ("firmware.minor", .int), ("firmware.patch", .int), ("firmware", .object),
                                       ("lastSeen", .date), ("reading.tempC", .double), ("reading", .object), ("online", .bool),
                                       ("schemaVersion", .int)])
        default:
            return FuzzSchema(fields: [("_id", .int), ("at", .date), ("kind", .string), ("user", .int), ("amount.value", .double),
                                       ("amount.currency", .string), ("amount", .object), ("tags", .stringArray),
                                       ("geo.region", .string), ("geo", .object), ("v", .int)])
        }
    }
}

/// Seeded random pipelines (SplitMix64), with constants drawn from real documents
/// so predicates select something.
struct PipelineGenerator {
    let schema: FuzzSchema
    let samples: [Document]
    var rng: SplitMix64

    init(schema: FuzzSchema, samples: [Document], seed: UInt64) {
        self.schema = schema
        self.samples = samples
        self.rng = SplitMix64(state: seed)
    }

    mutating func int(_ n: Int) -> Int { rng.int(n) }
    mutating func chance(_ p: Double) -> Bool { rng.chance(p) }
    mutating func pick<T>(_ xs: [T]) -> T { rng.pick(xs) }

    func fields(_ kinds: Set<FuzzSchema.Kind>) -> [String] { schema.fields.filter { kinds.contains($0.kind) }.map(\.path) }

    /// A value found at `path` in some document (array paths: one element).
    mutating func sample(_ path: String) -> BSON {
        for _ in 0..<20 {
            let d = pick(samples)
            if let v = Self.value(in: .document(d), Query.components(path)[...]) { return v }
        }
        return .null
    }

    static func value(in v: BSON, _ path: ArraySlice<String>) -> BSON? {
        guard let first = path.first else {
            if case .array(let a) = v { return a.first }
            return v
        }
        switch v {
        case .document(let d): return d[first].flatMap { value(in: $0, path.dropFirst()) }
        case .array(let a): return a.lazy.compactMap { value(in: $0, path) }.first
        default: return nil
        }
    }

    // MARK: predicates

    mutating func predicate(depth: Int = 0) -> Document {
        let r = int(100)
        if depth < 2 && r < 12 {
            let op = pick(["$and", "$or", "$nor"])
            return [op: .array((0..<(2 + int(2))).map { _ in .document(predicate(depth: depth + 1)) })]
        }
        if r < 20 { return ["$expr": expression(kind: .bool, depth: 1)] }
        let (path, kind) = pick(schema.fields.filter { $0.kind != .object })
        let v = sample(path)
        switch kind {
        case .int, .double, .date:
            switch int(7) {
            case 0: return [path: v]
            case 1: return [path: ["$gt": v]]
            case 2: return [path: ["$gte": v, "$lt": sample(path)]]
            case 3: return [path: ["$lte": v]]
            case 4: return [path: ["$in": [v, sample(path), sample(path)]]]
            case 5: return [path: ["$ne": v]]
            default: return [path: ["$exists": .bool(chance(0.8))]]
            }
        case .string, .traversal:
            switch int(6) {
            case 0: return [path: v]
            case 1:
                guard case .string(let s) = v, let c = s.first else { return [path: v] }
                return [path: ["$regex": .string("^" + NSRegularExpression.escapedPattern(for: String(c)))]]
            case 2: return [path: ["$in": [v, sample(path)]]]
            case 3: return [path: ["$nin": [v]]]
            case 4: return [path: ["$gt": v]]
            default: return [path: ["$not": ["$eq": v]]]
            }
        case .bool: return [path: .bool(chance(0.5))]
        case .stringArray:
            switch int(4) {
            case 0: return [path: sample(path)]
            case 1: return [path: ["$size": .int32(Int32(int(3)))]]
            case 2: return [path: ["$all": [sample(path)]]]
            default: return [path: ["$elemMatch": ["$eq": sample(path)]]]
            }
        case .contactArray:
            switch int(3) {
            case 0: return [path: ["$size": .int32(Int32(int(3)))]]
            case 1: return [path: ["$elemMatch": ["method": .string(pick(["phone", "twitter"]))]]]
            default: return [path + ".method": .string(pick(["phone", "twitter"]))]
            }
        case .object: return [path: ["$exists": true]]
        }
    }

    // MARK: expressions

    mutating func expression(kind: FuzzSchema.Kind, depth: Int = 0) -> BSON {
        let nums = fields([.int, .double])
        let strs = fields([.string])
        switch kind {
        case .int, .double:
            if depth > 2 || chance(0.35) { return .string("$" + pick(nums)) }
            switch int(8) {
            case 0: return ["$add": [expression(kind: .int, depth: depth + 1), .int32(Int32(int(100)))]]
            case 1: return ["$multiply": [expression(kind: .double, depth: depth + 1), .double(pick([0.5, 2.0, 1.8]))]]
            case 2: return ["$subtract": [expression(kind: .int, depth: depth + 1), expression(kind: .int, depth: depth + 1)]]
            case 3: return ["$divide": [expression(kind: .double, depth: depth + 1), .int32(Int32(1 + int(9)))]]
            case 4: return ["$year": .string("$" + pick(fields([.date])))]
            case 5: return ["$size": ["$ifNull": [.string("$" + pick(schema.arrays)), []]]]
            case 6: return ["$strLenCP": ["$ifNull": [.string("$" + pick(strs)), ""]]]
            default: return ["$cond": [expression(kind: .bool, depth: depth + 1), expression(kind: .int, depth: depth + 1), .int32(0)]]
            }
        case .string:
            if depth > 2 || chance(0.35) { return .string("$" + pick(strs)) }
            switch int(6) {
            case 0: return ["$toLower": .string("$" + pick(strs))]
            case 1: return ["$concat": [["$ifNull": [.string("$" + pick(strs)), "?"]], "-", ["$ifNull": [.string("$" + pick(strs)), "?"]]]]
            case 2: return ["$substrCP": [["$ifNull": [.string("$" + pick(strs)), ""]], 0, 3]]
            case 3: return ["$dateToString": ["date": .string("$" + pick(fields([.date]))), "format": "%Y-%m"]]
            case 4: return ["$toString": expression(kind: .int, depth: depth + 1)]
            default: return ["$ifNull": [.string("$" + pick(strs)), "none"]]
            }
        case .bool:
            switch int(5) {
            case 0:
                let f = pick(nums)
                return [pick(["$gt", "$gte", "$lt", "$lte", "$eq"]): [.string("$" + f), sample(f)]]
            case 1:
                let f = pick(strs)
                return ["$eq": [.string("$" + f), sample(f)]]
            case 2: return ["$in": [sample(pick(schema.arrays)), ["$ifNull": [.string("$" + pick(schema.arrays)), []]]]]
            case 3: return ["$and": [expression(kind: .bool, depth: depth + 1), expression(kind: .bool, depth: depth + 1)]]
            default: return ["$not": [expression(kind: .bool, depth: depth + 1)]]
            }
        case .date: return .string("$" + pick(fields([.date])))
        default: return .string("$" + pick(schema.fields.filter { $0.kind != .traversal }.map(\.path)))
        }
    }

    mutating func anyExpression() -> BSON {
        expression(kind: pick([FuzzSchema.Kind.int, .double, .string, .bool]))
    }

    // MARK: stages

    mutating func groupStage() -> BSON {
        let keyPath = pick(schema.fields.filter { $0.kind != .contactArray && $0.kind != .traversal }.map(\.path))
        let key: BSON = chance(0.3) ? .null : chance(0.5) ? .string("$" + keyPath) : ["k": .string("$" + keyPath), "e": expression(kind: .bool)]
        var g: Document = ["_id": key, "n": ["$sum": 1]]
        let num = pick(fields([.int, .double]))
        for i in 0..<(1 + int(3)) {
            let acc: BSON
            switch int(9) {
            case 0: acc = ["$sum": .string("$" + num)]
            case 1: acc = ["$avg": expression(kind: .double)]
            case 2: acc = ["$min": .string("$" + pick(schema.fields.filter { $0.kind != .traversal }.map(\.path)))]
            case 3: acc = ["$max": anyExpression()]
            case 4: acc = ["$stdDevPop": .string("$" + num)]
            case 5: acc = ["$addToSet": .string("$" + pick(fields([.string, .int])))]
            case 6: acc = ["$topN": ["n": 2, "sortBy": num == "_id" ? ["_id": -1] : [.init(stringLiteral: num): -1, "_id": 1], "output": .string("$_id")]]
            case 7: acc = ["$maxN": ["n": 2, "input": .string("$" + num)]]
            default: acc = ["$count": [:]]
            }
            g["a\(i)"] = acc
        }
        return ["$group": .document(g)]
    }

    mutating func pipeline() -> [BSON] {
        var stages: [BSON] = []
        if chance(0.7) { stages.append(["$match": .document(predicate())]) }
        switch int(9) {
        case 0, 1:
            stages.append(groupStage())
            // $addToSet order is unspecified: compare sizes.
            stages.append(["$set": .document(Document((0..<4).map { ("a\($0)", ["$cond": [["$isArray": .string("$a\($0)")], ["$size": .string("$a\($0)")], .string("$a\($0)")]]) }))])
        case 2:
            stages.append(["$project": ["x": anyExpression(), "y": anyExpression()]])
            stages.append(["$sort": ["x": 1, "_id": 1]])
            stages.append(["$limit": .int32(Int32(1 + int(20)))])
        case 3:
            stages.append(["$unwind": .string("$" + pick(schema.arrays))])
            stages.append(["$group": ["_id": .string("$" + pick(schema.fields.filter { $0.kind != .contactArray && $0.kind != .traversal }.map(\.path))), "n": ["$sum": 1]]])
        case 4:
            stages.append(["$count": "n"])
        case 5:
            let f = pick(fields([.int, .double]))
            let a = sample(f).doubleValue ?? 0
            stages.append(["$bucket": ["groupBy": .string("$" + f), "boundaries": [.double(a - 1e9), .double(a), .double(a + 1e9)], "default": "other"]])
        case 6:
            stages.append(["$addFields": ["x": anyExpression()]])
            stages.append(["$match": ["x": ["$ne": .null]]])
            stages.append(groupStage())
            stages.append(["$project": ["n": 1]])
        case 7:
            let f = pick(schema.fields.filter { $0.kind != .contactArray && $0.kind != .object && $0.kind != .traversal }.map(\.path))
            stages.append(["$sort": f == "_id" ? ["_id": chance(0.5) ? 1 : -1] : [.init(stringLiteral: f): chance(0.5) ? 1 : -1, "_id": 1]])
            stages.append(["$skip": .int32(Int32(int(5)))])
            stages.append(["$limit": .int32(Int32(1 + int(10)))])
        default:
            stages.append(["$sortByCount": .string("$" + pick(fields([.string, .bool, .int])))])
            stages.append(["$sort": ["count": -1, "_id": 1]])
        }
        return stages
    }
}
