import Logging
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// Runs a `QueryPlan`: the branches on the server (or fetched and upgraded in
/// Swift), the merge and the merger's stages in Swift. Results stream to
/// `output`, which returns false to stop early; each run returns what it did
/// (`Statistics`). A plain value: each run keeps its own state (`QueryExecution`).
public struct QueryRunner: Sendable {
    public struct Options: Sendable {
        /// Skip documents at versions the lens does not know (with a warning) instead of refusing.
        public var ignoreUnknownVersions = false
        /// Where warnings go (stderr in the CLI).
        public var warn: @Sendable (String) -> Void = { _ in }
        /// The server's cost profile for planning; nil: asked of the server (`ServerProfile.of`).
        public var profile: ServerProfile?
        /// What the answer promises while documents move (`.snapshot` by default).
        public var consistency: Consistency
        /// How reads are pinned; nil: what the server offers (`ReadMechanism.detect`).
        /// Forcing one the server does not honour (cluster times on SecantusDB) gives
        /// answers that are not pinned: for tests and for servers detection gets wrong.
        public var readMechanism: ReadMechanism?
        /// Plan as if the collection had the indexes the lens recommends (`strata index`),
        /// whatever it has: exercises index-shaped branches and the lens's claims where the
        /// indexes are missing (`strata verify --plans all`). Answers stay exact either way.
        public var planWithLensIndexes: Bool
        /// The lens of another collection, for joins into it (`$lookup`, `$graphLookup`,
        /// `$unionWith`), which then read it as if migrated; nil when it has none.
        /// `StrataClient` loads them from its schemas folder.
        public var foreignLens: @Sendable (String) throws -> Lens? = { _ in nil }
        /// Seeds every random choice of `$sample` (the split across versions, the choice
        /// within each, the order, and `$sample` run in Swift): the same answer from the
        /// same database state each run. nil: the system's random numbers and the server's
        /// own `$sample`, which cannot be seeded.
        public var sampleSeed: UInt64?
        /// Where the plan chosen (debug), restarts and refusals are logged, and the query
        /// metrics go (`StrataMetrics`).
        public var telemetry: Telemetry
        /// Seconds a collection's index list is kept between queries (`MetadataCache`):
        /// it shapes plans, never answers. 0: listed every query.
        public var metadataTTL: Double = 30
        /// End a pinned read's transaction after the answer is out, off the caller's path
        /// (`QueryRunner.waitForDeferredReadEnds()` waits for those sent). It decides
        /// nothing once the reads are done, and costs a round trip. false: before returning.
        public var endReadsInBackground = true
        /// Merge partial groups as sorted streams where the plan asks the branches for
        /// sorted groups (`QueryPlan.PartialGroups.streamedMerge`: memory for one group per
        /// branch). false: every group in a hash table (`GroupMerger`), the same answer.
        public var streamedGroupMerge = true
        /// What a query's blocking work in Swift may hold (the partial-group merge, `$group`,
        /// `$sort`, `$bucket`) before it spills sorted runs to temporary files, merged back in
        /// order; nil: no limit. `--max-memory`.
        public var maxMemoryBytes: Int? = 256 * 1024 * 1024
        /// Where spill files go (a private directory per operator, removed when it is done;
        /// nil: `TMPDIR`, else /tmp).
        public var spillDirectory: String?
        /// The least an operator past the budget writes as one run (64 KB); lower only to
        /// make small inputs spill in tests.
        public var minimumSpillRunBytes = 64 * 1024
        public init(ignoreUnknownVersions: Bool = false, warn: @escaping @Sendable (String) -> Void = { _ in },
                    profile: ServerProfile? = nil, consistency: Consistency = .snapshot, readMechanism: ReadMechanism? = nil,
                    planWithLensIndexes: Bool = false, sampleSeed: UInt64? = nil, telemetry: Telemetry = Telemetry()) {
            self.telemetry = telemetry
            self.ignoreUnknownVersions = ignoreUnknownVersions
            self.warn = warn
            self.profile = profile
            self.consistency = consistency
            self.readMechanism = readMechanism
            self.planWithLensIndexes = planWithLensIndexes
            self.sampleSeed = sampleSeed
        }
    }

