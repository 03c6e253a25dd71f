import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import Synchronization

/// What the Swift stages of one query attempt read from other collections — `$lookup`,
/// `$graphLookup`, `$unionWith` — through the attempt's pinned database, so the foreign
/// side is read in the same state as the query's own collection.
///
/// A collection without a lens is read as stored. A collection with a lens of its own
/// (`foreignLens`) is read as if migrated: each foreign read is a strata query over it,
/// planned per foreign version by the same planner (the join's equality and the
/// sub-pipeline's leading `$match` stages pushed down, served by the foreign versions'
/// indexes); what the sub-pipeline does after that runs in Swift with the join's
/// variables. `$lookup` asks once per batch of local documents (`lookupBatch`): one
/// foreign query for the batch's local values, each document's equality then applied in
/// Swift with `$lookup`'s matching rules.
package struct Joins: Sendable {
    /// The attempt's database: pinned to one state of the server when the query is.
    let database: MongoDatabase
    /// How the attempt's reads are pinned (the foreign plans read under the same pin).
    let mechanism: ReadMechanism
    let functions: LensFunctions
    let options: QueryRunner.Options
    let versionedCollections: Set<String>
    /// Foreign lenses and the unknown-version looks, once per attempt.
    private let cache: ForeignCache

    init(database: MongoDatabase, mechanism: ReadMechanism, functions: LensFunctions, options: QueryRunner.Options,
         versionedCollections: Set<String>) {
        self.database = database
        self.mechanism = mechanism
        self.functions = functions
        self.options = options
        self.versionedCollections = versionedCollections
        self.cache = ForeignCache()
    }

    /// The evaluator's context for the attempt's Swift stages.
    func context(variables: Variables = Variables()) -> ExecutionContext {
        let joins = self
        return ExecutionContext(variables: variables, lookup: { request in
            try joins.lookup(request)
        }, unionWith: { from, pipeline in
            try joins.union(from, pipeline)
        }, lookupBatch: { requests in
            try joins.lookupBatch(requests)
        }, sampleSeed: options.sampleSeed)
    }

    // MARK: the three joins

    func lookup(_ request: LookupRequest) throws -> [Document] {
        let options: Document = request.variables.isEmpty ? [:] : ["let": .document(request.variables)]
        guard let from = request.from else { return try database.aggregate(request.pipeline, options: options).all() }
        guard let lens = try foreignLens(from) else { return try database.collection(from).aggregateAll(request.pipeline, options: options) }
        return try answer(request, over: try read(lens, prefilter(request.equality, request.subPipeline)), lens: lens)
    }

    /// One foreign read per batch (per distinct sub-pipeline within it: a `$graphLookup`
    /// level's requests differ only when a frontier holds null): for `localField`/
    /// `foreignField` and `$graphLookup` the requests' equalities widened to one filter over
    /// all their values; for the pipeline form the sub-pipeline's leading variable-free
    /// `$match` stages, the same for every document. Each document's answer is then its own
    /// equality and sub-pipeline over the candidates, in Swift.
    func lookupBatch(_ requests: [LookupRequest]) throws -> [[Document]] {
        var answers = [[Document]?](repeating: nil, count: requests.count)
        var groups: [(lens: Lens, members: [Int])] = []
        var groupOf: [String: Int] = [:]
        for (i, request) in requests.enumerated() {
            guard let from = request.from, let lens = try foreignLens(from) else {
                answers[i] = try lookup(request)
                continue
            }
            let key = from + "\u{0}" + (request.equality == nil ? "pipeline" : "equality") + "\u{0}"
                + ExtendedJSON.string(.array(Array(request.subPipeline)), mode: .canonical)
            if let g = groupOf[key] {
                groups[g].members.append(i)
            } else {
                groupOf[key] = groups.count
                groups.append((lens, [i]))
            }
        }
        for (lens, members) in groups {
            let first = requests[members[0]]
            let equality: Document?
            if first.equality == nil {
                equality = nil
            } else if let widened = EqualityBatch.widen(members.map { requests[$0].equality }) {
                equality = widened
            } else {
                for i in members { answers[i] = try lookup(requests[i]) }
                continue
            }
            let candidates = try read(lens, prefilter(equality, first.subPipeline))
            for i in members { answers[i] = try answer(requests[i], over: candidates, lens: lens) }
        }
        return answers.map { $0 ?? [] }
    }

    func union(_ from: String?, _ pipeline: [BSON]) throws -> [Document] {
        guard let from else { return try database.aggregate(pipeline).all() }
        guard let lens = try foreignLens(from) else { return try database.collection(from).aggregateAll(pipeline) }
        // No variables here: the whole sub-pipeline is a strata query over the foreign collection.
        return try read(lens, pipeline)
    }

    // MARK: versioned foreign collections

    /// The lens of `from` when it has one (a collection with a lens file).
    func foreignLens(_ from: String) throws -> Lens? {
        guard versionedCollections.contains(from) else { return nil }
        return try cache.lens(from) { try options.foreignLens(from) }
    }

    /// The stages a batch's foreign read starts with: the equality (when the join has
    /// one), then the sub-pipeline's leading `$match` stages that read no variable (they
    /// are the same for every local document, so the planner may push them down).
    func prefilter(_ equality: Document?, _ sub: ArraySlice<BSON>) -> [BSON] {
        let leading = sub.prefix { stage in
            stage.singleField?.key == "$match" && !ExtendedJSON.string(stage, mode: .canonical).contains("\"$$")
        }
        return (equality.map { [["$match": .document($0)]] } ?? []) + leading
    }

    /// The documents of versioned `lens.collection` that `stages` give, read as if
    /// migrated: a strata query under this attempt's pin.
    func read(_ lens: Lens, _ stages: [BSON]) throws -> [Document] {
        let runner = QueryRunner(database: database, lens: lens, functions: functions, options: options)
        let execution = QueryExecution(runner, joins: self)
        let indexes = try cache.indexes(lens.collection) { try database.collection(lens.collection).listIndexes() }
        var out: [Document] = []
        try execution.runWithinPin(try ParsedQuery(QuerySpec(collection: lens.collection, pipeline: stages)), mechanism: mechanism,
                                   versionedCollections: versionedCollections,
                                   strict: try cache.ignoresUnknown(lens.collection) { try execution.checkUnknownVersions(indexes: indexes) },
                                   indexes: indexes) {
            out.append($0)
            return true
        }
        return out
    }

    /// One document's join over candidates read for its batch: its own equality, then the
    /// whole sub-pipeline in Swift with its variables.
    func answer(_ request: LookupRequest, over candidates: [Document], lens: Lens) throws -> [Document] {
        var mine = candidates
        let variables = Variables(Dictionary(request.variables.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }), now: request.now)
        if let equality = request.equality {
            let query = try Query.parse(equality)
            mine = try candidates.filter { try query.matches($0, variables: variables) }
        }
        guard !request.subPipeline.isEmpty else { return mine }
        let location = Location(path: "$lookup into '\(lens.collection)'.pipeline")
        let pipeline = try Pipeline.parse(Array(request.subPipeline), at: location)
        return try PipelineExecutor(pipeline, context: context(variables: variables), location: location).run(mine)
    }
}

