import StrataEvaluator

extension PlannerPass {
    /// Finds the first stage that joins a collection with a lens of its own (`$lookup`,
    /// `$graphLookup`, `$unionWith`, at any depth of its sub-pipelines). Such a join reads
    /// the foreign collection as if migrated (`Joins`), which only Swift can do: the server
    /// would read the foreign documents as stored. `choose-strategy` then runs that stage,
    /// and what follows it, in Swift.
    static let versionedJoins = PlannerPass(name: "versioned-joins") { draft, planner in
        for (i, stage) in draft.stages.enumerated() {
            if let from = planner.versionedJoin(in: stage.parsed) {
                draft.versionedJoin = (at: i, from: from)
                return
            }
        }
    }
}

extension Planner {
    /// The versioned collection `stage` joins, at any depth, if any.
    func versionedJoin(in stage: Stage) -> String? {
        var into: String?
        var subPipelines: [Pipeline] = []
        switch stage {
        case .lookup(let l):
            into = l.from
            if let p = l.pipeline { subPipelines.append(p) }
        case .graphLookup(let g):
            into = g.from
        case .unionWith(let u):
            into = u.coll
            if let p = u.pipeline { subPipelines.append(p) }
        case .facet(let f):
            subPipelines = f.pipelines.map(\.1)
        default:
            break
        }
        if let from = into, versionedCollections.contains(from) { return from }
        for p in subPipelines {
            for s in p.stages { if let from = versionedJoin(in: s) { return from } }
        }
        return nil
    }
}