    /// What a run did, for explain/bench.
    public struct Statistics: Sendable {
        public var branchesRun = 0
        public var documentsFetched = 0
        public var partialGroups = 0
        public var bytesReceived = 0
        public var documentsUpgradedInSwift = 0
        /// Documents that could not be upgraded whole, upgraded on the fields the query reads.
        public var upgradesOfReadFieldsOnly = 0
        /// Documents an `onError: "skip"` left out in Swift (server branches filter theirs).
        public var documentsSkippedByLens = 0
        /// How the look for unknown versions ran: on the version index, or a scan (and why).
        public var unknownVersionProbe: String?
        /// Partial-group runs repeated with `$sum` input types (see `QueryPlan.withSumWidths`).
        public var rerunsForSumTypes = 0
        /// Partial groups merged as sorted streams (`QueryPlan.PartialGroups.streamedMerge`).
        public var streamedGroupMerges = 0
        /// Streamed merges run again by hash: a branch's rows were not in the order
        /// `$sort: {_id: 1}` promises (`StreamedGroupMerger.Failure.outOfOrder`).
        public var hashMergesAfterUnorderedKeys = 0
        /// How the reads were pinned.
        public var readMechanism: ReadMechanism?
        /// Times the query started again at a fresh snapshot (the server lost the last).
        public var snapshotRestarts = 0
        /// Documents upgraded in Swift, by the version they were stored at.
        public var upgradesByVersion: [Int: Int] = [:]
        /// The plan's strategy (`QueryPlan.mode`), once planned.
        public var mode: QueryPlan.Mode?
        /// Sorted runs written to temporary files because the query's blocking work went
        /// past `Options.maxMemoryBytes`.
        public var spillRuns = 0
    }

    public let database: MongoDatabase
    public let lens: Lens
    public let functions: LensFunctions
    public let options: Options

    public init(database: MongoDatabase, lens: Lens, functions: LensFunctions = .builtIn, options: Options = Options()) {
        self.database = database
        self.lens = lens
        self.functions = functions
        self.options = options
    }

    /// Plans and runs a query; every result goes to `output` (return false to stop).
    /// Documents at versions the lens does not know are looked for first: their
    /// presence refuses the query (or, when ignoring them, makes the version
    /// filters strict so that none of them is read). Every read — the look, each
    /// branch, lookups, facets, a rerun for `$sum` types — sees one state of the
    /// database (`ReadMechanism`); on a server without a consistent read the plan reads
    /// the collection with one cursor.
    @discardableResult
    public func run(_ spec: QuerySpec, versionedCollections: Set<String> = [], output: (Document) throws -> Bool) throws -> Statistics {
        let query: ParsedQuery
        do { query = try ParsedQuery(spec) } catch let e as StrataError where e.kind == .unsupported {
            recordRefusal(e)
            throw e
        }
        return try run(query, versionedCollections: versionedCollections, output: output)
    }

    /// Waits until the read transactions of finished queries, ended off the callers' path
    /// (`Options.endReadsInBackground`), have ended on the server: before a process exits,
    /// or before timing something else on the same server.
    public static func waitForDeferredReadEnds() {
        ReadPin.waitForDeferredEnds()
    }

    /// Logs (notice) and counts a query strata refuses to answer.
    func recordRefusal(_ e: StrataError) {
        options.telemetry.logger.notice("query refused", metadata: ["collection": "\(lens.collection)", "reason": "\(e.description)"])
        options.telemetry.counter(StrataMetrics.queryRefusals, [("collection", lens.collection)]).increment()
    }

    /// Runs a parsed query (see `run(_:versionedCollections:output:)`).
    @discardableResult
    public func run(_ query: ParsedQuery, versionedCollections: Set<String> = [], output: (Document) throws -> Bool) throws -> Statistics {
        if let stage = query.output {
            throw StrataError.badInput("the pipeline ends in \(stage.kind.rawValue), which writes its results instead of returning them: run it with VersionedCollection.write (as strata run does)",
                                       at: stage.location)
        }
        let execution = QueryExecution(self)
        try observed(execution) { try execution.run(query, versionedCollections: versionedCollections, output: output) }
        return execution.statistics
    }

