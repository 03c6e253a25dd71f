import StrataEvaluator

extension PlannerPass {
    /// Each facet of a `$facet` is the stages before it followed by the facet's own,
    /// planned through every pass on its own; the merger builds the one document.
    static let planFacets = PlannerPass(name: "plan-facets") { draft, planner in
        guard case .facets(let b)? = draft.choice else { return }
        let before = Array(draft.stages[..<b])
        draft.facets = try PipelineStages.facets(of: draft.stages[b]).map { name, sub in
            (name, try planner.planStages(before + sub, collection: draft.collection))
        }
    }
}
