import StrataEvaluator

extension PlannerPass {
    /// A join into a collection that has a lens of its own (`$lookup`, `$graphLookup`,
    /// `$unionWith`, at any depth) would read its documents as stored: refused.
    static let refuseVersionedJoins = PlannerPass(name: "refuse-versioned-joins") { draft, planner in
        try planner.checkLookups(draft.stages.map(\.parsed), at: draft.stages.map(\.location))
    }
}

extension Planner {
    /// Refuses a join into a collection that has a lens of its own, at any depth.
    func checkLookups(_ stages: [Stage], at locations: [Location]) throws {
        for (s, loc) in zip(stages, locations) {
            var into: String?
            var subPipelines: [(Pipeline, Location)] = []
            switch s {
            case .lookup(let l):
                into = l.from
                if let p = l.pipeline { subPipelines.append((p, loc.appending("pipeline"))) }
            case .graphLookup(let g):
                into = g.from
            case .unionWith(let u):
                into = u.coll
                if let p = u.pipeline { subPipelines.append((p, loc.appending("pipeline"))) }
            case .facet(let f):
                subPipelines = f.pipelines.map { ($0.1, loc.appending($0.0)) }
            default:
                break
            }
            if let from = into, versionedCollections.contains(from) {
                throw StrataError.unsupported("\(s.name) into '\(from)', which is itself versioned, is not supported (its documents would need upgrading too)",
                                              at: loc.appending("from"))
            }
            for (p, l) in subPipelines {
                try checkLookups(p.stages, at: p.stages.enumerated().map { l.appending(index: $0.offset).appending($0.element.name) })
            }
        }
    }
}
