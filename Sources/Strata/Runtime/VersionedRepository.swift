import Foundation
import Logging
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// Reads and writes one versioned collection as if every document were at the
/// newest version of its lens.
///
/// - **Reads** (`find`, `findOne`, `findOne(byId:)`) fetch the stored documents
///   (the planner's per-version filters narrow them on the server), upgrade each in
///   Swift through the lens (lookups and application-defined operations included),
///   then apply the filter, sort, skip, limit and projection to the upgraded
///   documents. A projection never starves the upgrade: the fields the upgrade needs
///   are fetched too (`UpgradeInputs`), and the projection is applied afterwards.
/// - **Write-back on read**: per lens step, `writeBack` says whether a document
///   upgraded through it is written back when read: `always`, `whenExpensive` (the
///   default: when the step has a lookup or an application-defined operation) or
///   `never`. The document is written back at the `to` version of the last step on
///   its way that asks for it (later steps stay lazy), with the same guard as `save`:
///   a document changed meanwhile is left alone (the next read tries again).
/// - **Writes**: `save` replaces the whole stored document by the newest-version
///   document with the version field stamped — never a partial `$set` that would
///   leave old fields behind — and only if the stored document is still the one read
///   (optimistic concurrency, see `GuardedWrite`); otherwise it throws a
///   `StrataError` of kind `.conflict` and writes nothing: read again and redo the
///   change. `insert` writes the newest version.
/// - **Key changes**: when the lens derives a new `_id`, saving (or writing back) an
///   old document moves it (`KeyMove`: a transaction where the server offers one),
///   and `findOne(byId:)` with the new key finds documents not moved yet.
///
/// Documents at versions the lens does not know: `findOne(byId:)` throws
/// `.unknownVersion`; `find` leaves them out (its per-version filters only match known
/// versions — `strata histogram` shows them).
public struct VersionedRepository: Sendable {
    public struct Options: Sendable {
        /// When key changes use a transaction.
        public var transactions: TransactionUse
        /// `false` turns write-back on read off, whatever the lens says.
        public var writeBack: Bool
        /// What `find` promises while documents move (`.snapshot`: its fetches read one
        /// state of the database; see `QueryRunner.Options.consistency`).
        public var consistency: Consistency
        /// How `find` pins its reads; nil: what the server offers.
        public var readMechanism: ReadMechanism?
        /// Where write-backs are logged (debug) and upgrades on read and write-backs counted.
        public var telemetry: Telemetry

        public init(transactions: TransactionUse = .automatic, writeBack: Bool = true, consistency: Consistency = .snapshot,
                    readMechanism: ReadMechanism? = nil, telemetry: Telemetry = Telemetry()) {
            self.telemetry = telemetry
            self.transactions = transactions
            self.writeBack = writeBack
            self.consistency = consistency
            self.readMechanism = readMechanism
        }
    }

    public let database: MongoDatabase
    public let lens: Lens
    public let functions: LensFunctions
    public let options: Options
    let capabilities = CapabilityCache()

    /// Throws `.badInput` when the lens uses an application-defined function `functions` does not bind.
    public init(database: MongoDatabase, lens: Lens, functions: LensFunctions = .builtIn, options: Options = Options()) throws {
        if let unbound = lens.unboundFunctions(functions).first {
            throw StrataError.badInput("the lens uses the function '\(unbound.function)', which is not bound (LensFunctions.register)",
                                       at: unbound.location)
        }
        self.database = database
        self.lens = lens
        self.functions = functions
        self.options = options
    }

    public var collection: MongoCollection { database.collection(lens.collection) }

    // MARK: reads

    /// One stored document and its upgrade.
    struct Read {
        var stored: Document
        var version: Int
        var upgraded: Document
        /// Fetched with a projection: `stored` is not the whole document.
        var partial: Bool
    }

    func context() -> LensContext { DatabaseLookup(database: database).context(functions: functions) }

