import StrataBSON
import StrataEvaluator

/// Plans a logical pipeline (written for the newest schema) over a collection
/// whose documents sit at several versions.
///
/// The rules, in the order they apply:
/// 1. `$facet` is planned facet by facet (`planFacets`).
/// 2. A pipeline whose first blocking stage is a `$group` (or `$count`,
///    `$sortByCount`, `$bucket`) with order-insensitive accumulators is split
///    like a sharded aggregation: per-version partial groups on the server,
///    merged in Swift (`planPartialGroups`).
/// 3. Everything else streams documents in (sort key, record id) order from
///    every version, upgraded where needed, and runs the pipeline in Swift
///    (`planRecordOrder`); leading `$match`, `$sort` and `$limit` go to the
///    server when their translation is exact.
/// Per version, `MatchRule` translates filters, `GroupRule` partial groups,
/// `SortRule` sorts, `MaterializeRule` computes needed fields; a version whose
/// paths need Swift (an application-defined operation) is fetched and upgraded
/// in Swift.
public struct Planner: Sendable {
    public let lens: Lens
    /// Collections that have lenses of their own (a `$lookup` into one is refused).
    public let versionedCollections: Set<String>
    /// Version filters that stay exact even with arrays or nulls in the version field
    /// (used when documents at unknown versions exist and are being left out).
    public let strictVersionFilters: Bool
    /// Partial `$sum`s ship the widest type of their inputs (see `GroupSplit`). Off by
    /// default: a partial-group plan then carries a second plan with widths, which the
    /// runner uses only when the merged types are ambiguous.
    public private(set) var trackSumWidth: Bool
    /// The server's costs, where they change the best plan: whether pipelines that read
    /// every document stream their needed fields to Swift instead of grouping per
    /// version on the server, and whether sorts are better done per version.
    public let profile: ServerProfile
    /// The collection's indexes (`indexes`, as `listIndexes` lists them; without them,
    /// those `strata index` creates for the lens), which shape the branches' filters.
    let indexCandidates: [IndexShapeRule.Candidate]

    public init(lens: Lens, versionedCollections: Set<String> = [], strictVersionFilters: Bool = false,
                trackSumWidth: Bool = false, profile: ServerProfile = .mongod, indexes: [Document]? = nil) {
        self.lens = lens
        self.versionedCollections = versionedCollections
        self.strictVersionFilters = strictVersionFilters
        self.trackSumWidth = trackSumWidth
        self.profile = profile
        self.indexCandidates = indexes.map { IndexShapeRule.candidates(fromIndexes: $0, versionField: lens.versionField) }
            ?? IndexShapeRule.candidates(LensIndexPlan(lens: lens))
    }

    /// A branch's leading `$match` stages: the pushed-down conjuncts and the version
    /// filter (nil: none needed), shaped for the index that serves them.
    func leadingStages(_ versions: [Int], pushdown: [Query], versionFilter: Document?) -> [BSON] {
        IndexShapeRule.leadingStages(versions: versions, pushdown: pushdown, versionFilter: versionFilter, lens: lens,
                                     candidates: indexCandidates, strict: strictVersionFilters)
    }

    /// A full scan that streams well on this server: no index serves the leading filter
    /// at any version (so the server would read every document anyway), and nothing asks
    /// the server once per document (`$lookup`, a lens `lookup`).
    func streamsAsFullScan(_ stages: [PipelineStages.Stage]) -> Bool {
        guard mayStream(stages) else { return false }
        let leading = stages.prefix { $0.name == "$match" }
        guard !leading.isEmpty else { return true }
        guard let filter = try? MatchStages.query(leading) else { return false }
        return !anIndexServes(lens.knownVersions.map { MatchRule.rewrite(filter, in: VersionScope(lens: lens, version: $0)) })
    }

    /// This server streams full scans, and nothing asks the server once per document.
    func mayStream(_ stages: [PipelineStages.Stage]) -> Bool {
        guard profile.streamsFullScans else { return false }
        let perDocument: Set<String> = ["$lookup", "$graphLookup", "$unionWith", "$facet"]
        if stages.contains(where: { perDocument.contains($0.name) }) { return false }
        return !lens.steps.flatMap(\.operations).contains(where: { $0 is LookupOperation })
    }