    /// Runs `body`, then records the query's metrics; logs and counts a refusal.
    func observed(_ execution: QueryExecution, _ body: () throws -> Void) throws {
        let telemetry = options.telemetry
        let clock = ContinuousClock(), start = clock.now
        do {
            try body()
        } catch let e as StrataError where e.kind == .unsupported {
            recordRefusal(e)
            throw e
        } catch let e as MongoError {
            // The server refused something: what strata kept about it may be stale.
            MetadataCache.invalidateAfterError(database.collection(lens.collection))
            telemetry.logger.info("server error: cached indexes and capabilities dropped", metadata: [
                "collection": "\(lens.collection)", "error": "\(e)"])
            throw e
        }
        execution.statistics.spillRuns = execution.memory?.runsWritten ?? 0
        let s = execution.statistics
        let strategy = s.mode?.rawValue ?? "none"
        telemetry.timer(StrataMetrics.queryDuration, [("collection", lens.collection), ("strategy", strategy)])
            .recordNanoseconds(Int64(((clock.now - start) / .nanoseconds(1)).rounded()))
        telemetry.recorder(StrataMetrics.queryBranches, [("collection", lens.collection)]).record(s.branchesRun)
        for (version, n) in s.upgradesByVersion.sorted(by: { $0.key < $1.key }) {
            telemetry.counter(StrataMetrics.upgradesOnRead, [("collection", lens.collection), ("from_version", "\(version)")])
                .increment(by: Int64(n))
        }
    }

    /// Runs a plan made beforehand (after checking for unknown versions), its reads
    /// pinned as `run(_:)` pins them. On a server without a consistent read only a plan
    /// that reads the collection once runs (`QueryPlan.readsOnce`).
    @discardableResult
    public func run(_ plan: QueryPlan, output: (Document) throws -> Bool) throws -> Statistics {
        let execution = QueryExecution(self)
        try observed(execution) { try execution.run(plan, output: output) }
        return execution.statistics
    }

    /// Runs the plan and returns every result.
    public func collect(_ plan: QueryPlan) throws -> [Document] {
        var out: [Document] = []
        try run(plan) { out.append($0); return true }
        return out
    }

    /// The plan for `spec` under `mechanism`: one cursor over the collection where the
    /// server offers no consistent read, else the planner's best.
    public func plan(_ query: ParsedQuery, mechanism: ReadMechanism, versionedCollections: Set<String> = [], strict: Bool = false,
                     indexes: [Document]? = nil) throws -> QueryPlan {
        let planner = planner(versionedCollections: versionedCollections, strict: strict, indexes: indexes)
        return mechanism == .singleCursor ? try planner.planSingleCursor(query) : try planner.plan(query)
    }

    /// How this runner pins its reads: `.unpinned` for best-effort, else the forced or
    /// detected mechanism.
    public func readMechanism() throws -> ReadMechanism {
        try ReadMechanism.resolve(options.consistency, forced: options.readMechanism, database: database, collection: lens.collection)
    }

    /// The planner for this collection, its server and its indexes.
    public func planner(versionedCollections: Set<String> = [], strict: Bool = false, indexes: [Document]? = nil) -> Planner {
        Planner(lens: lens, versionedCollections: versionedCollections, strictVersionFilters: strict,
                profile: options.profile ?? ServerProfile.of(database), indexes: indexes)
    }
}

/// One run of a query: the state an attempt keeps (the pinned database, the lens's
/// lookups, the fields the query reads) and what the run did. Not shared: a runner makes
/// one per run.
final class QueryExecution {
    let runner: QueryRunner
    var statistics = QueryRunner.Statistics()
    /// The database the current attempt reads from: the runner's, pinned to one snapshot.
    private var reading: MongoDatabase { didSet { attemptJoins = nil } }
    /// The joins over `reading`, made once per attempt (they cache the foreign lenses).
    private var attemptJoins: Joins?
    private var lookups: DatabaseLookup

    /// The collections with lenses of their own: joins into them read them as if migrated.
    private var versionedCollections: Set<String> = []
    /// The joins of this attempt (`Joins`), over `reading`; a nested read shares its parent's.
    private var sharedJoins: Joins?

    init(_ runner: QueryRunner, joins: Joins? = nil) {
        self.runner = runner
        self.reading = runner.database
        self.lookups = DatabaseLookup(database: runner.database)
        self.sharedJoins = joins
    }

    var database: MongoDatabase { runner.database }
    var lens: Lens { runner.lens }
    var options: QueryRunner.Options { runner.options }
    var functions: LensFunctions { runner.functions }
    var collection: MongoCollection { reading.collection(lens.collection) }