    /// How `find` pins its reads: the forced mechanism, else what the server offers;
    /// `.unpinned` for best-effort.
    func readMechanism() throws -> ReadMechanism {
        try ReadMechanism.resolve(options.consistency, forced: options.readMechanism, database: database, collection: lens.collection)
    }

    /// The documents matching `filter` (over the newest schema), upgraded to the newest
    /// version, sorted, skipped, limited and projected (find-command projection) as asked.
    public func find(_ filter: Document = [:], sort: Document? = nil, skip: Int = 0, limit: Int? = nil,
                     projection: Document? = nil) throws -> [VersionedDocument] {
        let query = try Query.parse(filter, at: Location(path: "filter"))
        let sortPattern = try sort.map { try SortPattern.parse($0, at: Location(path: "sort"), what: "sort") }
        let proj = try projection.map { try Projection.parseFind($0, at: Location(path: "projection")) }
        if skip < 0 { throw StrataError.badInput("skip must not be negative", at: Location(path: "skip")) }
        if let limit, limit < 0 { throw StrataError.badInput("limit must not be negative", at: Location(path: "limit")) }
        // Every fetch of one find reads one state of the database (`ReadMechanism`); on a
        // server without a consistent read, one scan of the collection, filtered in Swift.
        let mechanism = try readMechanism()
        let fetches = mechanism == .singleCursor ? [[]] : try plannedFetches(filter, sort: sort, skip: skip, limit: limit)
        let fetchProjection = UpgradeInputs.fetchProjection(lens, projection: proj, query: query, sort: sortPattern,
                                                            versions: lens.knownVersions)
        let ctx = context()
        let wanted = limit.map { skip + $0 }
        var results = try ConsistentReads(database: database, collection: lens.collection, mechanism: mechanism).run { db, _ in
            let pinnedContext = DatabaseLookup(database: db).context(functions: functions)
            var results: [Read] = []
            outer: for f in fetches {
                let cursor = try db.collection(lens.collection).aggregate(f + (fetchProjection.map { [["$project": .document($0)]] } ?? []))
                while let stored = try cursor.nextDocument() {
                    // The scan meets documents at unknown versions too: `find` leaves them out.
                    if mechanism == .singleCursor, !lens.storedVersion(of: stored).isKnown { continue }
                    guard let r = try read(stored, partial: fetchProjection != nil, context: pinnedContext) else { continue }
                    guard try query.matches(r.upgraded) else { continue }
                    results.append(r)
                    if sortPattern == nil, let wanted, results.count >= wanted { break outer }
                }
            }
            return results
        }
        if let sortPattern {
            let keyed = try results.enumerated().map { (i, r) in (i, try sortPattern.key(.document(r.upgraded)), r) }
            results = keyed.sorted { a, b in
                let c = sortPattern.compare(a.1, b.1)
                return c != 0 ? c < 0 : a.0 < b.0
            }.map(\.2)
        }
        var page = Array(results.dropFirst(skip))
        if let limit { page = Array(page.prefix(limit)) }
        return try page.map { try finish($0, projection: proj, context: ctx) }
    }

    /// The first document `find` would return.
    public func findOne(_ filter: Document = [:], sort: Document? = nil, projection: Document? = nil) throws -> VersionedDocument? {
        try find(filter, sort: sort, limit: 1, projection: projection).first
    }