    /// Whether an index (of the server's, else of the lens's plan) serves some pushed-down
    /// conjunct at some version; `rewrites` are the leading filter's, one per known version.
    func anIndexServes(_ rewrites: [MatchRewrite]) -> Bool {
        zip(lens.knownVersions, rewrites).contains { v, r in
            !r.alwaysFalse && IndexShapeRule.best(indexCandidates, for: r.pushdown.flatMap(IndexShapeRule.flatten), versions: [v]) != nil
        }
    }

    func versionFilter(_ version: Int) -> Document { lens.filter(forVersion: version, strict: strictVersionFilters) }
    func versionFilter(_ versions: [Int]) -> Document { lens.filter(forVersions: versions, strict: strictVersionFilters) }

    public func plan(_ spec: QuerySpec) throws -> QueryPlan {
        let stages = try PipelineStages.parse(spec.pipeline, at: spec.pipelineLocation)
        try checkLookups(stages)
        var plan = try plan(stages, collection: spec.collection)
        plan.readsFields = try readFields(spec)
        return plan
    }

    /// The top-level newest fields `spec`'s pipeline reads, nil for whole documents.
    func readFields(_ spec: QuerySpec) throws -> Set<String>? {
        guard case .fields(let f) = try Dependencies.of(spec.pipeline, at: spec.pipelineLocation) else { return nil }
        return f.union(["_id"])
    }

    func plan(_ stages: [PipelineStages.Stage], collection: String) throws -> QueryPlan {
        let blocking = stages.firstIndex { $0.isBlocking }
        if let b = blocking, stages[b].name == "$facet" {
            return try planFacets(stages, at: b, collection: collection)
        }
        if let b = blocking, let group = GroupPlan.make(stages[b]) {
            if group.isOrderInsensitive, !streamsAsFullScan(stages) {
                return try planPartialGroups(stages, at: b, group: group, collection: collection)
            }
            if group.isOrderInsensitive {
                return try planRecordOrder(stages, collection: collection,
                                           reason: "a full scan: this server (\(profile)) is faster at sending the needed fields than at grouping them per version")
            }
            return try planRecordOrder(stages, collection: collection,
                                       reason: "\(group.orderSensitiveOperators.joined(separator: ", ")) depend on the input order, which only record order gives exactly")
        }
        let reason: String
        if let b = blocking {
            reason = "\(stages[b].name) at \(stages[b].location) needs every document in order"
        } else {
            reason = "no blocking stage: the documents themselves are the result, in natural order"
        }
        return try planRecordOrder(stages, collection: collection, reason: reason)
    }

    func checkLookups(_ stages: [PipelineStages.Stage]) throws {
        for s in stages {
            if s.name == "$lookup" || s.name == "$graphLookup" || s.name == "$unionWith",
               let from = s.spec.documentValue?["from"]?.stringValue ?? (s.name == "$unionWith" ? s.spec.stringValue ?? s.spec.documentValue?["coll"]?.stringValue : nil),
               versionedCollections.contains(from)
            {
                throw StrataError.unsupported("\(s.name) into '\(from)', which is itself versioned, is not supported (its documents would need upgrading too)",
                                              at: s.location.appending("from"))
            }
            if s.name == "$facet", case .document(let f) = s.spec {
                for (k, v) in f {
                    if case .array(let sub) = v { try checkLookups(try PipelineStages.parse(sub, at: s.location.appending(k))) }
                }
            }
            // Sub-pipelines of $lookup and $unionWith may name versioned collections too.
            if s.name == "$lookup" || s.name == "$unionWith", case .array(let sub)? = s.spec.documentValue?["pipeline"] {
                try checkLookups(try PipelineStages.parse(sub, at: s.location.appending("pipeline")))
            }
        }
    }

    // MARK: $facet

    func planFacets(_ stages: [PipelineStages.Stage], at b: Int, collection: String) throws -> QueryPlan {
        guard case .document(let facets) = stages[b].spec, !facets.isEmpty else {
            throw StrataError.badInput("$facet needs an object of sub-pipelines", at: stages[b].location)
        }
        var plans: [(String, QueryPlan)] = []
        for (name, v) in facets {
            guard case .array(let sub) = v else {
                throw StrataError.badInput("each facet must be an array of stages", at: stages[b].location.appending(name))
            }
            let subStages = try PipelineStages.parse(sub, at: stages[b].location.appending(name))
            if let bad = subStages.first(where: { ["$facet", "$out", "$merge"].contains($0.name) }) {
                throw StrataError.badInput("\(bad.name) is not allowed inside $facet", at: bad.location)
            }
            plans.append((name, try plan(Array(stages[..<b]) + subStages, collection: collection)))
        }
        return QueryPlan(collection: collection, mode: .facets, branches: [], group: nil, mergeSplit: nil,
                         mergerStages: stages[(b + 1)...].map(\.bson), mergeSort: nil, facets: plans,
                         reason: "$facet at \(stages[b].location): each facet is planned on its own",
                         unknownVersionFilter: lens.filterForUnknownVersions)
    }