    func run(_ query: ParsedQuery, versionedCollections: Set<String>, output: (Document) throws -> Bool) throws {
        self.versionedCollections = versionedCollections
        let mechanism = try runner.readMechanism()
        var planned: (plan: QueryPlan, indexes: [Document])?
        switch try runUnpinnedIfItReadsOnce(query, detected: mechanism, output: output) {
        case .ran: return
        case .needsPin(let plan, let indexes): planned = (plan, indexes)
        case .notTried: break
        }
        try consistently(mechanism, output: output) { output in
            let indexes = try planned?.indexes ?? MetadataCache.indexes(collection, ttl: options.metadataTTL)
            let unknown = try checkUnknownVersions(indexes: indexes)
            // The plan made (unpinned, not strict) to see whether a pin was needed serves
            // again unless unknown versions are being left out.
            let plan = try (unknown ? nil : planned?.plan)
                ?? runner.plan(query, mechanism: mechanism, versionedCollections: versionedCollections, strict: unknown,
                               indexes: options.planWithLensIndexes ? nil : indexes)
            // One collection scan meets each stored document once: exact without a pin,
            // and a pin would only slow it (a transaction's reads cost SecantusDB more).
            if mechanism.effective(for: plan) != mechanism { unpinForSingleScan() }
            queryReads = plan.readsFields
            warnAboutSkips(plan)
            logPlan(plan)
            try execute(plan, output: output)
        }
    }

    /// The hot path of a selective query: when the plan reads the collection once (one scan
    /// meets each stored document once, `QueryPlan.readsOnce`), no pin is needed — the
    /// pinned path would unpin for it anyway (`unpinForSingleScan`) after opening the pin
    /// only for the look for unknown versions. Planned first, then the look and the plan
    /// run unpinned: no transaction to start and end, the same reads as before. False when
    /// the plan needs the pin (or documents at unknown versions, left out, change the plan
    /// into one that does): the caller then runs the pinned path from the start, with the
    /// plan made here when it needs the pin (planned once, not twice).
    func runUnpinnedIfItReadsOnce(_ query: ParsedQuery, detected: ReadMechanism, output: (Document) throws -> Bool) throws -> UnpinnedAttempt {
        guard detected == .transaction || detected == .clusterTime else { return .notTried }
        let indexes = try MetadataCache.indexes(collection, ttl: options.metadataTTL)
        let planIndexes = options.planWithLensIndexes ? nil : indexes
        let provisional = try runner.plan(query, mechanism: detected, versionedCollections: versionedCollections, strict: false,
                                          indexes: planIndexes)
        guard detected.effective(for: provisional) == .singleCursor else { return .needsPin(provisional, indexes: indexes) }
        var ran = false
        try consistently(.singleCursor, output: output) { output in
            let unknown = try checkUnknownVersions(indexes: indexes)
            var plan = provisional
            if unknown {
                plan = try runner.plan(query, mechanism: detected, versionedCollections: versionedCollections, strict: true,
                                       indexes: planIndexes)
                guard detected.effective(for: plan) == .singleCursor else { return }
            }
            queryReads = plan.readsFields
            warnAboutSkips(plan)
            logPlan(plan)
            ran = true
            try execute(plan, output: output)
        }
        return ran ? .ran : .notTried
    }

    /// What `runUnpinnedIfItReadsOnce` did.
    enum UnpinnedAttempt {
        /// The query ran unpinned: done.
        case ran
        /// The plan (not strict) needs the pin; made with `indexes`.
        case needsPin(QueryPlan, indexes: [Document])
        /// Not tried (no pinning mechanism), or given up: plan afresh.
        case notTried
    }

    /// Runs `query` inside a read already pinned by its caller (a join's read of a
    /// versioned foreign collection, `Joins.read`): this runner's database is the pinned
    /// one; `strict` when its unknown versions are being left out.
    func runWithinPin(_ query: ParsedQuery, mechanism: ReadMechanism, versionedCollections: Set<String>, strict: Bool,
                      indexes: [Document]?, output: (Document) throws -> Bool) throws {
        self.versionedCollections = versionedCollections
        statistics.readMechanism = mechanism
        let plan = try runner.plan(query, mechanism: mechanism, versionedCollections: versionedCollections, strict: strict,
                                   indexes: options.planWithLensIndexes ? nil : indexes)
        queryReads = plan.readsFields
        try execute(plan, output: output)
    }

    /// Says, whichever plan runs, that an `onError: "skip"` may leave documents out of the
    /// answer (for the versions the plan reads below it).
    func warnAboutSkips(_ plan: QueryPlan) {
        let read = plan.versionsRead
        for step in lens.steps {
            for case let c as ConvertOperation in step.operations where c.onError == .skip && read.contains(where: { $0 <= step.from }) {
                options.warn("note: documents stored below version \(step.to) whose '\(c.field.joined(separator: "."))' the conversion rejects are left out of the answer (onError: skip at \(c.location)); `strata lens check` counts them")
            }
        }
    }

