import Foundation
import Strata
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// Newest-version documents of one collection, for testing code that queries the
/// collection while it is mid-migration.
///
/// Made from the documents the collection would hold once fully migrated (Swift
/// `Document`s, `Encodable` values, or an Extended JSON lines file), it stores them
/// in a sibling collection, *the migrated copy* (`<collection>_migrated`), at once. Then
/// `seed(mix:seed:)` stores the same documents in the collection itself at versions
/// drawn from a mix, each down-migrated through the lens (`Seeder`), and the returned
/// `SeededCollection` answers a pipeline both ways: through strata, and directly on the
/// migrated copy. `assertSameAnswer` runs that over several mixes and throws when the
/// answers differ.
///
/// The lens's lookups (devices' `products`, say) read the same database: insert those
/// collections (`insert(_:into:)`) before seeding. A lens step that cannot undo itself
/// (an application-defined hash) needs a down function in `functions`
/// (`LensFunctions.registerDown`). A document its drawn version cannot hold (a list the
/// old shape keeps one element of) is refused unless `unrepresentable` is `.storeNewer`.
public struct MidMigrationFixture: Sendable {
    /// The database both the collection and its migrated copy live in.
    public let database: MongoDatabase
    /// The collection's lens (`<schemasDirectory>/<collection>.json`).
    public let lens: Lens
    public let schemasDirectory: URL
    /// The documents given, at the lens's newest version, in order.
    public let documents: [Document]
    /// Application functions (for the upgrade) and down functions (for seeding).
    public let functions: LensFunctions
    /// What seeding does with a document its drawn version cannot hold.
    public let unrepresentable: Seeder.Unrepresentable
    /// The migrated copy's name: `<collection>_migrated`.
    public let migratedName: String
    /// The migrated copies of other versioned collections the pipelines join
    /// (`["users": "users_migrated"]`): a join into them reads the copy when a pipeline
    /// runs directly on the migrated copy. Joins into the collection itself always do.
    public let migratedCopies: [String: String]
    /// How strata runs the queries (a server profile, a `$sample` seed...).
    public let queryOptions: QueryRunner.Options

    public var collection: String { lens.collection }

    /// Loads the lens of `collection` and writes `documents` (newest version, each with an
    /// `_id`, which the collection and its copy share) to the migrated copy, replacing it.
    public init(database: MongoDatabase, schemasDirectory: URL, collection: String, documents: [Document],
                functions: LensFunctions = .builtIn, unrepresentable: Seeder.Unrepresentable = .refuse,
                migratedCopies: [String: String] = [:], queryOptions: QueryRunner.Options = QueryRunner.Options()) throws {
        if let i = documents.firstIndex(where: { $0["_id"] == nil }) {
            throw StrataTestingError("document #\(i + 1) has no _id: give every document one (the collection and its migrated copy must share them)")
        }
        self.database = database
        self.schemasDirectory = schemasDirectory
        self.lens = try Lens.load(collection: collection, schemasDirectory: schemasDirectory)
            .bindingLookups(schemasDirectory: schemasDirectory)
        self.documents = documents
        self.functions = functions
        self.unrepresentable = unrepresentable
        self.migratedName = collection + "_migrated"
        self.migratedCopies = migratedCopies
        self.queryOptions = queryOptions
        try insert(documents, into: migratedName, replacing: true)
    }

    /// The same, with the documents encoded from `values` (`BSONEncoder`).
    public init<T: Encodable>(database: MongoDatabase, schemasDirectory: URL, collection: String, values: [T],
                              functions: LensFunctions = .builtIn, unrepresentable: Seeder.Unrepresentable = .refuse,
                              migratedCopies: [String: String] = [:], queryOptions: QueryRunner.Options = QueryRunner.Options()) throws {
        let encoder = BSONEncoder()
        try self.init(database: database, schemasDirectory: schemasDirectory, collection: collection,
                      documents: try values.map { try encoder.encode($0) }, functions: functions,
                      unrepresentable: unrepresentable, migratedCopies: migratedCopies, queryOptions: queryOptions)
    }

