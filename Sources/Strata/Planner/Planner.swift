import StrataBSON
import StrataEvaluator

/// Plans a logical pipeline (written for the newest schema) over a collection
/// whose documents sit at several versions: a draft goes through `Planner.passes` in
/// order (PlannerPass.swift, one file per pass under Passes/), then becomes a
/// `QueryPlan`. The passes use the per-version rules under Rules/: `MatchRule`
/// translates filters, `GroupRule` partial groups, `SortRule` sorts,
/// `MaterializeRule` computes needed fields, `IndexShapeRule` shapes a branch's
/// leading stages for an index, `Dependencies` says what a pipeline reads.
public struct Planner: Sendable {
    public let lens: Lens
    /// Collections that have lenses of their own (a `$lookup` into one is refused).
    public let versionedCollections: Set<String>
    /// Version filters that stay exact even with arrays or nulls in the version field
    /// (used when documents at unknown versions exist and are being left out).
    public let strictVersionFilters: Bool
    /// Partial `$sum`s ship the widest type of their inputs (see `GroupSplit`). Off by
    /// default: a partial-group plan then carries a second plan with widths, which the
    /// runner uses only when the merged types are ambiguous.
    public internal(set) var trackSumWidth: Bool
    /// The server's costs, where they change the best plan: whether pipelines that read
    /// every document stream their needed fields to Swift instead of grouping per
    /// version on the server, and whether sorts are better done per version.
    public let profile: ServerProfile
    /// The collection's indexes (`indexes`, as `listIndexes` lists them; without them,
    /// those `strata index` creates for the lens), which shape the branches' filters.
    let indexCandidates: [IndexShapeRule.Candidate]

    public init(lens: Lens, versionedCollections: Set<String> = [], strictVersionFilters: Bool = false,
                trackSumWidth: Bool = false, profile: ServerProfile = .mongod, indexes: [Document]? = nil) {
        self.lens = lens
        self.versionedCollections = versionedCollections
        self.strictVersionFilters = strictVersionFilters
        self.trackSumWidth = trackSumWidth
        self.profile = profile
        self.indexCandidates = indexes.map { IndexShapeRule.candidates(fromIndexes: $0, versionField: lens.versionField) }
            ?? IndexShapeRule.candidates(LensIndexPlan(lens: lens))
    }

    /// A branch's leading `$match` stages: the pushed-down conjuncts and the version
    /// filter (nil: none needed), shaped for the index that serves them.
    func leadingStages(_ versions: [Int], pushdown: [Query], versionFilter: Document?) -> [BSON] {
        IndexShapeRule.leadingStages(versions: versions, pushdown: pushdown, versionFilter: versionFilter, lens: lens,
                                     candidates: indexCandidates, strict: strictVersionFilters)
    }

    /// A full scan that streams well on this server: no index serves the leading filter
    /// at any version (so the server would read every document anyway), and nothing asks
    /// the server once per document (`$lookup`, a lens `lookup`).
    func streamsAsFullScan(_ draft: PlanDraft) -> Bool {
        guard mayStream(draft.stages) else { return false }
        guard !draft.leading.isEmpty else { return true }
        return !anIndexServes(draft.rewrites)
    }

    /// This server streams full scans, and nothing asks the server once per document.
    func mayStream(_ stages: [PipelineStage]) -> Bool {
        guard profile.streamsFullScans else { return false }
        let perDocument: Set<String> = ["$lookup", "$graphLookup", "$unionWith", "$facet"]
        if stages.contains(where: { perDocument.contains($0.name) }) { return false }
        return !lens.steps.flatMap(\.operations).contains(where: { $0 is LookupOperation })
    }

    /// Whether an index (of the server's, else of the lens's plan) serves some pushed-down
    /// conjunct at some version; `rewrites` are the leading filter's, one per known version.
    func anIndexServes(_ rewrites: [MatchRewrite]) -> Bool {
        zip(lens.knownVersions, rewrites).contains { v, r in
            !r.alwaysFalse && IndexShapeRule.best(indexCandidates, for: r.pushdown.flatMap(IndexShapeRule.flatten), versions: [v]) != nil
        }
    }

    func versionFilter(_ version: Int) -> Document { lens.filter(forVersion: version, strict: strictVersionFilters) }
    func versionFilter(_ versions: [Int]) -> Document { lens.filter(forVersions: versions, strict: strictVersionFilters) }

    /// The plan for `spec` (its pipeline parsed, then planned).
    public func plan(_ spec: QuerySpec) throws -> QueryPlan {
        try plan(try ParsedQuery(spec))
    }

    /// The plan for a parsed query: every pass, in order.
    public func plan(_ query: ParsedQuery) throws -> QueryPlan {
        try planStages(query.stages, collection: query.collection)
    }