    /// The plan chosen, at debug level: strategy and, per branch, its versions and strategy.
    func logPlan(_ plan: QueryPlan) {
        statistics.mode = plan.mode
        let logger = options.telemetry.logger
        guard logger.logLevel <= .debug else { return }
        let branches = plan.branches.map { b in "v" + b.versions.map(String.init).joined(separator: ",") + ":" + b.strategy.rawValue }
        logger.debug("query planned", metadata: [
            "collection": "\(lens.collection)", "strategy": "\(plan.mode.rawValue)",
            "branches": "\(branches.joined(separator: " "))", "readMechanism": "\(statistics.readMechanism?.rawValue ?? "-")",
        ])
    }

    /// The rest of this attempt reads without the pin (`readsOnce` plans).
    func unpinForSingleScan() {
        reading = database
        lookups = DatabaseLookup(database: database)
        statistics.readMechanism = .singleCursor
    }

    /// Runs `body` with reads pinned by `mechanism`, again from a fresh snapshot when the
    /// server lost it before any output; the runner's reads go to the pinned database.
    func consistently(_ mechanism: ReadMechanism, output: (Document) throws -> Bool,
                      _ body: ((Document) throws -> Bool) throws -> Void) throws {
        statistics.readMechanism = mechanism
        if mechanism == .unpinned {
            options.warn("warning: --consistency best-effort: \(mechanism.guarantee)")
        }
        defer { reading = database; lookups = DatabaseLookup(database: database) }
        try withoutActuallyEscaping(output) { output in
            try withoutActuallyEscaping(body) { body in
                try ConsistentReads(database: database, collection: lens.collection, mechanism: mechanism,
                                    endInBackground: options.endReadsInBackground)
                    .run(retried: { [self] _ in
                        statistics.snapshotRestarts += 1
                        options.telemetry.logger.info("query restarted at a fresh snapshot (the server lost the last)", metadata: [
                            "collection": "\(lens.collection)", "restart": "\(statistics.snapshotRestarts)"])
                    }) { pinned, emitted in
                        reading = pinned
                        lookups = DatabaseLookup(database: pinned)
                        statistics.rerunsForSumTypes = 0
                        try body { doc in
                            emitted.count += 1
                            return try output(doc)
                        }
                    }
            }
        }
    }

    func run(_ plan: QueryPlan, output: (Document) throws -> Bool) throws {
        let mechanism = try runner.readMechanism()
        if mechanism == .singleCursor, !plan.readsOnce {
            throw StrataError.unsupported("this plan reads '\(lens.collection)' more than once, and the server offers no consistent read across commands (a standalone server): documents moving between versions could be counted twice or missed; plan it with the runner (QueryRunner.plan(_:mechanism:)), or use --consistency best-effort")
        }
        try consistently(mechanism, output: output) { output in
            _ = try checkUnknownVersions()
            if mechanism.effective(for: plan) != mechanism { unpinForSingleScan() }
            queryReads = plan.readsFields
            logPlan(plan)
            try execute(plan, output: output)
        }
    }

    func execute(_ plan: QueryPlan, output: (Document) throws -> Bool) throws {
        switch plan.strategy {
        case .partialGroups(let p): try runPartialGroups(p, output: output)
        case .recordOrder(let r): try runRecordOrder(r, output: output)
        case .facets(let f): try runFacets(f, output: output)
        case .sample(let s): try runSample(s, output: output)
        }
    }

    // MARK: unknown versions

    /// True when documents at unknown versions exist and are being ignored; throws when
    /// they exist and are not.
    func checkUnknownVersions(indexes: [Document]? = nil) throws -> Bool {
        let probe = try UnknownVersionProbe(collection: collection, lens: lens).anyUnknown(indexes: indexes)
        statistics.unknownVersionProbe = probe.method.description
        guard probe.found else { return false }
        let filter = lens.filterForUnknownVersions
        let rows = try collection.aggregateAll([
            ["$match": .document(filter)],
            ["$group": ["_id": .string("$" + lens.versionField), "n": ["$sum": 1]]],
            ["$sort": ["n": -1]],
        ])
        let total = rows.reduce(0) { $0 + Int($1["n"]?.exactInt ?? 0) }
        guard total > 0 else { return false }
        let list = rows.prefix(10).map { r in
            "\(lens.versionField) = \(ExtendedJSON.string(r["_id"] ?? .null)) (\(r["n"]?.exactInt ?? 0) document\(r["n"]?.exactInt == 1 ? "" : "s"))"
        }.joined(separator: ", ")
        let message = "\(total) document\(total == 1 ? "" : "s") of '\(lens.collection)' \(total == 1 ? "is" : "are") at versions the lens does not know (it knows \(lens.oldest)...\(lens.newest)): \(list)"
        if options.ignoreUnknownVersions {
            options.warn("warning: \(message); they are left out of this answer (--ignore-unknown-versions)")
            return true
        } else {
            throw StrataError(.unknownVersion, message + "; update the lens, migrate them, or pass --ignore-unknown-versions to leave them out",
                              at: lens.source.map { Location(file: $0) })
        }
    }

