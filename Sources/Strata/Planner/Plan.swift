import StrataBSON
import StrataEvaluator

/// What strata will run for one logical query: per-version branches on the server (the
/// "shards part") and a merge in Swift (the "merger part"), like MongoDB's explain of a
/// sharded aggregation. Each strategy carries exactly what it needs, over parsed stages:
/// stages become BSON only when they are sent (the branches' commands) or explained.
public struct QueryPlan: Sendable {
    public enum Strategy: Sendable {
        /// Each branch groups partially on the server; the merger combines groups.
        case partialGroups(PartialGroups)
        /// The documents stream in order (one find over every version, or sorted streams
        /// merged on a unique key); the pipeline runs in Swift.
        case recordOrder(RecordOrder)
        /// Each facet is planned on its own.
        case facets(Facets)
        /// A uniform `$sample` over every version: exact per-version counts, a
        /// multivariate hypergeometric split of the draws, a choice within each version.
        case sample(Sample)
    }

    /// The group split like a sharded `$group`: per-version partial groups, merged.
    public struct PartialGroups: Sendable {
        public let branches: [Branch]
        /// The group being merged (over the newest schema).
        let group: GroupPlan
        /// The split whose merger combines the branches' partial rows.
        let split: GroupSplit
        /// Run in Swift on the merged groups: the group's own merging stages, then the rest.
        public let mergerStages: [PipelineStage]
        /// With untracked `$sum`s: the same plan with every partial `$sum` shipping its
        /// widest input type (zero or one plan). The runner runs it only when the merger
        /// finds a result type ambiguous (`GroupMerger.sumTypeAmbiguous`).
        public let withSumWidths: [PartialGroups]
        /// The branches return their partial groups sorted by key and the merger merges
        /// them as streams (`StreamedGroupMerger`), holding one group per branch
        /// (`PlannerPass.sortedPartialGroups`).
        public internal(set) var streamedMerge = false
    }

    /// Documents in record order (or merged from sorted streams), the pipeline in Swift.
    public struct RecordOrder: Sendable {
        public let branches: [Branch]
        /// The unique sort the branches return their documents in (nil: one stream).
        public let mergeSort: SortPattern?
        /// The whole pipeline, run in Swift over the merged documents.
        public let mergerStages: [PipelineStage]
    }

    /// One plan per facet, and the stages after the `$facet`.
    public struct Facets: Sendable {
        public let facets: [(name: String, plan: QueryPlan)]
        public let mergerStages: [PipelineStage]
    }

    public let collection: String
    public let strategy: Strategy
    /// Why this strategy was chosen, for explain.
    public let reason: String
    /// The filter that finds documents at versions the lens does not know.
    public let unknownVersionFilter: Document
    /// The top-level fields of the newest schema the pipeline reads (nil: whole documents).
    /// A Swift upgrade that fails on a document is retried on just the stored fields these
    /// come from: a failure elsewhere in the document does not concern this query, and a
    /// server plan that computes only these fields never meets it either.
    public var readsFields: Set<String>? = nil
    /// The plan joins a collection with a lens of its own (`versioned-joins`): its reads of
    /// that collection are more commands, which must see the same state as the scan.
    public internal(set) var joinsVersioned = false

    public enum Mode: String, Sendable {
        case partialGroups, recordOrder, facets, sample
    }

    /// The strategy's name (explain's "mode").
    public var mode: Mode {
        switch strategy {
        case .partialGroups: return .partialGroups
        case .recordOrder: return .recordOrder
        case .facets: return .facets
        case .sample: return .sample
        }
    }

    /// The branches this plan runs on the server (none for facets: each facet has its own).
    public var branches: [Branch] {
        switch strategy {
        case .partialGroups(let p): return p.branches
        case .recordOrder(let r): return r.branches
        case .sample(let s): return s.branches
        case .facets: return []
        }
    }

    /// Every version some branch reads, facets included.
    var versionsRead: Set<Int> {
        switch strategy {
        case .facets(let f): return f.facets.reduce(into: []) { $0.formUnion($1.plan.versionsRead) }
        default: return Set(branches.flatMap(\.versions))
        }
    }
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
    public internal(set) var command: Command
    /// Stages run in Swift on the upgraded documents of a `.documents` branch before they
    /// reach the merger (partial-group mode: the stages before the group, and the group).
    public let swiftStages: [PipelineStage]
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
        var merger = Document()
        switch strategy {
        case .facets(let f):
            d["facets"] = .document(Document(f.facets.map { ($0.name, .document($0.plan.explainDocument)) }))
            merger["pipeline"] = .array(f.mergerStages.map(\.bson))
        case .partialGroups(let p):
            d["shards"] = .array(p.branches.map { .document($0.explainDocument) })
            merger[p.streamedMerge ? "mergeSortedGroups" : "mergeGroups"] =
                .document(Document([("_id", p.group.key.bson)] + p.group.accumulators.map { ($0.name, $0.spec.bson) }))
            merger["pipeline"] = .array(p.mergerStages.map(\.bson))
        case .recordOrder(let r):
            d["shards"] = .array(r.branches.map { .document($0.explainDocument) })
            if let s = r.mergeSort {
                merger["mergeSortedStreams"] = s.bson
            } else {
                merger["stream"] = "one fetch over every version, in the server's order"
            }
            merger["pipeline"] = .array(r.mergerStages.map(\.bson))
        case .sample(let s):
            d["shards"] = .array(s.branches.map { .document($0.explainDocument) })
            merger = s.explainMerger
        }
        d["merger"] = .document(merger)
        d["unknownVersionProbe"] = .document(unknownVersionFilter)
        if case .partialGroups(let p) = strategy, !p.withSumWidths.isEmpty {
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
        if !swiftStages.isEmpty { d["swiftStages"] = .array(swiftStages.map(\.bson)) }
        if let note { d["note"] = .string(note) }
        if let rawKey { d["mergerKeyFromStoredValues"] = rawKey.key.bson }
        return d
    }
}
