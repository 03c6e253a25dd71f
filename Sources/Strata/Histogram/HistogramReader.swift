import StrataEvaluator
import StrataLens
import StrataMongo

extension VersionHistogram {
    /// Which way to count.
    public enum StrategyChoice: String, Sendable, CaseIterable {
        /// The version index when there is a usable one, else one `$group` scan.
        case automatic = "auto"
        /// Always one `$group` scan.
        case scan
        /// The version index; throws when there is none the server will use.
        case index
    }

    /// Counts the documents of `collection` at each version of `lens`.
    public static func read(_ collection: MongoCollection, lens: Lens,
                            strategy: StrategyChoice = .automatic) throws -> VersionHistogram {
        try read(collection, versionField: lens.versionField, absentMeans: lens.absentMeans,
                 knownVersions: lens.knownVersions, strategy: strategy)
    }

    /// Counts the documents of `collection` at each version, for a version
    /// field, the version its absence means and the versions that are known.
    public static func read(_ collection: MongoCollection, versionField: String, absentMeans: Int,
                            knownVersions: ClosedRange<Int>,
                            strategy: StrategyChoice = .automatic) throws -> VersionHistogram {
        let reader = HistogramReader(collection: collection, field: versionField, absentMeans: absentMeans,
                                     known: knownVersions)
        switch strategy {
        case .scan:
            return try reader.groupScan(reason: "asked for")
        case .index, .automatic:
            switch try reader.usableIndex() {
            case .success(let plan):
                return try reader.indexed(plan)
            case .failure(let why):
                if strategy == .index {
                    throw StrataError.unsupported("cannot count '\(collection.namespace)' on an index: \(why.reason)")
                }
                return try reader.groupScan(reason: why.reason)
            }
        }
    }
}

/// The two ways of counting, and the index check between them.
struct HistogramReader {
    let collection: MongoCollection
    let field: String
    let absentMeans: Int
    let known: ClosedRange<Int>

    struct NoIndex: Error { let reason: String }

    struct IndexPlan {
        let name: String
        /// The three probes, each a pipeline run with `hint: name`.
        let probes: [[BSON]]
        let stages: [String]
    }

    var fieldPath: BSON { .string("$" + field) }

    /// `{_id: {t: {$type: "$f"}, v: "$f"}, n: {$sum: 1}}`: `$type` tells a
    /// missing field ("missing") from an explicit null, which `$f` alone would not.
    var groupStage: BSON {
        ["$group": ["_id": ["t": ["$type": fieldPath], "v": fieldPath], "n": ["$sum": 1]]]
    }

    func groupScan(reason: String) throws -> VersionHistogram {
        var tally = HistogramTally(knownVersions: known, absentMeans: absentMeans)
        for row in try collection.aggregateAll([groupStage]) {
            try tally.add(groupRow: row)
        }
        return tally.histogram(database: collection.database.name, collection: collection.name,
                               versionField: field, strategy: .groupScan(reason: reason))
    }

    func indexed(_ plan: IndexPlan) throws -> VersionHistogram {
        var tally = HistogramTally(knownVersions: known, absentMeans: absentMeans)
        for probe in plan.probes {
            for row in try collection.aggregateAll(probe, options: ["hint": .string(plan.name)]) {
                try tally.add(groupRow: row)
            }
        }
        return tally.histogram(database: collection.database.name, collection: collection.name,
                               versionField: field,
                               strategy: .versionIndex(name: plan.name, stages: plan.stages, queries: plan.probes.count))
    }

    /// The probes, together exact and disjoint:
    /// 1. the known versions (`$in` matches 1, 1L, 1.0 and NumberDecimal("1") alike);
    /// 2. null or missing, told apart by `$type`;
    /// 3. everything else: unknown versions and non-integers (usually nothing).
    var probes: [[BSON]] {
        let knownValues: [BSON] = known.map { BSON.int64(Int64($0)) }
        return [
            [["$match": match(["$in": .array(knownValues)])], groupStage],
            [["$match": match(.null)], groupStage],
            [["$match": match(["$nin": .array(knownValues + [.null])])], groupStage],
        ]
    }

    func match(_ condition: BSON) -> BSON { .document(Document([(field, condition)])) }

    /// An index whose first key is the version field, that the server uses for
    /// every probe (its explain shows IXSCAN or COUNT_SCAN, no COLLSCAN) and that
    /// is not multikey (an array in the version field would make `$in` match it).
    func usableIndex() throws -> Result<IndexPlan, NoIndex> {
        let candidates = try collection.listIndexes().filter(isCandidate)
            .sorted { ($0["key"]?.documentValue?.count ?? 0) < ($1["key"]?.documentValue?.count ?? 0) }
        guard let index = candidates.first, let name = index["name"]?.stringValue else {
            return .failure(NoIndex(reason: "no index starts with '\(field)'"))
        }
        var allStages: [String] = []
        for probe in probes {
            let explain: Document
            do {
                explain = try collection.database.runCommand([
                    "explain": ["aggregate": .string(collection.name), "pipeline": .array(probe), "cursor": [:],
                                "hint": .string(name)],
                    "verbosity": "queryPlanner",
                ])
            } catch let e as MongoError where e.kind == .server {
                return .failure(NoIndex(reason: "the server cannot explain a probe on index '\(name)': \(e)"))
            }
            var summary = PlanSummary()
            summary.collect(.document(explain))
            if summary.multiKey {
                return .failure(NoIndex(reason: "index '\(name)' is multikey (a document has held an array in '\(field)')"))
            }
            guard summary.stages.contains(where: { ["IXSCAN", "COUNT_SCAN", "DISTINCT_SCAN"].contains($0) }),
                  !summary.stages.contains("COLLSCAN") else {
                return .failure(NoIndex(reason: "the server's plan for a probe on index '\(name)' is \(summary.stages.joined(separator: "/")), not an index scan"))
            }
            for s in summary.stages where ["IXSCAN", "COUNT_SCAN", "DISTINCT_SCAN"].contains(s) && !allStages.contains(s) {
                allStages.append(s)
            }
        }
        return .success(IndexPlan(name: name, probes: probes, stages: allStages))
    }

    /// First key is the field, ascending or descending (not hashed, text...),
    /// and no option that leaves documents out of it or changes equality.
    func isCandidate(_ index: Document) -> Bool {
        guard let keys = index["key"]?.documentValue, let first = keys.first, first.key == field,
              first.value.isNumber else { return false }
        if index["sparse"]?.boolValue == true || index["hidden"]?.boolValue == true { return false }
        if index["partialFilterExpression"] != nil { return false }
        if let collation = index["collation"]?.documentValue, collation["locale"]?.stringValue != "simple" { return false }
        return true
    }
}

/// The stage names of an explain's winning plan(s), and whether any index is multikey.
struct PlanSummary {
    var stages: [String] = []
    var multiKey = false

    mutating func collect(_ value: BSON) {
        switch value {
        case .document(let doc):
            for (k, v) in doc {
                switch k {
                case "rejectedPlans", "command", "serverInfo", "serverParameters": continue
                case "stage": if let s = v.stringValue { stages.append(s) }
                case "isMultiKey": if v.boolValue == true { multiKey = true }
                default: collect(v)
                }
            }
        case .array(let items):
            for item in items { collect(item) }
        default:
            break
        }
    }
}