    /// The document whose `_id` is `key` at the newest version — stored under that key,
    /// or, when the lens changes `_id`, stored at an older version under a key that
    /// becomes `key` (`Lens.legacyKeyFilter(for:)`). A document stored under `key`
    /// whose upgrade keeps it wins; two older documents that both become `key` are a
    /// `.conflict` (a key collision the migration cannot resolve on its own).
    public func findOne(byId key: BSON, projection: Document? = nil) throws -> VersionedDocument? {
        let proj = try projection.map { try Projection.parseFind($0, at: Location(path: "projection")) }
        let ctx = context()
        if let stored = try collection.findOne(GuardedWrite.idFilter(key)),
           let r = try read(stored, partial: false, context: ctx), sameKey(r.upgraded["_id"], key)
        {
            return try finish(r, projection: proj, context: ctx)
        }
        guard let legacy = lens.legacyKeyFilter(for: key) else { return nil }
        var matches: [Read] = []
        for stored in try collection.find(legacy).all() {
            guard let r = try read(stored, partial: false, context: ctx), sameKey(r.upgraded["_id"], key) else { continue }
            matches.append(r)
        }
        if matches.count > 1 {
            throw StrataError(.conflict, "\(matches.count) documents of '\(lens.collection)' stored at older versions all get _id \(idText(key)) at the newest version: "
                + matches.map { "\(idText($0.stored["_id"])) (version \($0.version))" }.joined(separator: ", "))
        }
        return try matches.first.map { try finish($0, projection: proj, context: ctx) }
    }

    /// Upgrades one fetched document. A partial document whose upgrade fails is fetched
    /// whole and upgraded again; `nil` when it vanished meanwhile or the lens leaves it out
    /// (`onError: "skip"`).
    func read(_ stored: Document, partial: Bool, context: LensContext) throws -> Read? {
        let version = try lens.knownVersion(of: stored)
        if version != lens.newest {
            options.telemetry.counter(StrataMetrics.upgradesOnRead, [("collection", lens.collection), ("from_version", "\(version)")]).increment()
        }
        do {
            return Read(stored: stored, version: version, upgraded: try lens.upgrade(stored, context: context), partial: partial)
        } catch let e as StrataError where partial && e.kind == .upgradeFailed {
            guard let full = try collection.findOne(GuardedWrite.idFilter(stored["_id"] ?? .null)) else { return nil }
            return try read(full, partial: false, context: context)
        } catch is DocumentSkipped {
            return nil
        }
    }

    /// Write-back (when the lens asks for it) and projection of one read document.
    func finish(_ r: Read, projection: Projection?, context: LensContext) throws -> VersionedDocument {
        var stored: Document? = r.partial ? nil : r.stored
        var written: Int?
        if options.writeBack, let target = lens.writeBackVersion(from: r.version) {
            var full: Document? = r.stored
            if r.partial { full = try collection.findOne(GuardedWrite.idFilter(r.stored["_id"] ?? .null)) }
            if let full, try lens.knownVersion(of: full) == r.version {
                let intermediate = try lens.upgrade(full, to: target, context: context)
                let ok = try writeBack(full, as: intermediate)
                if ok {
                    written = target
                    if !r.partial { stored = intermediate }
                }
                let outcome = ok ? "written" : "conflict"
                options.telemetry.counter(StrataMetrics.writeBacks, [("collection", lens.collection), ("outcome", outcome)]).increment()
                options.telemetry.logger.debug(ok ? "wrote back an upgraded document" : "write-back skipped: the document changed meanwhile", metadata: [
                    "collection": "\(lens.collection)", "_id": "\(ExtendedJSON.string(full["_id"] ?? .null))",
                    "from": "\(r.version)", "to": "\(target)"])
            }
        }
        let document = try projection.map { try $0.apply(to: r.upgraded) } ?? r.upgraded
        return VersionedDocument(document: document, stored: stored, storedVersion: r.version, writtenBack: written,
                                 isProjected: projection != nil)
    }

    /// Replaces `stored` by `replacement` if unchanged (moving it when the key changes).
    /// False when someone changed it meanwhile.
    func writeBack(_ stored: Document, as replacement: Document) throws -> Bool {
        if sameKey(stored["_id"], replacement["_id"]) {
            if try collection.update([GuardedWrite.replaceStatement(expected: stored, replacement: replacement)]).modified == 1 { return true }
            guard GuardedWrite.containsNaN(.document(stored)), try capabilities.transactions(options.transactions, database) else { return false }
            return try GuardedWrite.replaceInTransaction(collection, expected: stored, replacement: replacement)
        }
        return try keyMove().move(from: stored, to: replacement) == .moved
    }