    /// The same, with the documents read from an Extended JSON lines file (`strata seed`'s input).
    public init(database: MongoDatabase, schemasDirectory: URL, collection: String, jsonLines: URL,
                functions: LensFunctions = .builtIn, unrepresentable: Seeder.Unrepresentable = .refuse,
                migratedCopies: [String: String] = [:], queryOptions: QueryRunner.Options = QueryRunner.Options()) throws {
        try self.init(database: database, schemasDirectory: schemasDirectory, collection: collection,
                      documents: try Self.readJSONLines(jsonLines), functions: functions,
                      unrepresentable: unrepresentable, migratedCopies: migratedCopies, queryOptions: queryOptions)
    }

    /// Inserts `documents` as they are into `collection` of the fixture's database (a
    /// collection the lens or the pipelines read: devices' `products`). `replacing`
    /// drops it first.
    public func insert(_ documents: [Document], into collection: String, replacing: Bool = true) throws {
        let c = database.collection(collection)
        if replacing { try c.drop() }
        var rest = documents[...]
        while !rest.isEmpty {
            try c.insertMany(Array(rest.prefix(1000)), ordered: true, validate: false)
            rest = rest.dropFirst(1000)
        }
    }

    /// Stores the documents in the collection (dropped first) at versions drawn from `mix`
    /// (one weight per version the lens knows, oldest first) with `seed`, each checked to
    /// upgrade back exactly (`Seeder`).
    public func seed(mix: [Double], seed: UInt64) throws -> SeededCollection {
        let seeder = try Seeder(collection: database.collection(collection), lens: lens,
                                options: Seeder.Options(mix: mix, seed: seed, drop: true, unrepresentable: unrepresentable,
                                                        functions: functions))
        let summary = try seeder.seed(documents)
        return try SeededCollection(fixture: self, mix: mix, seed: seed, summary: summary)
    }

    /// The collection as seeded elsewhere (`strata seed --mix ... --seed ...` over the same
    /// documents): compared the same way; `mix` and `seed` only name it in messages.
    public func seededElsewhere(mix: [Double], seed: UInt64) throws -> SeededCollection {
        try SeededCollection(fixture: self, mix: mix, seed: seed, summary: nil)
    }

    /// Seeds the collection at each of `mixes` (default: `Self.mixes(versionCount:)` for the
    /// lens) with each of `seeds`, and checks that every pipeline answers through strata as
    /// it does directly on the migrated copy. Throws `AnswersDiffer` listing every
    /// pipeline, mix and seed that differ; answering pipelines only (not `$out`/`$merge`).
    public func assertSameAnswers(_ pipelines: [(name: String, pipeline: [BSON])], mixes: [[Double]]? = nil,
                                  seeds: [UInt64] = [1]) throws {
        var differences: [AnswersDiffer.Difference] = []
        for mix in mixes ?? Self.mixes(versionCount: lens.knownVersions.count) {
            for seed in seeds {
                let seeded = try self.seed(mix: mix, seed: seed)
                for (name, pipeline) in pipelines {
                    if let d = try seeded.difference(pipeline, name: name) { differences.append(d) }
                }
            }
        }
        if !differences.isEmpty { throw AnswersDiffer(differences: differences) }
    }

    /// `assertSameAnswers` for one pipeline.
    public func assertSameAnswer(_ pipeline: [BSON], mixes: [[Double]]? = nil, seeds: [UInt64] = [1]) throws {
        try assertSameAnswers([(name: "", pipeline: pipeline)], mixes: mixes, seeds: seeds)
    }

    /// Mixes that exercise a lens of `versionCount` versions (weights, oldest first):
    /// falling shares from oldest to newest (`[4, 3, 2, 1]`), every document at the oldest
    /// (`[1, 0, 0, 0]`: every one upgraded through every step), a middle version absent
    /// (`[1, 1, 0, 1]`: its rewrites must not be needed), and every document at the newest.
    public static func mixes(versionCount: Int) -> [[Double]] {
        let n = max(versionCount, 1)
        func one(_ i: Int) -> [Double] { (0..<n).map { $0 == i ? 1 : 0 } }
        var out: [[Double]] = [(0..<n).map { Double(n - $0) }, one(0)]
        if n >= 3 { out.append((0..<n).map { $0 == n / 2 ? 0 : 1 }) }
        out.append(one(n - 1))
        var seen: [[Double]] = []
        for m in out where !seen.contains(m) { seen.append(m) }
        return seen
    }