    /// The plan for a server that offers no consistent read across commands (a
    /// standalone): one cursor over the collection (`PlannerPass.singleCursor`).
    public func planSingleCursor(_ query: ParsedQuery) throws -> QueryPlan {
        try planStages(query.stages, collection: query.collection, passes: Planner.singleCursorPasses)
    }


    /// The top-level newest fields the pipeline reads, nil for whole documents.
    func readFields(_ stages: [PipelineStage]) -> Set<String>? {
        guard case .fields(let f) = Dependencies.of(stages.map(\.parsed)) else { return nil }
        return f.union(["_id"])
    }

    // MARK: branches

    /// The partial-group branch for the documents stored at `versions`, translated for
    /// `scope`'s version (the same for each of them when they share a branch); `mr` is the
    /// leading filter's rewrite at that version.
    func partialGroupBranch(_ scope: VersionScope, versions: [Int], rewrite mr: MatchRewrite, prefix: [PipelineStage],
                            blocking: PipelineStage, group: GroupPlan, split: GroupSplit) throws -> Branch {
        let leading = prefix.prefix { $0.name == "$match" }
        let rest = Array(prefix.dropFirst(leading.count))
        if mr.alwaysFalse {
            return Branch(versions: versions, strategy: .empty, command: .none, swiftStages: [],
                          note: "the filter is false for every document stored at this version")
        }
        let fetch = leadingStages(versions, pushdown: mr.pushdown, versionFilter: versionFilter(versions))
        // Reading stored documents without the upgrade stages, the branch checks what the
        // upgrade would: documents an `onError: "skip"` leaves out, guards of the operations
        // that decide what the query reads (`Lens.serverChecks`); nil: only the upgrade can.
        let checks = serverChecks(versions, reads: Dependencies.of(prefix.map(\.parsed) + [blocking.parsed]))
        var server: [BSON] = fetch + (checks ?? []) + MatchStages.temporaryStages(mr, versionGuard: lens.versionExpression(forVersions: versions))

        if checks != nil && !mr.needsUpgradedDocuments && rest.isEmpty {
            var lookups: [LookupPrerequisite] = []
            let partial = GroupRule.partial(group, trackSumWidth: trackSumWidth, translate: { e in
                guard let t = scope.translate(e) else { return nil }
                for l in t.lookups where !lookups.contains(l) { lookups.append(l) }
                return t.expr
            }, translateSort: { SortRule.translate($0, in: scope) })
            if let partial {
                server += lookups.map(\.stage) + [partial.stage]
                return Branch(versions: versions, strategy: .translated, command: .aggregate(server), swiftStages: [], note: nil,
                              rawKey: partial.rawKey)
            }
        }
        // The stages after the translated filter run on newest-shaped documents.
        let after = (mr.needsUpgradedDocuments ? Array(leading) : []) + rest
        let untranslated: BSON = ["$group": .document(split.partialGroup)]
        let deps = Dependencies.of(after.map(\.parsed) + [blocking.parsed])
        if checks != nil, case .fields(let fields) = deps, let m = MaterializeRule.project(fields, in: scope) {
            server += m + after.map(\.bson) + [untranslated]
            return Branch(versions: versions, strategy: .materialized, command: .aggregate(server), swiftStages: [],
                          note: "computes \(fields.union(["_id"]).sorted().joined(separator: ", ")) of the newest schema")
        }
        if let upgrade = lens.serverUpgradeStages(from: scope.version) {
            // Only the stored fields the rest reads go through the upgrade: a document that
            // cannot be upgraded elsewhere does not fail this query (as with the other plans).
            if case .fields(let fields) = deps, let stored = storedInputs(fields, versions: versions) {
                server.append(["$project": .document(stored)])
            }
            server += upgrade + after.map(\.bson) + [untranslated]
            return Branch(versions: versions, strategy: .serverUpgrade, command: .aggregate(server), swiftStages: [],
                          note: MaterializeRule.whyNot(deps, in: scope))
        }
        let obstacle = lens.serverUpgradeObstacle(from: scope.version)
        return Branch(versions: versions, strategy: .swiftUpgrade,
                      command: .documents(fetch),
                      swiftStages: prefix + (try PipelineStages.parse([untranslated], at: blocking.location)),
                      note: obstacle.map { "\($0.name) at \($0.location) runs only in Swift" })
    }

    /// The stored fields to fetch so that the upgraded documents are right wherever the
    /// pipeline reads them (`Dependencies`, traced back through the lens by
    /// `UpgradeInputs`); nil when the pipeline needs whole documents.
    func fetchProjection(_ stages: [PipelineStage], versions: [Int]) -> Document? {
        guard case .fields(let fields) = Dependencies.of(stages.map(\.parsed)) else { return nil }
        return storedInputs(fields, versions: versions)
    }