    func keyMove() throws -> KeyMove {
        KeyMove(collection: collection, useTransaction: try capabilities.transactions(options.transactions, database))
    }

    /// The stored-document fetches for a filter: the planner's per-version pipelines (each
    /// filter a superset of the matches at its versions; the exact filter runs in Swift).
    func plannedFetches(_ filter: Document, sort: Document?, skip: Int, limit: Int?) throws -> [[BSON]] {
        var pipeline: [BSON] = [["$match": .document(filter)]]
        if let sort { pipeline.append(["$sort": .document(sort)]) }
        if let limit { pipeline.append(["$limit": .int64(Int64(skip + limit))]) }
        let planner = Planner(lens: lens)
        for candidate in [pipeline, [pipeline[0]]] {
            let plan = try planner.plan(QuerySpec(collection: lens.collection, pipeline: candidate))
            var finds: [[BSON]] = []
            var usable = plan.mode == .recordOrder
            for b in plan.branches {
                switch b.command {
                case .documents(let p):
                    // The fetch's own projection is the pipeline's; this read projects its own.
                    finds.append(p.filter { $0.documentValue?["$project"] == nil })
                case .none: continue
                case .aggregate: usable = false
                }
            }
            if usable { return finds }
        }
        // Not expected: every known version, whole, filtered in Swift.
        return lens.knownVersions.map { [["$match": .document(lens.filter(forVersion: $0))]] }
    }

    // MARK: writes

    /// Inserts `document` as a newest-version document (the version field stamped; an
    /// ObjectId `_id` added when it has none). When the lens changes keys, an older
    /// document that gets the same `_id` at the newest version makes it a `.conflict`.
    @discardableResult
    public func insert(_ document: Document) throws -> VersionedDocument {
        var doc = document
        if doc["_id"] == nil { doc.insert("_id", .objectId(ObjectIdGenerator.next()), at: 0) }
        stampVersion(&doc, field: lens.versionField, version: lens.newest)
        try checkNoLegacyHolder(of: doc["_id"]!)
        try collection.insertOne(doc)
        return VersionedDocument(document: doc, stored: doc, storedVersion: lens.newest)
    }

    func checkNoLegacyHolder(of key: BSON) throws {
        guard let legacy = lens.legacyKeyFilter(for: key) else { return }
        let ctx = context()
        for stored in try collection.find(legacy).all() {
            guard let up = try? lens.upgrade(stored, context: ctx), sameKey(up["_id"], key) else { continue }
            throw StrataError(.conflict, "_id \(idText(key)) is taken: document \(idText(stored["_id"])) of '\(lens.collection)', stored at version \((try? lens.knownVersion(of: stored)).map(String.init) ?? "?"), has that key at the newest version")
        }
    }

    /// Writes `document.document` as the newest version, replacing the whole stored
    /// document, if the stored document is still `document.stored`. A document never
    /// stored is inserted. Throws `.conflict` (and writes nothing) when someone changed
    /// or deleted it since it was read, `.badInput` for a projected read.
    @discardableResult
    public func save(_ document: VersionedDocument) throws -> VersionedDocument {
        if document.isProjected {
            throw StrataError.badInput("a document read with a projection cannot be saved (it lacks fields): read it without one")
        }
        var doc = document.document
        guard let newId = doc["_id"] else { throw StrataError.badInput("a document to save needs an _id") }
        stampVersion(&doc, field: lens.versionField, version: lens.newest)
        guard let stored = document.stored else { return try insert(doc) }
        let saved = VersionedDocument(document: doc, stored: doc, storedVersion: lens.newest)
        if sameKey(stored["_id"], newId) {
            if try collection.update([GuardedWrite.replaceStatement(expected: stored, replacement: doc)]).modified == 1 { return saved }
            let current = try collection.findOne(GuardedWrite.idFilter(newId))
            if let current, GuardedWrite.identical(current, doc) { return saved }
            if let current, GuardedWrite.identical(current, stored), try capabilities.transactions(options.transactions, database),
               try GuardedWrite.replaceInTransaction(collection, expected: stored, replacement: doc)
            {
                return saved // a document the server's equality cannot compare (a NaN)
            }
            throw StrataError(.conflict, "document \(idText(newId)) of '\(lens.collection)' \(current == nil ? "was deleted" : "changed") since it was read; nothing was written (read it again and redo the change)")
        }
        try checkNoLegacyHolder(of: newId, except: stored["_id"])
        switch try keyMove().move(from: stored, to: doc) {
        case .moved: return saved
        case .conflict(let m): throw StrataError(.conflict, m + "; nothing was written (read it again and redo the change)")
        case .collision(let m): throw StrataError(.conflict, m)
        }
    }