    /// The documents of an Extended JSON lines file (relaxed or canonical), in order.
    public static func readJSONLines(_ url: URL) throws -> [Document] {
        var docs: [Document] = []
        try JSONLines(contentsOf: url).forEachDocument { _, d in docs.append(d) }
        return docs
    }

    /// `pipeline` as run on the migrated copy: joins into the collection itself and into
    /// `migratedCopies` read the copies.
    func onMigratedCopy(_ pipeline: [BSON]) -> [BSON] {
        var names = migratedCopies
        names[collection] = migratedName
        func rename(_ v: BSON) -> BSON {
            guard case .string(let c) = v, let n = names[c] else { return v }
            return .string(n)
        }
        func walk(_ v: BSON) -> BSON {
            switch v {
            case .array(let items): return .array(items.map(walk))
            case .document(let d):
                var out = Document()
                for (k, x) in d {
                    switch (k, x) {
                    case ("$lookup", .document(var spec)), ("$graphLookup", .document(var spec)):
                        if let from = spec["from"] { spec["from"] = rename(from) }
                        out[k] = walk(.document(spec))
                    case ("$unionWith", .string):
                        out[k] = rename(x)
                    case ("$unionWith", .document(var spec)):
                        if let coll = spec["coll"] { spec["coll"] = rename(coll) }
                        out[k] = walk(.document(spec))
                    default:
                        out[k] = walk(x)
                    }
                }
                return .document(out)
            default: return v
            }
        }
        return pipeline.map(walk)
    }
}

/// A collection seeded mid-migration from a `MidMigrationFixture`, and its migrated copy.
public struct SeededCollection: Sendable {
    public let fixture: MidMigrationFixture
    /// The mix it was seeded at (weights, oldest version first).
    public let mix: [Double]
    /// The seed of the version draws.
    public let seed: UInt64
    /// What seeding stored, per version; nil when seeded elsewhere (`seededElsewhere`).
    public let summary: Seeder.Summary?
    /// The collection read through strata (`StrataClient` with the fixture's functions).
    public let collection: VersionedCollection

    init(fixture: MidMigrationFixture, mix: [Double], seed: UInt64, summary: Seeder.Summary?) throws {
        self.fixture = fixture
        self.mix = mix
        self.seed = seed
        self.summary = summary
        let client = StrataClient(database: fixture.database, schemasDirectory: fixture.schemasDirectory,
                                  functions: fixture.functions, options: fixture.queryOptions)
        self.collection = try client.collection(lens: fixture.lens)
    }

    /// `pipeline` (written for the newest schema) answered by strata over the collection.
    public func strataAnswer(_ pipeline: [BSON]) throws -> [Document] {
        try collection.aggregate(pipeline)
    }

    /// `pipeline` answered by the server directly on the migrated copy.
    public func migratedAnswer(_ pipeline: [BSON]) throws -> [Document] {
        try fixture.database.collection(fixture.migratedName).aggregateAll(fixture.onMigratedCopy(pipeline))
    }

    /// nil when strata's answer equals the migrated copy's — documents as unordered maps,
    /// doubles within a relative 1e-9, order compared where the pipeline defines it (its
    /// last `$sort`, or natural order when nothing reorders) — else the first difference.
    /// A failure of strata's run is a difference too; one of the direct run throws.
    public func difference(_ pipeline: [BSON], name: String = "") throws -> AnswersDiffer.Difference? {
        if QuerySpec(collection: fixture.collection, pipeline: pipeline).writesResults {
            throw StrataTestingError("\(name.isEmpty ? "the pipeline" : name) ends in $out or $merge: it answers nothing to compare (compare what it writes instead)")
        }
        let want = try migratedAnswer(pipeline)
        let detail: String
        do {
            let got = try strataAnswer(pipeline)
            guard let d = ResultComparison.difference(got, want, pipeline: pipeline) else { return nil }
            detail = d
        } catch {
            detail = "strata failed: \(error)"
        }
        return AnswersDiffer.Difference(collection: fixture.collection, name: name, pipeline: pipeline, mix: mix, seed: seed, detail: detail)
    }

