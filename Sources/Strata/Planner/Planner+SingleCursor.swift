import StrataBSON
import StrataEvaluator

extension Planner {
    /// The plan for a server that offers no consistent read across commands (a
    /// standalone): the collection is read once, with one cursor in natural order, and
    /// everything else runs in Swift. A collection scan meets each stored document once,
    /// in whatever state the scan finds it, so a document moving between versions is
    /// counted exactly once. No filter goes to the server: an index scan can meet a
    /// document twice, or not at all, when its key changes during the scan — and a
    /// document moving between versions changes its keys (the version, renamed fields).
    /// Documents at ignored unknown versions are left out in Swift.
    public func planSingleCursor(_ spec: QuerySpec) throws -> QueryPlan {
        let stages = try PipelineStages.parse(spec.pipeline, at: spec.pipelineLocation)
        try checkLookups(stages)
        let versions = Array(lens.knownVersions)
        var fetch: [BSON] = []
        if profile.projectsFetches, let projection = try fetchProjection(stages, versions: versions) {
            fetch.append(["$project": .document(projection)])
        }
        let branch = Branch(versions: versions, strategy: .swiftUpgrade, command: .documents(fetch), swiftStages: [],
                            note: "one collection scan in natural order, every version upgraded and the whole pipeline run in Swift")
        var plan = QueryPlan(collection: spec.collection, mode: .recordOrder, branches: [branch], group: nil, mergeSplit: nil,
                             mergerStages: stages.map(\.bson), mergeSort: nil, facets: [],
                             reason: "the server offers no consistent read across commands: one cursor reads each stored document once",
                             unknownVersionFilter: lens.filterForUnknownVersions)
        plan.readsFields = try readFields(spec)
        return plan
    }
}

extension QueryPlan {
    /// The plan reads the collection once, with one cursor that no index serves: the
    /// only plan whose answer is exact on a server without a consistent read.
    public var readsOnce: Bool {
        guard mode == .recordOrder, mergeSort == nil, branches.count == 1,
              case .documents(let fetch) = branches[0].command else { return false }
        return fetch.allSatisfy { $0.singleField?.key == "$project" }
    }
}
