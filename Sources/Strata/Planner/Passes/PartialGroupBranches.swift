import StrataEvaluator

extension PlannerPass {
    /// Partial groups: one branch per known version, the cheapest that is exact
    /// (`Planner.partialGroupBranch`): nothing when the filter is false there; the group
    /// translated to the stored shape; the newest fields it reads computed on the server;
    /// the lens's upgrade stages on the server; or the documents upgraded in Swift.
    static let partialGroupBranches = PlannerPass(name: "partial-group-branches") { draft, planner in
        guard case .partialGroups(let b, let group, let split)? = draft.choice else { return }
        draft.branches = try planner.lens.knownVersions.enumerated().map { i, version in
            try planner.partialGroupBranch(VersionScope(lens: planner.lens, version: version), versions: [version],
                                           rewrite: draft.rewrites[i], prefix: Array(draft.stages[..<b]), blocking: draft.stages[b],
                                           group: group, split: split)
        }
    }

    /// Consecutive versions whose translated or materialised branches are the same but for
    /// the version filter share one branch (`{v: {$in: [1, 2]}}`): one command fewer.
    static let shareBranches = PlannerPass(name: "share-branches") { draft, planner in
        guard case .partialGroups(let b, let group, let split)? = draft.choice else { return }
        let versions = Array(planner.lens.knownVersions)
        func branch(_ version: Int, _ together: [Int]) throws -> Branch {
            try planner.partialGroupBranch(VersionScope(lens: planner.lens, version: version), versions: together,
                                           rewrite: draft.rewrites[versions.firstIndex(of: version)!], prefix: Array(draft.stages[..<b]),
                                           blocking: draft.stages[b], group: group, split: split)
        }
        var shared: [Branch] = []
        for single in draft.branches {
            if let last = shared.last, last.strategy == .translated || last.strategy == .materialized {
                let together = last.versions + single.versions
                let first = try branch(last.versions[0], together)
                let this = try branch(single.versions[0], together)
                if first.strategy == last.strategy, this.strategy == last.strategy, first.serverPipeline == this.serverPipeline,
                   first.rawKey == this.rawKey {
                    shared[shared.count - 1] = first
                    continue
                }
            }
            shared.append(single)
        }
        draft.branches = shared
    }

    /// With partial `$sum`s that carry no input type (`GroupSplit`), the same partial
    /// groups with every `$sum` shipping its widest input type, which the runner uses only
    /// when the merged result type is ambiguous (a slice overflowed, the total did not).
    static let sumWidths = PlannerPass(name: "sum-widths") { draft, planner in
        guard case .partialGroups(let b, let group, let split)? = draft.choice, !split.untrackedSums.isEmpty else { return }
        var tracking = planner
        tracking.trackSumWidth = true
        var widths = draft
        widths.choice = .partialGroups(at: b, group: group, split: try GroupRule.mergeSplit(group, trackSumWidth: true))
        try PlannerPass.partialGroupBranches.run(&widths, tracking)
        try PlannerPass.shareBranches.run(&widths, tracking)
        draft.withSumWidths = widths.partialGroups.map { [$0] } ?? []
    }
}
