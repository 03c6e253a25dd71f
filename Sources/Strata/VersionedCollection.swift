import Foundation
import StrataBSON
import StrataEvaluator
import StrataMongo

/// The entry point for analytics code: a database plus the folder of lens files.
public struct StrataClient: Sendable {
    public let database: MongoDatabase
    public let schemasDirectory: URL
    public var functions: LensFunctions
    public var options: QueryRunner.Options

    public init(database: MongoDatabase, schemasDirectory: URL, functions: LensFunctions = .builtIn,
                options: QueryRunner.Options = QueryRunner.Options()) {
        self.database = database
        self.schemasDirectory = schemasDirectory
        self.functions = functions
        self.options = options
    }

    /// A collection read through its lens (`<schemas>/<name>.json`).
    public func collection(_ name: String) throws -> VersionedCollection {
        try collection(lens: try Lens.load(collection: name, schemasDirectory: schemasDirectory))
    }

    /// A collection read through a lens loaded beforehand (from this client's folder).
    public func collection(lens: Lens) throws -> VersionedCollection {
        // A lens lookup into a collection with a lens of its own reads it as if migrated.
        let lens = try lens.bindingLookups(schemasDirectory: schemasDirectory)
        if let unbound = lens.unboundFunctions(functions).first {
            throw StrataError.badInput("the lens uses the function '\(unbound.function)', which is not bound (LensFunctions.register)",
                                       at: unbound.location)
        }
        var options = options
        let directory = schemasDirectory, functions = functions
        options.foreignLens = { name in
            // A join reads another versioned collection through its own lens, with this client's functions.
            let foreign = try Lens.load(collection: name, schemasDirectory: directory).bindingLookups(schemasDirectory: directory)
            if let unbound = foreign.unboundFunctions(functions).first {
                throw StrataError.badInput("the lens uses the function '\(unbound.function)', which is not bound (LensFunctions.register)",
                                           at: unbound.location)
            }
            return foreign
        }
        return VersionedCollection(database: database, lens: lens, functions: functions, options: options,
                                   versionedCollections: versionedCollections(), schemasDirectory: schemasDirectory)
    }

    /// The collections that have a lens file.
    public func versionedCollections() -> Set<String> {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: schemasDirectory.path)) ?? []
        return Set(files.compactMap(Lens.collection(ofLensFile:)))
    }
}

/// A collection whose documents sit at several schema versions, queried as if
/// every document were at the newest version: answers equal those of the same
/// query on a fully migrated collection.
public struct VersionedCollection: Sendable {
    public let database: MongoDatabase
    public let lens: Lens
    public let functions: LensFunctions
    public var options: QueryRunner.Options
    public let versionedCollections: Set<String>
    /// The folder of lens files: where a `$out`/`$merge` into another versioned collection
    /// finds that collection's lens (`write`).
    public let schemasDirectory: URL?

    public init(database: MongoDatabase, lens: Lens, functions: LensFunctions = .builtIn,
                options: QueryRunner.Options = QueryRunner.Options(), versionedCollections: Set<String> = [],
                schemasDirectory: URL? = nil) {
        self.database = database
        self.lens = lens
        self.functions = functions
        self.options = options
        self.versionedCollections = versionedCollections
        self.schemasDirectory = schemasDirectory
    }

    public var name: String { lens.collection }

    var runner: QueryRunner { QueryRunner(database: database, lens: lens, functions: functions, options: options) }

    /// The plan strata would run now: shaped for the collection's indexes, the kind of
    /// server and how it pins reads (all asked of it). `file` names the query in messages.
    public func plan(_ pipeline: [BSON], file: String? = nil) throws -> QueryPlan {
        let indexes = try MetadataCache.indexes(database.collection(name), ttl: options.metadataTTL)
        let runner = runner
        return try runner.plan(try ParsedQuery(QuerySpec(collection: name, pipeline: pipeline, file: file)), mechanism: try runner.readMechanism(),
                               versionedCollections: versionedCollections, indexes: indexes)
    }

    /// How a query's reads are pinned on this server, and what that guarantees while
    /// documents move between versions.
    public func readMechanism() throws -> ReadMechanism { try runner.readMechanism() }

    /// Runs an aggregation pipeline written for the newest schema; results stream to `each`
    /// (return false to stop).
    public func aggregate(_ pipeline: [BSON], file: String? = nil, each: (Document) throws -> Bool) throws {
        try runner.run(QuerySpec(collection: name, pipeline: pipeline, file: file), versionedCollections: versionedCollections, output: each)
    }