    // MARK: partial groups

    func planPartialGroups(_ stages: [PipelineStages.Stage], at b: Int, group: GroupPlan, collection: String) throws -> QueryPlan {
        let prefix = Array(stages[..<b])
        let split = try GroupRule.mergeSplit(group, trackSumWidth: trackSumWidth)
        // Consecutive versions whose rewrites are the same but for the version filter
        // share one branch (`{v: {$in: [1, 2]}}`): one command fewer.
        var branches: [Branch] = []
        for version in lens.knownVersions {
            let scope = VersionScope(lens: lens, version: version)
            if let last = branches.last, last.strategy == .translated || last.strategy == .materialized {
                let together = last.versions + [version]
                let first = try partialGroupBranch(VersionScope(lens: lens, version: last.versions[0]), versions: together,
                                                   prefix: prefix, blocking: stages[b], group: group, split: split)
                let this = try partialGroupBranch(scope, versions: together, prefix: prefix, blocking: stages[b], group: group, split: split)
                if first.strategy == last.strategy, this.strategy == last.strategy, first.serverPipeline == this.serverPipeline,
                   first.rawKey == this.rawKey {
                    branches[branches.count - 1] = first
                    continue
                }
            }
            branches.append(try partialGroupBranch(VersionScope(lens: lens, version: version), versions: [version], prefix: prefix, blocking: stages[b], group: group, split: split))
        }
        var withSumWidths: [QueryPlan] = []
        if !split.untrackedSums.isEmpty {
            var tracking = self
            tracking.trackSumWidth = true
            withSumWidths = [try tracking.planPartialGroups(stages, at: b, group: group, collection: collection)]
        }
        return QueryPlan(collection: collection, mode: .partialGroups, branches: branches, group: group, mergeSplit: split,
                         mergerStages: group.post + stages[(b + 1)...].map(\.bson), mergeSort: nil, facets: [],
                         reason: "\(stages[b].name) at \(stages[b].location) merges from partial groups",
                         unknownVersionFilter: lens.filterForUnknownVersions, withSumWidths: withSumWidths)
    }

