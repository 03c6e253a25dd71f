import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataMongo

/// What one run of one way returned.
package struct BenchAnswer: Sendable {
    package var results: [Document]
    /// BSON bytes received from the server (cursor documents).
    package var bytesReceived: Int
    /// The planner's `QueryRunner.Statistics`, for the planner way.
    package var plannerStatistics: BenchPlannerStatistics?
}

/// `QueryRunner.Statistics` as the report keeps it.
package struct BenchPlannerStatistics: Sendable, Codable, Equatable {
    package var branchesRun: Int
    package var documentsFetched: Int
    package var partialGroups: Int
    package var bytesReceived: Int
    package var documentsUpgradedInSwift: Int
    /// Sorted runs written past the memory budget (nil in reports from before budgets).
    package var spillRuns: Int? = nil
}

/// The four ways of answering a query over the benchmark's collections.
package struct BenchWays: Sendable {
    package let database: MongoDatabase
    /// The lens, describing the mixed collection.
    package let lens: Lens
    package let migratedCollection: String
    package let functions: LensFunctions
    /// Collections with a lens file (for the planner's `$lookup` handling).
    package let versionedCollections: Set<String>
    /// `lens.upgradingViewStages()`: nil when some step runs only in Swift.
    package let viewStages: [BSON]?

    package init(database: MongoDatabase, lens: Lens, migratedCollection: String, functions: LensFunctions = .builtIn,
                versionedCollections: Set<String> = []) {
        self.database = database
        self.lens = lens
        self.migratedCollection = migratedCollection
        self.functions = functions
        self.versionedCollections = versionedCollections
        self.viewStages = lens.upgradingViewStages()
    }

    /// Why a way cannot run at all for this lens (nil: it can).
    package func unavailable(_ way: BenchWay) -> String? {
        guard way == .upgrading, viewStages == nil else { return nil }
        let op = lens.serverUpgradeObstacle(from: lens.oldest)
        return "the lens has a step only Swift can run (\(op.map { "\($0.name) at \($0.location)" } ?? "an operation without server stages")): no upgrading aggregate"
    }

    package func run(_ way: BenchWay, _ query: BenchQuery) throws -> BenchAnswer {
        switch way {
        case .ideal: return try aggregate(database.collection(migratedCollection), query.pipeline)
        case .upgrading:
            guard let viewStages else { throw StrataError.unsupported(unavailable(.upgrading) ?? "no upgrading aggregate") }
            return try aggregate(database.collection(lens.collection), viewStages + query.pipeline)
        case .planner: return try planner(query)
        case .plannerUnpinned: return try planner(query, consistency: .bestEffort)
        case .clientSide: return try clientSide(query)
        }
    }

    /// One aggregate command, drained.
    func aggregate(_ collection: MongoCollection, _ pipeline: [BSON]) throws -> BenchAnswer {
        let cursor = try collection.aggregate(pipeline, options: ["allowDiskUse": true])
        var results: [Document] = []
        while let d = try cursor.nextDocument() { results.append(d) }
        return BenchAnswer(results: results, bytesReceived: cursor.bytesReceived)
    }

    /// strata's planner through its public runner, which counts what it received.
    func planner(_ query: BenchQuery, consistency: Consistency = .snapshot) throws -> BenchAnswer {
        var results: [Document] = []
        let s = try planner(query, consistency: consistency) { results.append($0) }
        return BenchAnswer(results: results, bytesReceived: s.bytesReceived, plannerStatistics: s)
    }

    /// The planner way with its results streamed to `each`, not kept (the memory mode:
    /// what strata itself holds).
    func planner(_ query: BenchQuery, consistency: Consistency = .snapshot, maxMemoryBytes: Int? = 256 << 20,
                 each: (Document) throws -> Void) throws -> BenchPlannerStatistics {
        var options = QueryRunner.Options(consistency: consistency)
        options.maxMemoryBytes = maxMemoryBytes
        let runner = QueryRunner(database: database, lens: lens, functions: functions, options: options)
        let s = try runner.run(QuerySpec(collection: lens.collection, pipeline: query.pipeline, file: query.file),
                               versionedCollections: versionedCollections) { try each($0); return true }
        return BenchPlannerStatistics(branchesRun: s.branchesRun, documentsFetched: s.documentsFetched,
                                      partialGroups: s.partialGroups, bytesReceived: s.bytesReceived,
                                      documentsUpgradedInSwift: s.documentsUpgradedInSwift, spillRuns: s.spillRuns)
    }

    /// What an application without strata would write: one `find` over everything,
    /// each document upgraded in Swift through the lens (documents at the newest
    /// version as they are), the pipeline run by strata's Swift evaluator as they stream in.
    func clientSide(_ query: BenchQuery) throws -> BenchAnswer {
        let lookups = DatabaseLookup(database: database)
        let context = lookups.context(functions: functions)
        let executor = PipelineExecutor(try Pipeline.parse(query.pipeline, at: Location(file: query.file, path: "pipeline")),
                                        context: executionContext, location: Location(file: query.file, path: "pipeline"))
        var results: [Document] = []
        let stream = try executor.makeStream { results.append($0); return true }
        let cursor = try database.collection(lens.collection).find([:])
        while let stored = try cursor.nextDocument() {
            let doc: Document
            if case .known(let v) = lens.storedVersion(of: stored), v == lens.newest {
                doc = stored
            } else {
                doc = try lens.upgrade(stored, context: context)
            }
            if try !stream.push(doc) { break }
        }
        try stream.finish()
        return BenchAnswer(results: results, bytesReceived: cursor.bytesReceived)
    }

    /// `$lookup`/`$unionWith` stages of a Swift-run pipeline ask the server.
    var executionContext: ExecutionContext {
        let db = database
        return ExecutionContext(lookup: { request in
            let options: Document = request.variables.isEmpty ? [:] : ["let": .document(request.variables)]
            guard let from = request.from else { return try db.aggregate(request.pipeline, options: options).all() }
            return try db.collection(from).aggregateAll(request.pipeline, options: options)
        }, unionWith: { from, pipeline in
            guard let from else { return try db.aggregate(pipeline).all() }
            return try db.collection(from).aggregateAll(pipeline)
        })
    }
}