    // MARK: execution context for Swift stages

    /// The joins of the Swift stages, over the database this attempt reads (pinned).
    var joins: Joins {
        if let joins = sharedJoins ?? attemptJoins { return joins }
        let joins = Joins(database: reading, mechanism: statistics.readMechanism ?? .unpinned, functions: functions, options: options,
                          versionedCollections: versionedCollections)
        attemptJoins = joins
        return joins
    }

    var executionContext: ExecutionContext {
        var context = joins.context()
        context.memory = memory
        return context
    }

    /// The query's memory budget (`Options.maxMemoryBytes`), shared by its operators.
    lazy var memory: MemoryBudget? = options.maxMemoryBytes.map {
        MemoryBudget(limitBytes: $0, spillBase: options.spillDirectory, minimumRunBytes: options.minimumSpillRunBytes)
    }

    func swiftPipeline(_ stages: [PipelineStage], at loc: Location = Location(path: "merger")) -> PipelineExecutor {
        PipelineExecutor(Pipeline(stages.map(\.parsed)), context: executionContext, location: loc)
    }

    var lensContext: LensContext { lookups.context(functions: functions, joins: joins) }

    /// A documents branch's fetch, read ahead on a thread of its own so the server works
    /// on the next batch while Swift upgrades and evaluates this one (no thread when the
    /// first chunk is all there is). `alongsideOthers`: one of several fetches opened
    /// together (sorted streams), each opened on its reading thread so the server answers
    /// their first batches at once.
    func openDocuments(_ pipeline: [BSON], alongsideOthers: Bool = false) throws -> PrefetchingCursor {
        let collection = collection
        if let (filter, options) = FetchAsFind.find(pipeline) {
            return PrefetchingCursor(firstChunkHere: !alongsideOthers) { try collection.find(filter, options: options) }
        }
        return PrefetchingCursor(firstChunkHere: !alongsideOthers) { try collection.aggregate(pipeline, options: ["allowDiskUse": true]) }
    }

    /// The next stored document of a documents branch, upgraded to the newest version.
    func nextUpgraded(_ cursor: PrefetchingCursor) throws -> Document? {
        try nextStoredAndUpgraded(cursor)?.upgraded
    }

    /// The next stored document of a documents branch as stored (its `_id` finds it again)
    /// and upgraded to the newest version.
    func nextStoredAndUpgraded(_ cursor: PrefetchingCursor) throws -> (stored: Document, upgraded: Document)? {
        while let doc = try cursor.nextDocument() {
            statistics.documentsFetched += 1
            // A single-cursor plan reads every stored document; ignored unknown versions are
            // left out here (other plans' version filters never fetch them).
            if options.ignoreUnknownVersions, !lens.storedVersion(of: doc).isKnown { continue }
            if case .known(let v) = lens.storedVersion(of: doc) {
                if v == lens.newest { return (doc, doc) }
                statistics.upgradesByVersion[v, default: 0] += 1
            }
            statistics.documentsUpgradedInSwift += 1
            do {
                return (doc, try upgradeForQuery(doc))
            } catch is DocumentSkipped {
                // Left out by an `onError: "skip"`, as the server branches' `$match` leaves it.
                statistics.documentsSkippedByLens += 1
                continue
            }
        }
        return nil
    }

    /// The newest-schema fields the running query reads (`QueryPlan.readsFields`).
    var queryReads: Set<String>?

    /// `doc` upgraded; when the whole document cannot be, the stored fields the query's
    /// fields come from (`UpgradeInputs`) are upgraded alone, so the query fails only on
    /// documents whose failure it would read (as a server plan computing those fields does).
    func upgradeForQuery(_ doc: Document) throws -> Document {
        do {
            return try lens.upgrade(doc, context: lensContext)
        } catch let e as StrataError where e.kind == .upgradeFailed {
            guard let fields = queryReads, case .known(let v) = lens.storedVersion(of: doc),
                  let stored = UpgradeInputs.storedPaths(lens, newest: Set(fields.map { [$0] }), version: v),
                  let partial = try? Projection.parseFind(UpgradeInputs.inclusion(stored)).apply(to: doc),
                  let upgraded = try? lens.upgrade(partial, context: lensContext) else { throw e }
            statistics.upgradesOfReadFieldsOnly += 1
            return upgraded
        }
    }

