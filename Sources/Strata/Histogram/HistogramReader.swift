import StrataBSON
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
    package static func read(_ collection: MongoCollection, lens: Lens,
                            strategy: StrategyChoice = .automatic) throws -> VersionHistogram {
        try read(collection, versionField: lens.versionField, absentMeans: lens.absentMeans,
                 knownVersions: lens.knownVersions, strategy: strategy)
    }

    /// Counts the documents of `collection` at each version, for a version
    /// field, the version its absence means and the versions that are known.
    package static func read(_ collection: MongoCollection, versionField: String, absentMeans: Int,
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
        /// The index (or indexes) the server's plans use.
        let names: [String]
        let stages: [String]
    }

    var fieldPath: BSON { .string("$" + field) }

    /// `{_id: {t: {$type: "$f"}, v: "$f"}, n: {$sum: 1}}`: `$type` tells a
    /// missing field ("missing") from an explicit null, which `$f` alone would not.
    var groupStage: BSON {
        ["$group": ["_id": ["t": ["$type": fieldPath], "v": fieldPath], "n": ["$sum": 1]]]
    }

    static let countStage: BSON = ["$group": ["_id": .null, "n": ["$sum": 1]]]

    func match(_ condition: BSON) -> BSON { .document(Document([(field, condition)])) }

    func groupScan(reason: String) throws -> VersionHistogram {
        var tally = HistogramTally(knownVersions: known, absentMeans: absentMeans)
        for row in try collection.aggregateAll([groupStage]) {
            try tally.add(groupRow: row)
        }
        return tally.histogram(database: collection.database.name, collection: collection.name,
                               versionField: field, strategy: .groupScan(reason: reason))
    }

    // MARK: the indexed probes

    /// Counts the documents at version `k`: `{f: k}` matches 1, 1L, 1.0 and
    /// NumberDecimal("1") alike, as they are one version. Needs no field of the
    /// documents, so a server can count on the index alone (COUNT_SCAN).
    func versionProbe(_ k: Int) -> [BSON] {
        [["$match": match(.int64(Int64(k)))], Self.countStage]
    }

    /// Null or missing (one index key, `null`), told apart by `$type`.
    var nullProbe: [BSON] { [["$match": match(.null)], groupStage] }

    /// Everything else: unknown versions and non-integers (usually nothing).
    var restProbe: [BSON] {
        let excluded: [BSON] = known.map { BSON.int64(Int64($0)) } + [.null]
        return [["$match": match(["$nin": .array(excluded)])], groupStage]
    }

    /// One probe per known version, then null-or-missing, then the rest:
    /// together they cover every document once (the index is not multikey).
    func indexed(_ plan: IndexPlan) throws -> VersionHistogram {
        var tally = HistogramTally(knownVersions: known, absentMeans: absentMeans)
        var queries = 0
        for k in known {
            let rows = try collection.aggregateAll(versionProbe(k))
            queries += 1
            tally.addVersion(k, Int(rows.first?["n"]?.exactInt ?? 0))
        }
        for probe in [nullProbe, restProbe] {
            queries += 1
            for row in try collection.aggregateAll(probe) { try tally.add(groupRow: row) }
        }
        return tally.histogram(database: collection.database.name, collection: collection.name, versionField: field,
                               strategy: .versionIndex(name: plan.names.joined(separator: ", "), stages: plan.stages,
                                                       queries: queries))
    }

    /// The server must answer every kind of probe with an index scan (its
    /// explain shows IXSCAN, COUNT_SCAN or DISTINCT_SCAN and no COLLSCAN) on an
    /// index that starts with the version field and is not multikey (an array
    /// in the version field would make `{f: 1}` match `[1, 2]`), nor sparse or
    /// partial (which leave documents out), nor with a collation.
    func usableIndex() throws -> Result<IndexPlan, NoIndex> {
        let indexes = try collection.listIndexes()
        let candidates = Set(indexes.filter(isCandidate).compactMap { $0["name"]?.stringValue })
        guard !candidates.isEmpty else {
            let starting = indexes.filter { $0["key"]?.documentValue?.first?.key == field }.compactMap { $0["name"]?.stringValue }
            return .failure(NoIndex(reason: starting.isEmpty
                ? "no index starts with '\(field)'"
                : "the index\(starting.count > 1 ? "es" : "") \(starting.map { "'\($0)'" }.joined(separator: ", ")) on '\(field)' cannot count every document (sparse, partial, hashed, hidden or with a collation)"))
        }
        var names: [String] = []
        var stages: [String] = []
        for (what, probe) in [("one version", versionProbe(known.upperBound)), ("null or missing", nullProbe), ("everything else", restProbe)] {
            let explain: Document
            do {
                explain = try collection.database.runCommand([
                    "explain": ["aggregate": .string(collection.name), "pipeline": .array(probe), "cursor": [:]],
                    "verbosity": "queryPlanner",
                ])
            } catch let e as MongoError where e.kind == .server {
                return .failure(NoIndex(reason: "the server cannot explain the probe for \(what): \(e)"))
            }
            var summary = PlanSummary()
            summary.collect(.document(explain))
            let scans = summary.stages.filter { PlanSummary.indexScans.contains($0) }
            if summary.stages.contains("COLLSCAN") || scans.isEmpty {
                var plan: [String] = []
                for stage in summary.stages where !plan.contains(stage) { plan.append(stage) }
                return .failure(NoIndex(reason: "the server plans the probe for \(what) as \(plan.joined(separator: "/")), not an index scan"))
            }
            if summary.multiKey {
                return .failure(NoIndex(reason: "the index the server picks on '\(field)' is multikey (a document has held an array in it)"))
            }
            if let other = summary.indexNames.first(where: { !candidates.contains($0) }) {
                return .failure(NoIndex(reason: "the server plans the probe for \(what) on index '\(other)', which cannot count every document"))
            }
            for n in summary.indexNames where !names.contains(n) { names.append(n) }
            for s in scans where !stages.contains(s) { stages.append(s) }
        }
        return .success(IndexPlan(names: names, stages: stages))
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

/// The stage names of an explain's winning plan(s), the indexes they scan, and
/// whether any of those is multikey. Rejected plans are ignored.
struct PlanSummary {
    static let indexScans: Set<String> = ["IXSCAN", "COUNT_SCAN", "DISTINCT_SCAN"]
    var stages: [String] = []
    var indexNames: [String] = []
    var multiKey = false

    mutating func collect(_ value: BSON) {
        switch value {
        case .document(let doc):
            for (k, v) in doc {
                switch k {
                case "rejectedPlans", "command", "serverInfo", "serverParameters": continue
                case "stage": if let s = v.stringValue { stages.append(s) }
                case "indexName": if let s = v.stringValue, !indexNames.contains(s) { indexNames.append(s) }
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
