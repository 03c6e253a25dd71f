import StrataEvaluator

// Documents in order: the result is the documents themselves (or needs all of them in
// order). Without a sort that a unique key makes total, one `find` whose filter is the
// union of every version's translated filter returns the documents in the order a scan
// of the migrated collection would (the server's order for an unsorted query); Swift
// upgrades each and runs the pipeline, so ties in a later `$sort` keep that order, as the
// server's stable sort does. A `$sort` on a unique key (`_id`, or a path of a unique index
// the lens declares) has no ties: each version then sorts and limits on the server and the
// merger interleaves the sorted streams.

extension PlannerPass {
    /// Record order, sorted per version: when each version's filter needs its own index
    /// (an `$or` of them is a collection scan on SecantusDB), or for a top-k on a server
    /// that reads indexes in sort order, and the `$sort` (after stages that keep its key as
    /// it was) is on a unique key that translates at every version. The limit goes to the
    /// server only when every pushed-down filter is exact.
    static let sortedStreams = PlannerPass(name: "sorted-streams") { draft, planner in
        guard case .recordOrder? = draft.choice else { return }
        let order = RecordOrderFacts(draft, planner)
        let next = Array(draft.afterLeading)
        guard !order.filterInSwift, (order.allExact && planner.profile.sortsWithIndexes) || !order.samePushdown,
              let j = next.firstIndex(where: { $0.name == "$sort" }), case .sort(let p) = next[j].parsed,
              SortRule.keptThrough(Array(next[..<j]), paths: p.components.map(\.path)) else { return }
        let translated = order.live.map { SortRule.translate(p, in: VersionScope(lens: planner.lens, version: order.versions[$0])) }
        guard SortRule.isTotal(p, uniquePaths: planner.uniquePaths), translated.allSatisfy({ $0 != nil }) else { return }
        let limit = order.allExact ? SortRule.limitAfter(Array(next[(j + 1)...])) : nil
        draft.branches = order.live.enumerated().map { k, i in
            let v = order.versions[i]
            let fetch = planner.leadingStages([v], pushdown: draft.rewrites[i].pushdown, versionFilter: planner.versionFilter(v))
                + [["$sort": translated[k]!.bson]] + (limit.map { [["$limit": .int64($0)]] } ?? [])
            return Branch(versions: [v], strategy: v == planner.lens.newest ? .translated : .swiftUpgrade,
                          command: .documents(fetch), swiftStages: [],
                          note: "sorted and limited on the server: the sort key is unique, so streams merge without ties")
        }
        draft.mergeSort = p
    }

    /// Record order otherwise: one fetch over every version whose filter can match, in the
    /// server's order (no version filter when that is every known version and the pushed
    /// filter is the same), a limit when every pushed-down filter is exact.
    static let oneFetch = PlannerPass(name: "one-fetch") { draft, planner in
        guard case .recordOrder? = draft.choice, draft.mergeSort == nil else { return }
        let order = RecordOrderFacts(draft, planner)
        guard !order.live.isEmpty else { return }
        let next = Array(draft.afterLeading)
        var limit: Int64?
        if order.allExact, !order.filterInSwift, let first = next.first, first.name == "$limit" || first.name == "$skip" {
            limit = SortRule.limitAfter(next)
        }
        let versions = order.live.map { order.versions[$0] }
        // Every known version with the same pushdown: no version filter at all (the look for
        // unknown versions found none; one written since is refused by the upgrade in Swift,
        // loudly), so an index on the pushdown's fields serves it. Ignoring unknown versions
        // keeps the filter.
        var fetch: [BSON]
        let everyVersion = !planner.strictVersionFilters && versions.count == order.versions.count
        if order.filterInSwift {
            fetch = everyVersion ? [] : [["$match": .document(planner.versionFilter(versions))]]
        } else if order.samePushdown {
            fetch = planner.leadingStages(versions, pushdown: draft.rewrites[order.live[0]].pushdown,
                                          versionFilter: everyVersion ? nil : planner.versionFilter(versions))
        } else {
            fetch = [["$match": planner.unionOfArms(order.live.map { (draft.rewrites[$0].pushdown, order.versions[$0]) })]]
        }
        if let limit { fetch.append(["$limit": .int64(limit)]) }
        let upgraded = versions.filter { $0 != planner.lens.newest }
        var note = upgraded.isEmpty ? nil : "one fetch over every version, in the server's order; versions \(upgraded.map(String.init).joined(separator: ", ")) upgraded in Swift"
        if order.filterInSwift {
            note = (note.map { $0 + "; " } ?? "") + "no index serves the filter at any version: on this server (\(planner.profile)) it runs in Swift, after the upgrade"
        }
        draft.branches = [Branch(versions: versions, strategy: upgraded.isEmpty ? .translated : .swiftUpgrade,
                                 command: .documents(fetch), swiftStages: [], note: note)]
        draft.oneFetch = 0
    }