    /// The branch for the documents stored at `versions`, translated for `scope`'s
    /// version (the same for each of them when they share a branch).
    func partialGroupBranch(_ scope: VersionScope, versions: [Int], prefix: [PipelineStages.Stage], blocking: PipelineStages.Stage,
                            group: GroupPlan, split: GroupSplit) throws -> Branch {
        let leading = prefix.prefix { $0.name == "$match" }
        let rest = Array(prefix.dropFirst(leading.count))
        let filter = try MatchStages.query(leading)
        let mr = MatchRule.rewrite(filter, in: scope)
        if mr.alwaysFalse {
            return Branch(versions: versions, strategy: .empty, command: .none, swiftStages: [],
                          note: "the filter is false for every document stored at this version")
        }
        let fetch = leadingStages(versions, pushdown: mr.pushdown, versionFilter: versionFilter(versions))
        // Reading stored documents without the upgrade stages, the branch checks what the
        // upgrade would: documents an `onError: "skip"` leaves out, guards of the operations
        // that decide what the query reads (`Lens.serverChecks`); nil: only the upgrade can.
        let checks = serverChecks(versions, reads: try Dependencies.of(prefix.map(\.bson) + [blocking.bson], at: blocking.location))
        var server: [BSON] = fetch + (checks ?? []) + MatchStages.temporaryStages(mr, versionGuard: lens.versionExpression(forVersions: versions))

        if checks != nil && !mr.needsUpgradedDocuments && rest.isEmpty {
            var lookups: [LookupPrerequisite] = []
            let partial = GroupRule.partial(group, trackSumWidth: trackSumWidth, translate: { e in
                guard let t = scope.translate(e) else { return nil }
                for l in t.lookups where !lookups.contains(l) { lookups.append(l) }
                return t.expr
            }, translateSort: { SortRule.translate($0, in: scope) })
            if let partial {
                server += lookups.map(\.stage) + [partial.stage]
                return Branch(versions: versions, strategy: .translated, command: .aggregate(server), swiftStages: [], note: nil,
                              rawKey: partial.rawKey)
            }
        }
        // The stages after the translated filter run on newest-shaped documents.
        let after = (mr.needsUpgradedDocuments ? leading.map(\.bson) : []) + rest.map(\.bson)
        let untranslated: BSON = ["$group": .document(split.partialGroup)]
        let deps = try Dependencies.of(after + [blocking.bson], at: blocking.location)
        if checks != nil, case .fields(let fields) = deps, let m = MaterializeRule.project(fields, in: scope) {
            server += m + after + [untranslated]
            return Branch(versions: versions, strategy: .materialized, command: .aggregate(server), swiftStages: [],
                          note: "computes \(fields.union(["_id"]).sorted().joined(separator: ", ")) of the newest schema")
        }
        if let upgrade = lens.serverUpgradeStages(from: scope.version) {
            // Only the stored fields the rest reads go through the upgrade: a document that
            // cannot be upgraded elsewhere does not fail this query (as with the other plans).
            if case .fields(let fields) = deps, let stored = storedInputs(fields, versions: versions) {
                server.append(["$project": .document(stored)])
            }
            server += upgrade + after + [untranslated]
            return Branch(versions: versions, strategy: .serverUpgrade, command: .aggregate(server), swiftStages: [],
                          note: MaterializeRule.whyNot(deps, in: scope))
        }
        let obstacle = lens.serverUpgradeObstacle(from: scope.version)
        return Branch(versions: versions, strategy: .swiftUpgrade,
                      command: .documents(fetch),
                      swiftStages: prefix.map(\.bson) + [untranslated],
                      note: obstacle.map { "\($0.name) at \($0.location) runs only in Swift" })
    }

    // MARK: record order