    // MARK: partial groups

    func runPartialGroups(_ plan: QueryPlan.PartialGroups, output: (Document) throws -> Bool) throws {
        if plan.streamedMerge && options.streamedGroupMerge { return try runStreamedPartialGroups(plan, output: output) }
        try runHashedPartialGroups(plan, output: output)
    }

    /// The partial groups of every branch merged in a hash table (`GroupMerger`).
    func runHashedPartialGroups(_ plan: QueryPlan.PartialGroups, output: (Document) throws -> Bool) throws {
        let merger = plan.split.makeMerger(budget: memory)
        for branch in plan.branches {
            switch branch.command {
            case .none:
                continue
            case .aggregate(let pipeline):
                statistics.branchesRun += 1
                let cursor = try collection.aggregate(pipeline, options: ["allowDiskUse": true])
                while var partial = try cursor.nextDocument() {
                    statistics.partialGroups += 1
                    if let raw = branch.rawKey { partial["_id"] = try raw.newestKey(partial["_id"]) }
                    try merger.add(partial)
                }
                statistics.bytesReceived += cursor.bytesReceived
            case .documents:
                try swiftPartialGroups(branch) { p in
                    statistics.partialGroups += 1
                    try merger.add(p)
                }
            }
        }
        let groups = try merger.finish()
        if merger.sumTypeAmbiguous, let exact = plan.withSumWidths.first {
            statistics.rerunsForSumTypes += 1
            return try runHashedPartialGroups(exact, output: output)
        }
        try runMergerStages(plan.mergerStages, over: groups, output: output)
    }

    /// A sorter of partial rows into the order `{$sort: {_id: 1}}` gives them
    /// (`StreamedGroupMerger.sortPattern`), within the query's memory budget.
    func partialRowSorter() -> ExternalSorter {
        ExternalSorter(pattern: StreamedGroupMerger.sortPattern, budget: memory)
    }

    /// A `.documents` branch's partial groups, computed in Swift over its upgraded
    /// documents, each to `each` as the branch's stages give it.
    func swiftPartialGroups(_ branch: Branch, each: (Document) throws -> Void) throws {
        guard case .documents(let pipeline) = branch.command else { return }
        statistics.branchesRun += 1
        let cursor = try openDocuments(pipeline)
        try withoutActuallyEscaping(each) { each in
            let stream = try swiftPipeline(branch.swiftStages, at: Location(path: "branch v\(branch.versions.map(String.init).joined(separator: ","))"))
                .makeStream { try each($0); return true }
            while let doc = try nextUpgraded(cursor) {
                if try !stream.push(doc) { break }
            }
            try stream.finish()
        }
        statistics.bytesReceived += cursor.bytesReceived
    }

