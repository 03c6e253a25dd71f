import StrataEvaluator

/// The plan as the passes build it (`Planner.passes`): each pass reads what earlier
/// passes decided and adds its own part; `plan()` turns the finished draft into a
/// `QueryPlan`.
struct PlanDraft {
    /// What the planner chose to do with the pipeline (`ChooseStrategy`).
    enum Choice {
        /// Each facet of the `$facet` at this index is planned on its own.
        case facets(at: Int)
        /// The group at this index is split per version; `split` merges the partial rows.
        case partialGroups(at: Int, group: GroupPlan, split: GroupSplit)
        /// The documents stream in order and the pipeline runs in Swift.
        case recordOrder
        /// The `$sample` at this index (after the leading `$match` stages, or first) draws
        /// `size` documents uniformly over every version (`ChooseSample`).
        case sample(at: Int, size: Int64)
    }

    let stages: [PipelineStage]
    let collection: String

    /// The leading `$match` stages, their conjunction, and its rewrite at each known
    /// version, in `Lens.knownVersions` order (`TranslateLeadingFilter`).
    var leading: ArraySlice<PipelineStage> = []
    var filter: Query = .and([])
    var rewrites: [MatchRewrite] = []

    /// The first stage that joins a collection with a lens of its own, and that collection
    /// (`VersionedJoins`): it and what follows run in Swift.
    var versionedJoin: (at: Int, from: String)?

    var choice: Choice?
    /// Why, for explain.
    var reason = ""

    /// The branches, as the passes have them so far.
    var branches: [Branch] = []
    /// Partial groups: the same plan with `$sum` widths.
    var withSumWidths: [QueryPlan.PartialGroups] = []
    /// Partial groups: the branches return them sorted by key, merged as streams.
    var streamedMerge = false
    /// Record order: the unique sort the branches return their documents in.
    var mergeSort: SortPattern?
    /// Record order: the index of the one fetch over every version (`OneFetch`), which
    /// `ProjectFetch` may project.
    var oneFetch: Int?
    /// Facets: one plan per facet.
    var facets: [(name: String, plan: QueryPlan)] = []
    /// The newest fields the pipeline reads (`FieldsRead`).
    var readsFields: Set<String>?
    /// Sample: the versions whose matching documents only Swift can tell (`SampleBranches`).
    var sampledInSwift: Set<Int> = []

    init(stages: [PipelineStage], collection: String) {
        self.stages = stages
        self.collection = collection
    }

    /// The stages after the leading `$match` stages.
    var afterLeading: ArraySlice<PipelineStage> { stages.dropFirst(leading.count) }

    /// The partial groups as planned so far.
    var partialGroups: QueryPlan.PartialGroups? {
        guard case .partialGroups(let b, let group, let split)? = choice else { return nil }
        return .init(branches: branches, group: group, split: split, mergerStages: group.post + stages[(b + 1)...],
                     withSumWidths: withSumWidths, streamedMerge: streamedMerge)
    }

    /// The finished plan.
    func plan(unknownVersionFilter: Document) -> QueryPlan {
        let strategy: QueryPlan.Strategy
        if let p = partialGroups {
            strategy = .partialGroups(p)
        } else if case .facets(let b)? = choice {
            strategy = .facets(.init(facets: facets, mergerStages: Array(stages[(b + 1)...])))
        } else if case .sample(let at, let size)? = choice {
            strategy = .sample(.init(branches: branches, sampledInSwift: sampledInSwift, size: size, location: stages[at].location,
                                     mergerStages: Array(stages[(at + 1)...])))
        } else {
            strategy = .recordOrder(.init(branches: branches, mergeSort: mergeSort, mergerStages: stages))
        }
        var plan = QueryPlan(collection: collection, strategy: strategy, reason: reason, unknownVersionFilter: unknownVersionFilter)
        plan.readsFields = readsFields
        plan.joinsVersioned = versionedJoin != nil
        return plan
    }
}