    /// Documents in order: the result is the documents themselves (or needs all of them
    /// in order). Without a sort that a unique key makes total, one `find` whose filter
    /// is the union of every version's translated filter returns the documents in the
    /// order a scan of the migrated collection would (the server's order for an unsorted
    /// query); Swift upgrades each and runs the pipeline, so ties in a later `$sort` keep
    /// that order, as the server's stable sort does. A `$sort` on a unique key (`_id`, or a
    /// path of a unique index the lens declares) has no ties: each version then sorts and
    /// limits on the server and the merger interleaves the sorted streams.
    func planRecordOrder(_ stages: [PipelineStages.Stage], collection: String, reason: String) throws -> QueryPlan {
        let leading = stages.prefix { $0.name == "$match" }
        let filter = try MatchStages.query(leading)
        let scopes = lens.knownVersions.map { VersionScope(lens: lens, version: $0) }
        let rewrites = scopes.map { MatchRule.rewrite(filter, in: $0) }
        let allExact = rewrites.allSatisfy { $0.pushdownIsExact || $0.alwaysFalse }
        let next = Array(stages.dropFirst(leading.count))
        let live = scopes.indices.filter { !rewrites[$0].alwaysFalse }
        // On a server that streams full scans, a filter no index serves is cheaper in
        // Swift (after the upgrade, in the merger's pipeline) than on the server.
        let filterInSwift = !leading.isEmpty && mayStream(stages) && !anIndexServes(rewrites)

        // Sorted per version when each version's filter needs its own index (an `$or` of
        // them is a collection scan on SecantusDB), or for a top-k on a server that reads
        // indexes in sort order; otherwise one fetch serves every version. The limit goes
        // to the server only when every pushed-down filter is exact.
        let samePushdown = live.allSatisfy { rewrites[$0].pushdown == rewrites[live[0]].pushdown }
        // The sort may come after stages that keep its key as it was (`$project` of it...).
        if !filterInSwift, (allExact && profile.sortsWithIndexes) || !samePushdown,
           let j = next.firstIndex(where: { $0.name == "$sort" }), case .document(let s) = next[j].spec,
           let p = try? SortPattern.parse(s, at: next[j].location),
           SortRule.keptThrough(Array(next[..<j]), paths: p.components.map(\.path))
        {
            let translated = live.map { SortRule.translate(p, in: scopes[$0]) }
            if SortRule.isTotal(p, uniquePaths: uniquePaths), translated.allSatisfy({ $0 != nil }) {
                let limit = allExact ? SortRule.limitAfter(Array(next[(j + 1)...])) : nil
                let branches = live.enumerated().map { j, i in
                    let v = scopes[i].version
                    let fetch = leadingStages([v], pushdown: rewrites[i].pushdown, versionFilter: versionFilter(v))
                        + [["$sort": translated[j]!.bson]] + (limit.map { [["$limit": .int64($0)]] } ?? [])
                    return Branch(versions: [v], strategy: scopes[i].isNewest ? .translated : .swiftUpgrade,
                                  command: .documents(fetch), swiftStages: [],
                                  note: "sorted and limited on the server: the sort key is unique, so streams merge without ties")
                }
                return QueryPlan(collection: collection, mode: .recordOrder, branches: branches, group: nil, mergeSplit: nil,
                                 mergerStages: stages.map(\.bson), mergeSort: p, facets: [], reason: reason,
                                 unknownVersionFilter: lens.filterForUnknownVersions)
            }
        }
        var limit: Int64?
        if allExact, !filterInSwift, let first = next.first, first.name == "$limit" || first.name == "$skip" {
            limit = SortRule.limitAfter(next)
        }
        var branches: [Branch] = []
        if !live.isEmpty {
            let versions = live.map { scopes[$0].version }
            // Every known version with the same pushdown: no version filter at all (the
            // look for unknown versions found none; one written since is refused by the
            // upgrade in Swift, loudly), so an index on the pushdown's fields serves it.
            // Ignoring unknown versions keeps the filter.
            var fetch: [BSON]
            let everyVersion = !strictVersionFilters && versions.count == lens.knownVersions.count
            if filterInSwift {
                fetch = everyVersion ? [] : [["$match": .document(versionFilter(versions))]]
            } else if samePushdown {
                fetch = leadingStages(versions, pushdown: rewrites[live[0]].pushdown,
                                      versionFilter: everyVersion ? nil : versionFilter(versions))
            } else {
                // One arm per distinct pushdown, over the versions that share it.
                var arms: [(pushdown: [Query], versions: [Int])] = []
                for i in live {
                    if let k = arms.firstIndex(where: { $0.pushdown == rewrites[i].pushdown }) {
                        arms[k].versions.append(scopes[i].version)
                    } else {
                        arms.append((rewrites[i].pushdown, [scopes[i].version]))
                    }
                }
                let filters = arms.map { MatchStages.firstMatch(version: versionFilter($0.versions), pushdown: $0.pushdown) }
                fetch = [["$match": filters.count == 1 ? .document(filters[0]) : ["$or": .array(filters.map { .document($0) })]]]
            }
            if let limit { fetch.append(["$limit": .int64(limit)]) }
            if profile.projectsFetches, let projection = try fetchProjection(stages, versions: versions) {
                fetch.append(["$project": .document(projection)])
            }
            let upgraded = versions.filter { $0 != lens.newest }
            var note = upgraded.isEmpty ? nil : "one fetch over every version, in the server's order; versions \(upgraded.map(String.init).joined(separator: ", ")) upgraded in Swift"
            if filterInSwift {
                note = (note.map { $0 + "; " } ?? "") + "no index serves the filter at any version: on this server (\(profile)) it runs in Swift, after the upgrade"
            }
            branches.append(Branch(versions: versions, strategy: upgraded.isEmpty ? .translated : .swiftUpgrade,
                                   command: .documents(fetch), swiftStages: [], note: note))
        }
        return QueryPlan(collection: collection, mode: .recordOrder, branches: branches, group: nil, mergeSplit: nil,
                         mergerStages: stages.map(\.bson), mergeSort: nil, facets: [], reason: reason,
                         unknownVersionFilter: lens.filterForUnknownVersions)
    }

    /// The stored fields to fetch so that the upgraded documents are right wherever the
    /// pipeline reads them (`Dependencies`, traced back through the lens by
    /// `UpgradeInputs`); nil when the pipeline needs whole documents.
    func fetchProjection(_ stages: [PipelineStages.Stage], versions: [Int]) throws -> Document? {
        guard case .fields(let fields) = try Dependencies.of(stages.map(\.bson), at: Location(path: "pipeline")) else { return nil }
        return storedInputs(fields, versions: versions)
    }

