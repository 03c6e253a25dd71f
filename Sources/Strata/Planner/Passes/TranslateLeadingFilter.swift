import StrataEvaluator

extension PlannerPass {
    /// The leading `$match` stages, as one filter, rewritten for each known version
    /// (`MatchRule`): what the server can filter on, exactly or as a superset, and the
    /// versions at which nothing matches.
    static let translateLeadingFilter = PlannerPass(name: "translate-leading-filter") { draft, planner in
        draft.leading = draft.stages.prefix { $0.name == "$match" }
        draft.filter = try MatchStages.query(draft.leading)
        draft.rewrites = planner.lens.knownVersions.map {
            MatchRule.rewrite(draft.filter, in: VersionScope(lens: planner.lens, version: $0))
        }
    }
}