    func checkNoLegacyHolder(of key: BSON, except id: BSON?) throws {
        guard let legacy = lens.legacyKeyFilter(for: key) else { return }
        let ctx = context()
        for stored in try collection.find(legacy).all() where !sameKey(stored["_id"], id) {
            guard let up = try? lens.upgrade(stored, context: ctx), sameKey(up["_id"], key) else { continue }
            throw StrataError(.conflict, "_id \(idText(key)) is taken: document \(idText(stored["_id"])) of '\(lens.collection)' has that key at the newest version too")
        }
    }

    /// Deletes the document if it is still the one read; `.conflict` otherwise.
    public func delete(_ document: VersionedDocument) throws {
        guard let stored = document.stored else {
            throw StrataError.badInput("only a document read whole (without a projection) can be deleted this way")
        }
        let deleted: Bool
        if try capabilities.transactions(options.transactions, database) {
            let name = collection.name
            deleted = try database.withTransaction { txn in
                guard try txn.update(name, [GuardedWrite.tombstoneStatement(expected: stored)]).modified == 1 else { return false }
                return try txn.delete(name, GuardedWrite.idFilter(stored["_id"] ?? .null)) == 1
            }
        } else {
            deleted = try collection.delete(GuardedWrite.deleteFilter(expected: stored), limitOne: true) == 1
        }
        if !deleted {
            throw StrataError(.conflict, "document \(idText(stored["_id"])) of '\(lens.collection)' changed or was deleted since it was read; nothing was deleted")
        }
    }
}

extension Lens {
    /// The version a document stored at `version` is written back at when read: the `to`
    /// of the last step on its way to the newest whose `writeBack` asks for it (`always`,
    /// or `whenExpensive` with a lookup or application-defined operation); `nil` for none.
    public func writeBackVersion(from version: Int) -> Int? {
        var target: Int?
        for step in steps(from: version) {
            switch step.writeBack {
            case .always: target = step.to
            case .whenExpensive where step.operations.contains(where: \.isExpensive): target = step.to
            default: break
            }
        }
        return target
    }
}

// MARK: async

extension VersionedRepository {
    public func find(_ filter: Document = [:], sort: Document? = nil, skip: Int = 0, limit: Int? = nil,
                     projection: Document? = nil) async throws -> [VersionedDocument] {
        let me = self
        return try await runBlocking { try me.find(filter, sort: sort, skip: skip, limit: limit, projection: projection) }
    }

    public func findOne(byId key: BSON, projection: Document? = nil) async throws -> VersionedDocument? {
        let me = self
        return try await runBlocking { try me.findOne(byId: key, projection: projection) }
    }

    @discardableResult
    public func save(_ document: VersionedDocument) async throws -> VersionedDocument {
        let me = self
        return try await runBlocking { try me.save(document) }
    }

    @discardableResult
    public func insert(_ document: Document) async throws -> VersionedDocument {
        let me = self
        return try await runBlocking { try me.insert(document) }
    }
}
