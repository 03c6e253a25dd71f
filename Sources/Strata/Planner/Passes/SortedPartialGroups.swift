import StrataBSON
import StrataEvaluator

extension PlannerPass {
    /// Partial groups from two or more branches are requested sorted by key
    /// (`{$sort: {_id: 1}}` after each branch's partial `$group`) and merged as streams
    /// (`StreamedGroupMerger`): the merger holds one group per branch instead of every group,
    /// as MongoDB's merger holds one document per shard of sorted streams. A branch whose
    /// keys are stored values the merger maps to newest keys (`rawKey`) is not sorted on the
    /// server (the mapping need not keep the order): the runner sorts its rows in Swift, as
    /// it does a `.documents` branch's. The plan with `$sum` widths gets the same.
    static let sortedPartialGroups = PlannerPass(name: "sorted-partial-groups") { draft, _ in
        guard let groups = draft.partialGroups, let sorted = Self.sortedForStreaming(draft.branches, key: groups.group.key) else { return }
        draft.branches = sorted
        draft.streamedMerge = true
        draft.withSumWidths = draft.withSumWidths.map { widths in
            guard let sorted = Self.sortedForStreaming(widths.branches, key: widths.group.key) else { return widths }
            var streamed = QueryPlan.PartialGroups(branches: sorted, group: widths.group, split: widths.split,
                                                   mergerStages: widths.mergerStages, withSumWidths: widths.withSumWidths)
            streamed.streamedMerge = true
            return streamed
        }
    }

    /// The branches with their partial groups sorted by key on the server; nil when fewer
    /// than two branches run or none could sort on the server. A constant key gives one row
    /// per branch, which needs no sort.
    static func sortedForStreaming(_ branches: [Branch], key: Expr) -> [Branch]? {
        let running = branches.filter { if case .none = $0.command { return false } else { return true } }
        let sortable = running.filter { if case .aggregate = $0.command { return $0.rawKey == nil } else { return false } }
        guard running.count >= 2, !sortable.isEmpty else { return nil }
        return branches.map { b in
            guard case .aggregate(let pipeline) = b.command, b.rawKey == nil else { return b }
            if case .literal = key { return b }
            var sorted = b
            sorted.command = .aggregate(pipeline + [["$sort": ["_id": 1]]])
            return sorted
        }
    }
}
