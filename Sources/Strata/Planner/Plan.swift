import StrataBSON
import StrataEvaluator

/// What strata will run for one logical query: per-version branches on the
/// server (the "shards part") and a merge in Swift (the "merger part"),
/// like MongoDB's explain of a sharded aggregation.
public struct QueryPlan: Sendable {
    public enum Mode: String, Sendable {
        /// Each branch groups partially on the server; the merger combines groups.
        case partialGroups
        /// The documents stream in order (one find over every version, or sorted
        /// streams merged on a unique key); the pipeline runs in Swift.
        case recordOrder
        /// Each facet is planned on its own.
        case facets
    }

    public let collection: String
    public let mode: Mode
    public let branches: [Branch]
    /// mode `.partialGroups`: the group being merged, and the split whose merger combines
    /// the branches' partial rows.
    let group: GroupPlan?
    let mergeSplit: GroupSplit?
    /// Stages the merger runs in Swift after merging (or, in record order, the whole pipeline).
    public let mergerStages: [BSON]
    /// mode `.recordOrder`: the unique sort the branches return their documents in (nil: one stream).
    public let mergeSort: SortPattern?
    /// mode `.facets`: one plan per facet.
    public let facets: [(name: String, plan: QueryPlan)]
    /// Why this mode was chosen, for explain.
    public let reason: String
    /// The filter that finds documents at versions the lens does not know.
    public let unknownVersionFilter: Document
    /// mode `.partialGroups` with untracked `$sum`s: the same plan with every partial
    /// `$sum` shipping its widest input type (zero or one plan). The runner runs it
    /// only when the merger finds a result type ambiguous (`GroupMerger.sumTypeAmbiguous`).
    public var withSumWidths: [QueryPlan] = []
    /// The top-level fields of the newest schema the pipeline reads (nil: whole documents).
    /// A Swift upgrade that fails on a document is retried on just the stored fields these
    /// come from: a failure elsewhere in the document does not concern this query, and a
    /// server plan that computes only these fields never meets it either.
    public var readsFields: Set<String>? = nil
}

/// The work for the documents stored at some versions.
public struct Branch: Sendable {
    public enum Strategy: String, Sendable {
        /// Paths, predicates, keys translated through the lens; documents stay as stored.
        case translated
        /// Translated filter, then only the needed newest fields computed on the server.
        case materialized
        /// Translated filter, then the lens's upgrade stages on the server.
        case serverUpgrade
        /// Translated filter on the server; upgrade and the rest in Swift.
        case swiftUpgrade
        /// The filter is false for every document of these versions: nothing runs.
        case empty
    }

    public enum Command: Sendable {
        /// An aggregation whose results are partial groups.
        case aggregate([BSON])
        /// An aggregation whose results are stored documents, which strata upgrades in
        /// Swift (filters, a sort, a limit and a projection of the fields needed).
        case documents([BSON])
        case none
    }

    public let versions: [Int]
    public let strategy: Strategy
    public let command: Command
    /// Stages run in Swift on the upgraded documents of a `.documents` branch before they
    /// reach the merger (partial-group mode: the stages before the group).
    public let swiftStages: [BSON]
    /// Why this strategy, for explain (e.g. the path that needs Swift).
    public let note: String?
    /// An `.aggregate` branch whose partial groups are keyed by stored values: the
    /// merger computes each row's newest key from them first.
    var rawKey: RawGroupKey? = nil
}

extension QueryPlan {
    /// The plan as a document, shaped like MongoDB's sharded explain.
    public var explainDocument: Document {
        var d = Document()
        d["collection"] = .string(collection)
        d["mode"] = .string(mode.rawValue)
        d["reason"] = .string(reason)
        if mode == .facets {
            d["facets"] = .document(Document(facets.map { ($0.name, .document($0.plan.explainDocument)) }))
        } else {
            d["shards"] = .array(branches.map { .document($0.explainDocument) })
        }
        var merger = Document()
        if let group {
            merger["mergeGroups"] = .document(Document([
                ("_id", group.key.bson),
            ] + group.accumulators.map { ($0.name, $0.spec.bson) }))
        }
        if let mergeSort { merger["mergeSortedStreams"] = mergeSort.bson } else if mode == .recordOrder {
            merger["stream"] = "one fetch over every version, in the server's order"
        }
        merger["pipeline"] = .array(mergerStages)
        d["merger"] = .document(merger)
        d["unknownVersionProbe"] = .document(unknownVersionFilter)
        if !withSumWidths.isEmpty {
            d["sumTypes"] = "partial $sums carry no input type; if a slice's sum overflowed int32 yet the total fits, the query runs again with types"
        }
        return d
    }
}

extension Branch {
    /// The aggregation pipeline, when the branch runs one.
    var serverPipeline: [BSON]? {
        if case .aggregate(let p) = command { return p }
        return nil
    }

    var explainDocument: Document {
        var d = Document()
        d["versions"] = .array(versions.map { .int32(Int32($0)) })
        d["strategy"] = .string(strategy.rawValue)
        switch command {
        case .aggregate(let p): d["aggregate"] = .array(p)
        case .documents(let p): d["fetch"] = .array(p)
        case .none: break
        }
        if !swiftStages.isEmpty { d["swiftStages"] = .array(swiftStages) }
        if let note { d["note"] = .string(note) }
        if let rawKey { d["mergerKeyFromStoredValues"] = rawKey.key.bson }
        return d
    }
}