    /// Throws `AnswersDiffer` when strata's answer to `pipeline` differs from the migrated
    /// copy's (see `difference`).
    public func assertSameAnswer(_ pipeline: [BSON], name: String = "") throws {
        if let d = try difference(pipeline, name: name) { throw AnswersDiffer(differences: [d]) }
    }

    /// After a migration of the collection to the newest version (`strata migrate`,
    /// `Migrator`): throws unless the stored documents are exactly the documents given —
    /// the same `_id`s, each document equal as an unordered map with exact types (an int32
    /// is not an int64, doubles bit for bit).
    public func assertStoredDocumentsEqualInput() throws {
        let stored = try fixture.database.collection(fixture.collection).find().all()
        let place = "\(fixture.collection) (seeded at mix \(AnswersDiffer.show(mix)), seed \(seed))"
        func key(_ v: BSON?) -> String { v.map { ExtendedJSON.string($0, mode: .canonical) } ?? "(no _id)" }
        var want: [String: Document] = [:]
        for d in fixture.documents { want[key(d["_id"])] = d }
        var seen = Set<String>()
        for d in stored {
            let k = key(d["_id"])
            guard let w = want[k] else { throw StrataTestingError("\(place): stored _id \(k) is not among the documents given") }
            guard seen.insert(k).inserted else { throw StrataTestingError("\(place): _id \(k) is stored twice") }
            if let diff = BSONComparison().difference(d, w) {
                throw StrataTestingError("\(place): _id \(k) differs from the document given at \(diff)\n  stored: \(ExtendedJSON.string(d))\n  given:  \(ExtendedJSON.string(w))")
            }
        }
        if stored.count != want.count {
            let missing = want.keys.filter { !seen.contains($0) }.sorted().prefix(5)
            throw StrataTestingError("\(place): \(stored.count) documents stored, \(want.count) given; missing e.g. \(missing.joined(separator: ", "))")
        }
    }
}

/// Strata's answers differ from the migrated copy's: every pipeline, mix and seed that did.
public struct AnswersDiffer: Error, CustomStringConvertible, LocalizedError {
    public struct Difference: Sendable, CustomStringConvertible {
        public let collection: String
        /// The pipeline's name as given (a query file's), or empty.
        public let name: String
        public let pipeline: [BSON]
        public let mix: [Double]
        public let seed: UInt64
        /// The first difference (`got` is strata's answer, `want` the migrated copy's).
        public let detail: String

        public var description: String {
            let title = name.isEmpty ? "a pipeline on \(collection)" : "\(name) on \(collection)"
            return "\(title), seeded at mix \(AnswersDiffer.show(mix)) (oldest version first), seed \(seed):\n"
                + "  pipeline: \(ExtendedJSON.string(.array(pipeline)))\n"
                + "  strata's answer differs from the migrated copy's: \(detail.replacingOccurrences(of: "\n", with: "\n  "))"
        }
    }

    public let differences: [Difference]

    /// Differences gathered with `SeededCollection.difference`, thrown together.
    public init(differences: [Difference]) { self.differences = differences }

    public var description: String {
        "\(differences.count) answer\(differences.count == 1 ? "" : "s") differ:\n" + differences.map(\.description).joined(separator: "\n")
    }

    public var errorDescription: String? { description }

    static func show(_ mix: [Double]) -> String {
        mix.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : String($0) }.joined(separator: ",")
    }
}

/// A StrataTesting helper could not do what it was asked (no server, a document not stored
/// back exactly...); its message says what and where.
public struct StrataTestingError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