    /// `Lens.serverChecks` for a branch over `versions` reading `reads`; nil when a check
    /// cannot be written over the stored documents or the versions need different ones.
    func serverChecks(_ versions: [Int], reads: Dependencies) -> [BSON]? {
        var paths: Set<[String]>?
        if case .fields(let f) = reads { paths = Set(f.map { [$0] } + [["_id"]]) }
        let each = versions.map { lens.serverChecks(forVersion: $0, reads: paths) }
        guard let first = each.first, let checks = first, each.allSatisfy({ $0 == checks }) else { return nil }
        return checks
    }

    /// The projection of the stored fields `fields` (of the newest schema) come from at `versions`.
    func storedInputs(_ fields: Set<String>, versions: [Int]) -> Document? {
        var stored: Set<[String]> = []
        for v in versions {
            guard let s = UpgradeInputs.storedPaths(lens, newest: Set(fields.map { [$0] } + [["_id"]]), version: v) else { return nil }
            stored.formUnion(s)
        }
        return UpgradeInputs.inclusion(stored)
    }

    /// Paths whose values are unique per document: `_id` and single-key unique indexes of the lens.
    var uniquePaths: Set<[String]> {
        var out: Set<[String]> = [["_id"]]
        for i in lens.indexes where i.unique && i.keys.count == 1 { out.insert(Query.components(i.keys.keys[0])) }
        return out
    }
}

/// Helpers for the leading `$match` stages of a pipeline.
enum MatchStages {
    /// The conjunction of the stages' filters.
    static func query(_ stages: some Collection<PipelineStages.Stage>) throws -> Query {
        let qs = try stages.map { s -> Query in
            guard case .document(let f) = s.spec else {
                throw StrataError.badInput("the match filter must be an expression in an object", at: s.location)
            }
            return try Query.parse(f, at: s.location)
        }
        return qs.count == 1 ? qs[0] : .and(qs)
    }

    /// The branch's filter as one document: the version filter and the pushed-down conjuncts.
    /// Side by side where no two share a key (`{v: 1, "amount.value": {$gt: 0}}`): SecantusDB
    /// evaluates an `$or` of such arms in half the time of an `$or` of `$and`s.
    static func firstMatch(version: Document, pushdown: [Query]) -> Document {
        if pushdown.isEmpty { return version }
        return conjunction(documents: [version] + pushdown.map(\.bson))
    }

    /// The same as aggregation stages: the pushed-down conjuncts first, alone, then the
    /// version filter. A server that picks an index only when it covers every field of
    /// the filter (SecantusDB) can then use an index on the stored paths; mongod
    /// coalesces adjacent `$match` stages and plans them as one.
    static func leadingStages(version: Document, pushdown: [Query]) -> [BSON] {
        guard !pushdown.isEmpty else { return [["$match": .document(version)]] }
        return [["$match": .document(conjunction(pushdown))], ["$match": .document(version)]]
    }

    /// One filter document for conjuncts: their fields side by side when no two share a
    /// top-level key and none is an operator (`{a: 1, b: 2}`: SecantusDB plans an
    /// `$and` of the same without its compound indexes), else `$and`.
    static func conjunction(_ qs: [Query]) -> Document { conjunction(documents: qs.map(\.bson)) }

    static func conjunction(documents docs: [Document]) -> Document {
        if docs.count == 1 { return docs[0] }
        var merged = Document()
        for d in docs {
            for (k, v) in d {
                if k.hasPrefix("$") || merged[k] != nil { return ["$and": .array(docs.map { .document($0) })] }
                merged.append(k, v)
            }
        }
        return merged
    }

    /// Temporaries, the exact predicate over them, and their cleanup.
    static func temporaryStages(_ mr: MatchRewrite, versionGuard: Expr) -> [BSON] {
        guard !mr.temporaries.isEmpty || !mr.exact.isEmpty else { return [] }
        let exact = MatchRule.guarded(mr.exact.count == 1 ? mr.exact[0] : .and(mr.exact), version: versionGuard)
        var stages = mr.temporaries.stages
        stages.append(["$match": .document(exact.bson)])
        let cleanup = mr.temporaries.cleanupNames
        if !cleanup.isEmpty { stages.append(["$unset": .array(cleanup.map { .string($0) })]) }
        return stages
    }
}
