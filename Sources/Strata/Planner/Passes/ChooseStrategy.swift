import StrataEvaluator

extension PlannerPass {
    /// The strategy, from the first blocking stage's distributed plan
    /// (`Stage.distributedPlan`):
    /// - `$facet`: each facet is planned on its own;
    /// - a group (`$group`, `$count`, `$sortByCount`, `$bucket`) whose accumulators merge in
    ///   any order: per-version partial groups merged in Swift, unless this server is
    ///   faster streaming a full scan's fields to Swift;
    /// - anything else: the documents in record order, the pipeline in Swift; so too when a
    ///   join into a versioned collection comes before the blocking stage.
    /// A strategy an earlier pass chose (`choose-sample`) stands.
    static let chooseStrategy = PlannerPass(name: "choose-strategy") { draft, planner in
        guard draft.choice == nil else { return }
        let stages = draft.stages
        let blocking = stages.firstIndex(where: \.isBlocking)
        if let join = draft.versionedJoin, join.at < (blocking ?? stages.count) || (join.at == blocking && stages[join.at].name != "$facet") {
            draft.choice = .recordOrder
            draft.reason = "\(stages[join.at].name) at \(stages[join.at].location) joins '\(join.from)', which has a lens of its own: "
                + "the join runs in Swift on upgraded documents, reading '\(join.from)' as if migrated"
            return
        }
        guard let b = blocking else {
            draft.choice = .recordOrder
            draft.reason = "no blocking stage: the documents themselves are the result, in natural order"
            return
        }
        if stages[b].name == "$facet" {
            draft.choice = .facets(at: b)
            draft.reason = "$facet at \(stages[b].location): each facet is planned on its own"
            return
        }
        guard let group = try GroupPlan.make(stages[b]) else {
            draft.choice = .recordOrder
            draft.reason = "\(stages[b].name) at \(stages[b].location) needs every document in order"
            return
        }
        if !group.isOrderInsensitive {
            draft.choice = .recordOrder
            draft.reason = "\(group.orderSensitiveOperators.joined(separator: ", ")) depend on the input order, which only record order gives exactly"
        } else if planner.streamsAsFullScan(draft) {
            draft.choice = .recordOrder
            draft.reason = "a full scan: this server (\(planner.profile)) is faster at sending the needed fields than at grouping them per version"
        } else {
            draft.choice = .partialGroups(at: b, group: group, split: try GroupRule.mergeSplit(group, trackSumWidth: planner.trackSumWidth))
            draft.reason = "\(stages[b].name) at \(stages[b].location) merges from partial groups"
        }
    }
}
