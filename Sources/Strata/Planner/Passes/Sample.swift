import StrataBSON
import StrataEvaluator

// `$sample: {size: N}` over a collection whose documents sit at several versions must be
// uniform over the logical collection: every N-subset of the matching documents equally
// likely, whatever version each is stored at. A `$sample` per version cannot give that
// (how many come from each version is itself random), so the plan counts the matching
// documents of each version exactly, splits the N draws across the versions by a
// multivariate hypergeometric draw from those counts, and draws within each version
// uniformly; the merger shuffles the union and runs the rest of the pipeline. Counting
// and choosing read under the query's pin, so the counts are the documents chosen from.
// A `$sample` anywhere else runs in Swift (`SampleOp`), over the input the merger has.

extension PlannerPass {
    /// A `$sample` first, or right after the leading `$match` stages: the sample strategy.
    static let chooseSample = PlannerPass(name: "choose-sample") { draft, planner in
        let at = draft.leading.count
        guard at < draft.stages.count, case .sample(let size) = draft.stages[at].parsed else { return }
        draft.choice = .sample(at: at, size: size)
        draft.reason = "$sample at \(draft.stages[at].location)\(at == 0 ? "" : " after the leading $match"): the matching documents counted exactly per version, the \(size) draws split across versions by a multivariate hypergeometric draw from the counts, each version's share drawn uniformly among its matching documents; the rest in Swift"
    }

    /// Sample: one branch per known version, whose fetch selects the version's matching
    /// documents. Where the leading filter's rewrite is exact at the version (and the lens's
    /// `onError: "skip"`s can be tested on stored fields), the server counts and samples
    /// them; otherwise the fetch is a superset, and Swift upgrades every fetched document,
    /// keeps the `_id`s of those that match, and chooses among them.
    static let sampleBranches = PlannerPass(name: "sample-branches") { draft, planner in
        guard case .sample? = draft.choice else { return }
        var inSwift: Set<Int> = []
        let leading = Array(draft.leading)
        draft.branches = zip(planner.lens.knownVersions, draft.rewrites).map { version, rewrite in
            let (branch, swift) = planner.sampleBranch(version: version, rewrite: rewrite, leading: leading)
            if swift { inSwift.insert(version) }
            return branch
        }
        draft.sampledInSwift = inSwift
    }
}

extension Planner {
    /// The branch that selects the documents stored at `version` that match the leading
    /// filter (whose rewrite there is `mr`), and whether only Swift can tell which match.
    func sampleBranch(version: Int, rewrite mr: MatchRewrite, leading: [PipelineStage]) -> (Branch, inSwift: Bool) {
        if mr.alwaysFalse {
            return (Branch(versions: [version], strategy: .empty, command: .none, swiftStages: [],
                           note: "the filter is false for every document stored at this version"), false)
        }
        let fetch = leadingStages([version], pushdown: mr.pushdown, versionFilter: versionFilter(version))
        let upgrade: Branch.Strategy = version == lens.newest ? .translated : .swiftUpgrade
        // Documents an `onError: "skip"` leaves out are not in the logical collection: the
        // server leaves them out too, or Swift does while upgrading.
        let skips = lens.serverChecks(forVersion: version, reads: [])
        if !mr.needsUpgradedDocuments, let skips {
            let exact = fetch + skips + MatchStages.temporaryStages(mr, versionGuard: lens.versionExpression(forVersions: [version]))
            return (Branch(versions: [version], strategy: upgrade, command: .documents(exact), swiftStages: [],
                           note: "the fetch selects exactly the matching documents: counted, and sampled, on the server"), false)
        }
        let why = mr.needsUpgradedDocuments ? "the filter has no exact rewrite at this version"
            : "the lens's onError: \"skip\" cannot be tested on the stored fields at this version"
        return (Branch(versions: [version], strategy: .swiftUpgrade, command: .documents(fetch + (skips ?? [])), swiftStages: leading,
                       note: "\(why): every fetched document is upgraded and filtered in Swift, and the sample chosen among the _ids that match"), true)
    }
}