    /// Runs a query parsed beforehand (`ParsedQuery`); results stream to `each`.
    @discardableResult
    public func aggregate(_ query: ParsedQuery, each: (Document) throws -> Bool) throws -> QueryRunner.Statistics {
        try runner.run(query, versionedCollections: versionedCollections, output: each)
    }

    /// The plan as a document, each branch with the server's own explain of its command
    /// (`serverPlan`: the winning plan's stages and indexes).
    public func explain(_ pipeline: [BSON], file: String? = nil) throws -> Document {
        let plan = try self.plan(pipeline, file: file)
        var doc = try ServerExplain(collection: database.collection(name)).annotate(plan)
        let look = try UnknownVersionProbe(collection: database.collection(name), lens: lens).anyUnknown()
        doc["unknownVersionLook"] = .string(look.method.description + (look.found ? "; documents at unknown versions exist" : ""))
        let detected = try readMechanism()
        let mechanism = detected.effective(for: plan)
        let note = mechanism == detected ? nil
            : "the plan reads the collection once, with one collection scan: no \(detected.rawValue) pin is needed"
        var consistency: Document = ["level": .string(options.consistency.rawValue), "mechanism": .string(mechanism.rawValue),
                                     "guarantee": .string(mechanism.guarantee)]
        if let note { consistency["note"] = .string(note) }
        doc["consistency"] = .document(consistency)
        if let output = try OutputStage.split(pipeline, at: Location(file: file, path: "pipeline")).output {
            let versioned = (output.database ?? database.name) == database.name && versionedCollections.contains(output.collection)
            doc["output"] = .document(output.explainDocument(versionedTarget: versioned))
        }
        return doc
    }

    /// Runs an aggregation pipeline written for the newest schema.
    public func aggregate(_ pipeline: [BSON]) throws -> [Document] {
        var out: [Document] = []
        try aggregate(pipeline) { out.append($0); return true }
        return out
    }

    /// The number of documents matching `filter` (over the newest schema).
    public func count(_ filter: Document = [:]) throws -> Int {
        let rows = try aggregate([["$match": .document(filter)], ["$count": "n"]])
        return Int(rows.first?["n"]?.exactInt ?? 0)
    }

    /// The distinct values at `key` among documents matching `filter`, in BSON order
    /// (arrays at the key contribute their elements, as the `distinct` command does).
    public func distinct(_ key: String, filter: Document = [:]) throws -> [BSON] {
        var seen = Set<GroupKey>()
        var values: [BSON] = []
        let path = Query.components(key)
        try aggregate([["$match": .document(filter)]]) { doc in
            for v in Self.distinctValues(in: .document(doc), path[...]) where seen.insert(GroupKey(v)).inserted {
                values.append(v)
            }
            return true
        }
        return values.sorted { BSONOrder.compare($0, $1) < 0 }
    }

    static func distinctValues(in value: BSON, _ path: ArraySlice<String>) -> [BSON] {
        guard let first = path.first else {
            if case .array(let items) = value { return items }
            return [value]
        }
        switch value {
        case .document(let d):
            guard let sub = d[first] else { return [] }
            return distinctValues(in: sub, path.dropFirst())
        case .array(let items):
            return items.flatMap { distinctValues(in: $0, path) }
        default:
            return []
        }
    }

    /// `find` over the newest schema: filter, sort, skip, limit and projection.
    public func find(_ filter: Document = [:], sort: Document? = nil, skip: Int? = nil, limit: Int? = nil,
                     projection: Document? = nil) throws -> [Document] {
        var pipeline: [BSON] = [["$match": .document(filter)]]
        if let sort { pipeline.append(["$sort": .document(sort)]) }
        if let skip, skip > 0 { pipeline.append(["$skip": .int64(Int64(skip))]) }
        if let limit, limit > 0 { pipeline.append(["$limit": .int64(Int64(limit))]) }
        if let projection, !projection.isEmpty { pipeline.append(["$project": .document(projection)]) }
        return try aggregate(pipeline)
    }

    // MARK: async (blocking work on threads of its own)

    public func aggregate(_ pipeline: [BSON]) async throws -> [Document] {
        let me = self
        return try await runBlocking { try me.aggregate(pipeline) }
    }

    public func count(_ filter: Document = [:]) async throws -> Int {
        let me = self
        return try await runBlocking { try me.count(filter) }
    }

    public func find(_ filter: Document = [:], sort: Document? = nil, skip: Int? = nil, limit: Int? = nil,
                     projection: Document? = nil) async throws -> [Document] {
        let me = self
        return try await runBlocking { try me.find(filter, sort: sort, skip: skip, limit: limit, projection: projection) }
    }

    public func distinct(_ key: String, filter: Document = [:]) async throws -> [BSON] {
        let me = self
        return try await runBlocking { try me.distinct(key, filter: filter) }
    }
}