    /// The branches' partial groups, each sorted by key (on the server; in Swift for a
    /// `.documents` branch), merged as streams (`StreamedGroupMerger`): one group per
    /// branch in memory. The groups go through the merger stages as they are merged.
    ///
    /// `skip`: outputs the caller already has from an earlier run of the same merge (the
    /// merge order is the sort-key order, the same in every run). A group whose `$sum` type
    /// is ambiguous runs the merge again with widths, skipping what was delivered. A branch
    /// whose rows are not in the order `$sort` promises (a server that sorts otherwise)
    /// runs it again by hash when nothing was delivered, and is refused otherwise.
    func runStreamedPartialGroups(_ plan: QueryPlan.PartialGroups, output: (Document) throws -> Bool, skip: Int = 0) throws {
        statistics.streamedGroupMerges += 1
        enum Source { case cursor(MongoCursor), sorted(ExternalSorter.SortedOutput) }
        var sources: [Source] = []
        for branch in plan.branches {
            switch branch.command {
            case .none: continue
            case .aggregate(let pipeline) where branch.rawKey == nil:
                statistics.branchesRun += 1
                sources.append(.cursor(try collection.aggregate(pipeline, options: ["allowDiskUse": true])))
            case .aggregate(let pipeline):
                // keys from stored values: mapped to newest keys, then sorted here
                statistics.branchesRun += 1
                let cursor = try collection.aggregate(pipeline, options: ["allowDiskUse": true])
                let sorter = partialRowSorter()
                while var row = try cursor.nextDocument() {
                    row["_id"] = try branch.rawKey?.newestKey(row["_id"])
                    statistics.partialGroups += 1
                    try sorter.add(row, key: try StreamedGroupMerger.sortKey(row))
                }
                statistics.bytesReceived += cursor.bytesReceived
                sources.append(.sorted(try sorter.sorted()))
            case .documents:
                let sorter = partialRowSorter()
                try swiftPartialGroups(branch) { row in
                    statistics.partialGroups += 1
                    try sorter.add(row, key: try StreamedGroupMerger.sortKey(row))
                }
                sources.append(.sorted(try sorter.sorted()))
            }
        }
        var delivered = 0
        func deliver(_ d: Document) throws -> Bool {
            delivered += 1
            return delivered <= skip ? true : try output(d)
        }
        do {
            try withoutActuallyEscaping(deliver) { deliver in
                let stream = plan.mergerStages.isEmpty ? nil : try swiftPipeline(plan.mergerStages).makeStream(output: deliver)
                try StreamedGroupMerger(split: plan.split).merge(streams: sources.count, next: { s in
                    switch sources[s] {
                    case .cursor(let cursor):
                        guard let row = try cursor.nextDocument() else { return nil }
                        statistics.partialGroups += 1
                        return row
                    case .sorted(let output):
                        return try output.next()
                    }
                }, emit: { group in
                    try stream.map { try $0.push(group) } ?? deliver(group)
                })
                try stream?.finish()
            }
        } catch StreamedGroupMerger.Failure.sumTypeAmbiguous {
            guard let exact = plan.withSumWidths.first else {
                throw StrataError.evaluation("a streamed merge found an ambiguous $sum type and has no plan with widths to run again")
            }
            statistics.rerunsForSumTypes += 1
            return try runStreamedPartialGroups(exact, output: output, skip: max(skip, delivered))
        } catch let failure as StreamedGroupMerger.Failure {
            guard skip == 0, delivered == 0 else {
                throw StrataError.evaluation("\(failure): the server did not sort the partial groups as $sort does, and "
                    + "\(delivered) results were already delivered, so the merge cannot start again by hash; "
                    + "add a blocking stage such as $sort after the $group")
            }
            statistics.hashMergesAfterUnorderedKeys += 1
            return try runHashedPartialGroups(plan, output: output)
        }
        for case .cursor(let c) in sources { statistics.bytesReceived += c.bytesReceived }
    }

    func runMergerStages(_ stages: [PipelineStage], over docs: [Document], output: (Document) throws -> Bool) throws {
        if stages.isEmpty {
            for d in docs { if try !output(d) { return } }
            return
        }
        try withoutActuallyEscaping(output) { output in
            let stream = try swiftPipeline(stages).makeStream(output: output)
            for d in docs { if try !stream.push(d) { break } }
            try stream.finish()
        }
    }

    // MARK: record order

    func runRecordOrder(_ plan: QueryPlan.RecordOrder, output: (Document) throws -> Bool) throws {
        var cursors: [PrefetchingCursor] = []
        let fetches = plan.branches.filter { if case .documents = $0.command { return true } else { return false } }.count
        for branch in plan.branches {
            guard case .documents(let pipeline) = branch.command else { continue }
            statistics.branchesRun += 1
            cursors.append(try openDocuments(pipeline, alongsideOthers: fetches > 1))
        }
        let merger = SortedStreamMerger(pattern: plan.mergeSort)
        try withoutActuallyEscaping(output) { output in
            let stream = try swiftPipeline(plan.mergerStages, at: Location(path: "pipeline")).makeStream(output: output)
            try merger.merge(streams: cursors.count, next: { s in
                guard let doc = try nextUpgraded(cursors[s]) else { return nil }
                return SortedStreamMerger.Item(document: doc, key: try merger.key(of: doc), stream: s)
            }, emit: { item in
                try stream.push(item.document)
            })
            try stream.finish()
        }
        statistics.bytesReceived += cursors.reduce(0) { $0 + $1.bytesReceived }
    }

    // MARK: facets

    func runFacets(_ plan: QueryPlan.Facets, output: (Document) throws -> Bool) throws {
        var doc = Document()
        for (name, sub) in plan.facets {
            var results: [BSON] = []
            try execute(sub) { results.append(.document($0)); return true }
            doc.append(name, .array(results))
        }
        try runMergerStages(plan.mergerStages, over: [doc], output: output)
    }
}
