import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// Makes the benchmark's collections: the mixed one (as generated), and a copy migrated
/// to the newest version by strata's own `Migrator`, each with its indexes.
///
/// - generate: `gen.py` (python3) into `workDirectory`, kept for the next run;
/// - import the mixed documents twice (`Importer`): `<dataset>_<size>` and `..._migrated`
///   (for devices also `products`, the lens's lookup collection);
/// - the mixed collection gets the indexes strata recommends (`LensIndexPlan`, what
///   `strata index` creates); the copy is migrated, then gets the indexes the lens
///   declares on the newest schema, as plain indexes;
/// - a marker in `strata_bench_meta` records what the collections hold, so `reuse`
///   keeps them when dataset, size, mix and seed match and the counts are right.
package struct BenchPreparation: Sendable {
    package static let metaCollection = "strata_bench_meta"

    package struct Report: Sendable, Codable {
        package var reused = false
        package var reason: String?
        package var generateSeconds: Double?
        package var importSeconds: Double?
        package var migrateSeconds: Double?
        package var migratedDocuments: Int?
        package var migrateRate: Double?
        package var indexSeconds: Double?
        /// Documents per stored version in the mixed collection ("0": 50123, ...).
        package var versions: [String: Int] = [:]
        package var documents = 0
        /// Index names on the mixed collection and on the migrated copy.
        package var mixedIndexes: [String] = []
        package var migratedIndexes: [String] = []
    }

    package let database: MongoDatabase
    package let configuration: BenchConfiguration
    package let lens: Lens
    package let log: @Sendable (String) -> Void

    package init(database: MongoDatabase, configuration: BenchConfiguration, lens: Lens, log: @escaping @Sendable (String) -> Void) {
        self.database = database
        self.configuration = configuration
        self.lens = lens
        self.log = log
    }

    var mixed: MongoCollection { database.collection(configuration.mixedCollection) }
    var migrated: MongoCollection { database.collection(configuration.migratedCollection) }
    var meta: MongoCollection { database.collection(Self.metaCollection) }

    /// What the marker must say for the collections to be reused.
    var markerKey: Document {
        ["dataset": .string(configuration.dataset), "size": .int64(Int64(configuration.size)),
         "dist": configuration.dist.map { .string($0) } ?? .null, "seed": .int64(Int64(configuration.seed)),
         "newest": .int64(Int64(lens.newest))]
    }

    /// Prepares the collections (or finds them ready) and says what it did.
    package func prepare() throws -> Report {
        if configuration.reuse {
            switch try reusable() {
            case .success(var report):
                log("reusing \(database.name).\(mixed.name) and \(migrated.name) (\(report.documents) documents each)")
                report.mixedIndexes = try ensureMixedIndexes()
                report.migratedIndexes = try ensureMigratedIndexes()
                return report
            case .failure(let why):
                log("preparing again: \(why.message)")
            }
        }
        var report = Report()
        let clock = ContinuousClock()
        try meta.delete(["_id": .string(mixed.name)])

        var t = clock.now
        let dir = try generate()
        report.generateSeconds = Self.seconds(clock.now - t)

        t = clock.now
        let file = dir.appendingPathComponent("\(configuration.dataset).mixed.jsonl")
        let products = dir.appendingPathComponent("products.jsonl")
        if FileManager.default.fileExists(atPath: products.path) {
            let n = try Importer.importLines(try JSONLines(contentsOf: products), into: database.collection("products"), dropFirst: true).documents
            log("imported \(n) products")
        }
        for target in [mixed, migrated] {
            log("importing \(file.path) into \(target.namespace)")
            let s = try Importer.importLines(try JSONLines(contentsOf: file), into: target, dropFirst: true)
            report.documents = s.documents
        }
        report.importSeconds = Self.seconds(clock.now - t)

        let histogram = try VersionHistogram.read(mixed, lens: lens)
        report.versions = Dictionary(uniqueKeysWithValues: histogram.counts.map { (String($0.key), $0.value) })
        guard histogram.unexpected == 0 else {
            throw StrataError(.unknownVersion, "\(histogram.unexpected) generated documents are at versions the lens does not know")
        }

        t = clock.now
        report.mixedIndexes = try ensureMixedIndexes()
        var indexSeconds = Self.seconds(clock.now - t)

        t = clock.now
        let migrator = try Migrator(collection: migrated, lens: lens.describing(collection: migrated.name),
                                    options: Migrator.Options(batchSize: configuration.migrationBatch))
        log("migrating \(migrated.namespace) to v\(lens.newest) with strata's migrator (~800 documents/s on SecantusDB)")
        let logger = log
        var lastLog = clock.now
        let summary = try migrator.run { p in
            if clock.now - lastLog > .seconds(15) {
                lastLog = clock.now
                logger(String(format: "  migrated %d of %d (%.0f documents/s)", p.migrated, p.expected, p.rate))
            }
        }
        guard summary.isComplete else {
            throw StrataError(.upgradeFailed, "the migrator did not finish \(migrated.namespace): \(summary.failures.count) failures, \(summary.skippedRemaining) skipped"
                + (summary.failures.first.map { "; first: \($0.reason)" } ?? ""))
        }
        report.migrateSeconds = Self.seconds(clock.now - t)
        report.migratedDocuments = summary.migrated
        report.migrateRate = summary.rate
        log(String(format: "migrated %d documents in %.1f s", summary.migrated, summary.seconds))

        t = clock.now
        report.migratedIndexes = try ensureMigratedIndexes()
        indexSeconds += Self.seconds(clock.now - t)
        report.indexSeconds = indexSeconds

        var marker = markerKey
        marker["_id"] = .string(mixed.name)
        marker["documents"] = .int64(Int64(report.documents))
        marker["versions"] = .document(Document(report.versions.sorted { $0.key < $1.key }.map { ($0.key, .int64(Int64($0.value))) }))
        marker["preparedAt"] = .date(Int64(Date().timeIntervalSince1970 * 1000))
        try meta.insertOne(marker)
        return report
    }

    /// The report of a previous preparation when the marker matches and the counts are right.
    func reusable() throws -> Result<Report, StrataError> {
        guard let marker = try meta.findOne(["_id": .string(mixed.name)]) else {
            return .failure(StrataError.badInput("no record of a finished preparation of \(mixed.name)"))
        }
        for (k, v) in markerKey where marker[k] != v && !(marker[k]?.exactInt != nil && marker[k]?.exactInt == v.exactInt) {
            return .failure(StrataError.badInput("\(mixed.name) was prepared with \(k) = \(ExtendedJSON.string(marker[k] ?? .null)), not \(ExtendedJSON.string(v))"))
        }
        let expected = Int(marker["documents"]?.exactInt ?? -1)
        for c in [mixed, migrated] {
            let n = try count(c)
            if n != expected { return .failure(StrataError.badInput("\(c.name) holds \(n) documents, not \(expected)")) }
        }
        var report = Report()
        report.reused = true
        report.documents = expected
        if case .document(let vs)? = marker["versions"] {
            for (k, v) in vs { report.versions[k] = Int(v.exactInt ?? 0) }
        }
        return .success(report)
    }

    func count(_ c: MongoCollection) throws -> Int {
        let reply = try database.runCommand(["count": .string(c.name)])
        return Int(reply["n"]?.exactInt ?? 0)
    }

    /// Creates strata's recommended indexes on the mixed collection (those missing).
    func ensureMixedIndexes() throws -> [String] {
        let plan = LensIndexPlan(lens: lens.describing(collection: mixed.name))
        return try plan.create(on: mixed).map { spec, outcome in
            if case .exists(let name) = outcome { return name }
            return spec.name
        }
    }

    /// Creates the lens's declared indexes on the migrated copy (those missing).
    func ensureMigratedIndexes() throws -> [String] {
        let existing = Set(try migrated.listIndexes().compactMap { $0["name"]?.stringValue })
        var names: [String] = []
        var create: [Document] = []
        for index in lens.indexes {
            let name = index.name ?? LensIndexPlan.defaultName(index.keys)
            names.append(name)
            if existing.contains(name) { continue }
            var spec: Document = ["key": .document(index.keys), "name": .string(name)]
            if index.unique { spec["unique"] = true }
            create.append(spec)
        }
        try migrated.createIndexes(create)
        return names
    }

    /// Runs gen.py unless its output is there already.
    func generate() throws -> URL {
        let dir = configuration.generatedDirectory
        let file = dir.appendingPathComponent("\(configuration.dataset).mixed.jsonl")
        if FileManager.default.fileExists(atPath: file.path) {
            log("using \(file.path)")
            return dir
        }
        guard FileManager.default.fileExists(atPath: configuration.generator.path) else {
            throw StrataError.badInput("the dataset generator is not there (pass --generator)", at: Location(file: configuration.generator.path))
        }
        log("generating \(configuration.size) \(configuration.dataset) with \(configuration.generator.path) into \(dir.path)")
        // Into a folder of its own first, so an interrupted run leaves no half-written file to reuse.
        let partial = dir.appendingPathExtension("partial")
        try? FileManager.default.removeItem(at: partial)
        try DatasetGenerator.generate(configuration.generator, dataset: configuration.dataset, count: configuration.size,
                                      seed: configuration.seed, dist: configuration.dist, into: partial)
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.moveItem(at: partial, to: dir)
        return dir
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
