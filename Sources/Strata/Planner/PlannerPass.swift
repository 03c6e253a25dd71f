import StrataEvaluator

/// One step of planning, with the one signature every pass has (sqlglot's optimizer
/// rules): it reads the draft and the planner's settings and refines the draft. A pass
/// that does not concern the draft's strategy leaves it as it is. The passes and their
/// order are `Planner.passes`; each has a fixture file of titled cases
/// (`Tests/StrataTests/Fixtures/passes/<name>.json`).
struct PlannerPass: Sendable {
    /// The pass's name: its fixture file, and what explain calls it.
    let name: String
    let run: @Sendable (_ draft: inout PlanDraft, _ planner: Planner) throws -> Void
}

extension Planner {
    /// The passes, in the order they run.
    static let passes: [PlannerPass] = [
        .versionedJoins,
        .translateLeadingFilter,
        .chooseSample,
        .chooseStrategy,
        .planFacets,
        .partialGroupBranches,
        .shareBranches,
        .sumWidths,
        .sortedPartialGroups,
        .sampleBranches,
        .sortedStreams,
        .oneFetch,
        .projectFetch,
        .fieldsRead,
    ]

    /// The passes for a server without a consistent read across commands: one cursor.
    static let singleCursorPasses: [PlannerPass] = [
        .versionedJoins,
        .singleCursor,
        .projectFetch,
        .fieldsRead,
    ]

    /// A draft for `stages` through `passes` (the first `count` of them, for the pass fixtures).
    func draft(_ stages: [PipelineStage], collection: String, passes: [PlannerPass] = Planner.passes) throws -> PlanDraft {
        var draft = PlanDraft(stages: stages, collection: collection)
        for pass in passes { try pass.run(&draft, self) }
        return draft
    }

    /// The plan for `stages` through every pass.
    func planStages(_ stages: [PipelineStage], collection: String, passes: [PlannerPass] = Planner.passes) throws -> QueryPlan {
        try draft(stages, collection: collection, passes: passes).plan(unknownVersionFilter: lens.filterForUnknownVersions)
    }
}