/// Per attempt: the foreign lenses loaded, and whether each foreign collection holds
/// documents at versions its lens does not know (refused, or left out when ignoring them).
final class ForeignCache: Sendable {
    private let lenses = Mutex<[String: Lens]>([:])
    private let unknown = Mutex<[String: Bool]>([:])
    private let indexLists = Mutex<[String: [Document]]>([:])

    func indexes(_ name: String, list: () throws -> [Document]) throws -> [Document] {
        if let hit = indexLists.withLock({ $0[name] }) { return hit }
        let found = try list()
        indexLists.withLock { $0[name] = found }
        return found
    }

    func lens(_ name: String, load: () throws -> Lens?) throws -> Lens? {
        if let hit = lenses.withLock({ $0[name] }) { return hit }
        guard let lens = try load() else { return nil }
        lenses.withLock { $0[name] = lens }
        return lens
    }

    func ignoresUnknown(_ name: String, look: () throws -> Bool) throws -> Bool {
        if let hit = unknown.withLock({ $0[name] }) { return hit }
        let found = try look()
        unknown.withLock { $0[name] = found }
        return found
    }
}

/// A batch of `$lookup` equalities (`{f: {$eq: v}}`, `{f: {$in: [...]}}`, or their
/// `$or` with regex values matched as values) widened to one filter over every value.
enum EqualityBatch {
    static func widen(_ filters: [Document?]) -> Document? {
        var field: String?
        var plain: [BSON] = [], regexes: [BSON] = []
        var seen: Set<String> = []
        func add(_ v: BSON, regex: Bool) {
            guard seen.insert(ExtendedJSON.string(v, mode: .canonical)).inserted else { return }
            if regex { regexes.append(v) } else { plain.append(v) }
        }
        func collect(_ d: Document) -> Bool {
            guard let (key, value) = BSON.document(d).singleField else { return false }
            if key == "$or" {
                return value.arrayValue?.allSatisfy { $0.documentValue.map(collect) ?? false } ?? false
            }
            guard field == nil || field == key, let op = value.singleField else { return false }
            field = key
            switch op.key {
            case "$eq":
                if case .regex = op.value { add(op.value, regex: true) } else { add(op.value, regex: false) }
            case "$in":
                guard let values = op.value.arrayValue else { return false }
                values.forEach { add($0, regex: false) }
            default: return false
            }
            return true
        }
        for f in filters {
            guard let f, collect(f) else { return nil }
        }
        guard let field else { return nil }
        var clauses: [Document] = []
        // An empty frontier (a `$graphLookup` level asking only about missing values) is `$in: []`.
        if !plain.isEmpty || regexes.isEmpty { clauses.append([field: ["$in": .array(plain)]]) }
        clauses += regexes.map { [field: ["$eq": $0]] }
        return clauses.count == 1 ? clauses[0] : ["$or": .array(clauses.map { .document($0) })]
    }
}