    /// `Lens.serverChecks` for a branch over `versions` reading `reads`; nil when a check
    /// cannot be written over the stored documents or the versions need different ones.
    func serverChecks(_ versions: [Int], reads: Dependencies) -> [BSON]? {
        var paths: Set<[String]>?
        if case .fields(let f) = reads { paths = Set(f.map { [$0] } + [["_id"]]) }
        let each = versions.map { lens.serverChecks(forVersion: $0, reads: paths) }
        guard let first = each.first, let checks = first, each.allSatisfy({ $0 == checks }) else { return nil }
        return checks
    }

    /// The projection of the stored fields `fields` (of the newest schema) come from at `versions`.
    func storedInputs(_ fields: Set<String>, versions: [Int]) -> Document? {
        var stored: Set<[String]> = []
        for v in versions {
            guard let s = UpgradeInputs.storedPaths(lens, newest: Set(fields.map { [$0] } + [["_id"]]), version: v) else { return nil }
            stored.formUnion(s)
        }
        return UpgradeInputs.inclusion(stored)
    }

    /// One `$match` for versions with different pushed-down filters: one arm per distinct
    /// pushdown, over the versions that share it.
    func unionOfArms(_ each: [(pushdown: [Query], version: Int)]) -> BSON {
        var arms: [(pushdown: [Query], versions: [Int])] = []
        for (pushdown, version) in each {
            if let k = arms.firstIndex(where: { $0.pushdown == pushdown }) {
                arms[k].versions.append(version)
            } else {
                arms.append((pushdown, [version]))
            }
        }
        let filters = arms.map { MatchStages.firstMatch(version: versionFilter($0.versions), pushdown: $0.pushdown) }
        return filters.count == 1 ? .document(filters[0]) : ["$or": .array(filters.map { .document($0) })]
    }

    /// Paths whose values are unique per document: `_id` and single-key unique indexes of the lens.
    var uniquePaths: Set<[String]> {
        var out: Set<[String]> = [["_id"]]
        for i in lens.indexes where i.unique && i.keys.count == 1 { out.insert(Query.components(i.keys.keys[0])) }
        return out
    }
}

/// Helpers for the leading `$match` stages of a pipeline.
enum MatchStages {
    /// The conjunction of the stages' filters.
    static func query(_ stages: some Collection<PipelineStage>) throws -> Query {
        let qs = try stages.map { s -> Query in
            guard case .match(let q) = s.parsed else {
                throw StrataError.badInput("the match filter must be an expression in an object", at: s.location)
            }
            return q
        }
        return qs.count == 1 ? qs[0] : .and(qs)
    }

    /// The branch's filter as one document: the version filter and the pushed-down conjuncts.
    /// Side by side where no two share a key (`{v: 1, "amount.value": {$gt: 0}}`): SecantusDB
    /// evaluates an `$or` of such arms in half the time of an `$or` of `$and`s.
    static func firstMatch(version: Document, pushdown: [Query]) -> Document {
        if pushdown.isEmpty { return version }
        return conjunction(documents: [version] + pushdown.map(\.bson))
    }

    /// The same as aggregation stages: the pushed-down conjuncts first, alone, then the
    /// version filter. A server that picks an index only when it covers every field of
    /// the filter (SecantusDB) can then use an index on the stored paths; mongod
    /// coalesces adjacent `$match` stages and plans them as one.
    static func leadingStages(version: Document, pushdown: [Query]) -> [BSON] {
        guard !pushdown.isEmpty else { return [["$match": .document(version)]] }
        return [["$match": .document(conjunction(pushdown))], ["$match": .document(version)]]
    }

    /// One filter document for conjuncts: their fields side by side when no two share a
    /// top-level key and none is an operator (`{a: 1, b: 2}`: SecantusDB plans an
    /// `$and` of the same without its compound indexes), else `$and`.
    static func conjunction(_ qs: [Query]) -> Document { conjunction(documents: qs.map(\.bson)) }

    static func conjunction(documents docs: [Document]) -> Document {
        if docs.count == 1 { return docs[0] }
        var merged = Document()
        for d in docs {
            for (k, v) in d {
                if k.hasPrefix("$") || merged[k] != nil { return ["$and": .array(docs.map { .document($0) })] }
                merged.append(k, v)
            }
        }
        return merged
    }

    /// Temporaries, the exact predicate over them, and their cleanup.
    static func temporaryStages(_ mr: MatchRewrite, versionGuard: Expr) -> [BSON] {
        guard !mr.temporaries.isEmpty || !mr.exact.isEmpty else { return [] }
        let exact = MatchRule.guarded(mr.exact.count == 1 ? mr.exact[0] : .and(mr.exact), version: versionGuard)
        var stages = mr.temporaries.stages
        stages.append(["$match": .document(exact.bson)])
        let cleanup = mr.temporaries.cleanupNames
        if !cleanup.isEmpty { stages.append(["$unset": .array(cleanup.map { .string($0) })]) }
        return stages
    }
}