    /// On a server that projects on its side, the one fetch carries only the stored
    /// fields the upgraded documents need wherever the pipeline reads them.
    static let projectFetch = PlannerPass(name: "project-fetch") { draft, planner in
        guard let i = draft.oneFetch, planner.profile.projectsFetches, case .documents(let fetch) = draft.branches[i].command,
              let projection = planner.fetchProjection(draft.stages, versions: draft.branches[i].versions) else { return }
        draft.branches[i].command = .documents(fetch + [["$project": .document(projection)]])
    }

    /// The plan for a server that offers no consistent read across commands (a
    /// standalone): the collection is read once, with one cursor in natural order, and
    /// everything else runs in Swift. A collection scan meets each stored document once,
    /// in whatever state the scan finds it, so a document moving between versions is
    /// counted exactly once. No filter goes to the server: an index scan can meet a
    /// document twice, or not at all, when its key changes during the scan — and a
    /// document moving between versions changes its keys (the version, renamed fields).
    /// Documents at ignored unknown versions are left out in Swift.
    static let singleCursor = PlannerPass(name: "single-cursor") { draft, planner in
        draft.choice = .recordOrder
        draft.reason = "the server offers no consistent read across commands: one cursor reads each stored document once"
        draft.branches = [Branch(versions: Array(planner.lens.knownVersions), strategy: .swiftUpgrade, command: .documents([]), swiftStages: [],
                                 note: "one collection scan in natural order, every version upgraded and the whole pipeline run in Swift")]
        draft.oneFetch = 0
    }

    /// The top-level newest fields the pipeline reads (nil: whole documents), for the
    /// runner's retry of a failed upgrade on just those fields' stored inputs.
    static let fieldsRead = PlannerPass(name: "fields-read") { draft, planner in
        draft.readsFields = planner.readFields(draft.stages)
    }
}

/// What both record-order passes read of the leading filter's rewrites.
struct RecordOrderFacts {
    /// The known versions, in the order of the draft's rewrites.
    let versions: [Int]
    /// Indices of the versions at which the filter can match.
    let live: [Int]
    /// Every rewrite is exact (or false): a limit may go to the server.
    let allExact: Bool
    /// Every live version pushes down the same filter.
    let samePushdown: Bool
    /// On a server that streams full scans, a filter no index serves is cheaper in Swift
    /// (after the upgrade, in the merger's pipeline) than on the server.
    let filterInSwift: Bool

    init(_ draft: PlanDraft, _ planner: Planner) {
        let rewrites = draft.rewrites
        versions = Array(planner.lens.knownVersions)
        let live = rewrites.indices.filter { !rewrites[$0].alwaysFalse }
        self.live = live
        allExact = rewrites.allSatisfy { $0.pushdownIsExact || $0.alwaysFalse }
        samePushdown = live.allSatisfy { rewrites[$0].pushdown == rewrites[live[0]].pushdown }
        filterInSwift = !draft.leading.isEmpty && planner.mayStream(draft.stages) && !planner.anIndexServes(rewrites)
    }
}
