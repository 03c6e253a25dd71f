import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// `strata seed`: a collection mid-migration made from newest-version documents.
///
/// Each document given (at the lens's newest version) is stored at a version drawn
/// for it from the mix — one draw per document, in input order, from a generator
/// seeded by `Options.seed`, so the same documents, mix and seed give the same
/// collection — in the shape of that version: down-migrated through the lens
/// (`Lens.downgrade`; a step that cannot undo itself needs a down function,
/// `LensFunctions.registerDown`).
///
/// Nothing is written until every document has been seeded and checked: each seeded
/// document must upgrade back (`Lens.upgrade`, with the lookups of the target database)
/// to exactly the document given — documents as unordered maps, exact types, doubles bit
/// for bit. A document that does not is refused, naming it, its version and the step
/// whose undo lost it; or, with `Unrepresentable.storeNewer`, it is stored at the oldest
/// newer version that keeps it (counted in the summary). A step no function can undo
/// refuses the whole seed before any document is read.
///
/// The seeded documents are held in memory before they are written (the input is
/// checked whole first, so that a failure writes nothing): seeding is for test
/// collections, not for loading production data.
public struct Seeder: Sendable {
    public struct Options: Sendable {
        /// The share of documents to store at each version the lens knows, oldest first
        /// (weights: `[40, 30, 20, 10]` and `[4, 3, 2, 1]` are the same mix).
        public var mix: [Double]
        /// Seeds the draws; `nil`: a random seed, reported in the summary.
        public var seed: UInt64?
        /// Drop the collection (once every document is seeded and checked) before inserting.
        /// Without it, a collection that holds documents is refused.
        public var drop: Bool
        /// Documents per insert.
        public var batchSize: Int
        /// What to do with a document its drawn version cannot hold.
        public var unrepresentable: Unrepresentable
        /// Application functions for the round-trip upgrade, and down functions.
        public var functions: LensFunctions

        public init(mix: [Double], seed: UInt64? = nil, drop: Bool = false, batchSize: Int = 1000,
                    unrepresentable: Unrepresentable = .refuse, functions: LensFunctions = .builtIn) {
            self.mix = mix
            self.seed = seed
            self.drop = drop
            self.batchSize = batchSize
            self.unrepresentable = unrepresentable
            self.functions = functions
        }
    }

    /// A document whose drawn version cannot hold it: a lossy undo (a wrapped list with
    /// more than one element, say) or a down function loses something the upgrade cannot
    /// restore.
    public enum Unrepresentable: String, Sendable, CaseIterable {
        /// Refuse the seed, naming the document (the default).
        case refuse
        /// Store it at the oldest newer version at which it comes back exactly.
        case storeNewer = "newer"
    }

    public struct Summary: Sendable {
        /// Documents inserted.
        public var documents = 0
        /// Documents per stored version.
        public var perVersion: [Int: Int] = [:]
        /// Documents stored newer than drawn (`Unrepresentable.storeNewer`), by drawn version.
        public var storedNewer: [Int: Int] = [:]
        /// The seed of the draws (the one given, or the random one chosen).
        public var seed: UInt64 = 0
        /// Whether the collection was dropped first.
        public var dropped = false

        public var json: Document {
            var d: Document = ["documents": .int64(Int64(documents)),
                               "perVersion": .document(Document(perVersion.sorted { $0.key < $1.key }.map { ("\($0.key)", .int64(Int64($0.value))) })),
                               "seed": .string(String(seed)), "dropped": .bool(dropped)]
            if !storedNewer.isEmpty {
                d["storedNewer"] = .document(Document(storedNewer.sorted { $0.key < $1.key }.map { ("\($0.key)", .int64(Int64($0.value))) }))
            }
            return d
        }
    }

    public let collection: MongoCollection
    public let lens: Lens
    public let options: Options

    /// Checks the options against the lens: one weight per known version, none negative,
    /// some positive, and a way down to every version with a positive weight.
    public init(collection: MongoCollection, lens: Lens, options: Options) throws {
        let versions = Array(lens.knownVersions)
        guard options.mix.count == versions.count else {
            throw StrataError.badInput(
                "the mix gives \(options.mix.count) shares, but the lens for '\(lens.collection)' knows \(versions.count) versions (\(lens.oldest)...\(lens.newest)): give one share per version, oldest first",
                at: lens.source.map { Location(file: $0) })
        }
        if let bad = options.mix.first(where: { !($0 >= 0 && $0.isFinite) }) {
            throw StrataError.badInput("the mix's shares must be non-negative numbers, not \(bad)")
        }
        guard options.mix.contains(where: { $0 > 0 }) else { throw StrataError.badInput("the mix has no positive share") }
        guard options.batchSize >= 1 else { throw StrataError.badInput("the batch size must be at least 1") }
        if let oldest = zip(versions, options.mix).first(where: { $0.1 > 0 })?.0 {
            let blockers = lens.undoBlockers(from: lens.newest, to: oldest, functions: options.functions)
            if let first = blockers.first {
                let all = blockers.map(\.description).joined(separator: "\n  ")
                throw StrataError(.badInput,
                                  "cannot seed documents at version \(oldest) of '\(lens.collection)': a step cannot be undone:\n  \(all)",
                                  at: first.location)
            }
        }
        self.collection = collection
        self.lens = lens
        self.options = options
    }

    /// The documents to store, seeded and checked, in input order; nothing is written.
    /// `origin(i)` names the `i`th document in messages (default: "document #i+1").
    public func seeded(_ documents: [Document], origin: ((Int) -> String)? = nil) throws -> (documents: [Document], summary: Summary) {
        let origin = origin ?? { "document #\($0 + 1)" }
        let seed = options.seed ?? UInt64.random(in: .min ... .max)
        var random = SampleRandom(seed: seed)
        let versions = Array(lens.knownVersions)
        let total = options.mix.reduce(0, +)
        let context = DatabaseLookup(database: collection.database).context(functions: options.functions)
        var summary = Summary(seed: seed)
        var out: [Document] = []
        out.reserveCapacity(documents.count)
        for (i, doc) in documents.enumerated() {
            let at = Location(file: origin(i))
            let version: Int
            do { version = try lens.knownVersion(of: doc) } catch let e as StrataError {
                throw StrataError(e.kind, e.message, at: at)
            }
            guard version == lens.newest else {
                throw StrataError.badInput(
                    "document \(lens.idText(doc)) is at version \(version): seed takes newest-version documents (\(lens.versionField): \(lens.newest))",
                    at: at)
            }
            let drawn = Self.draw(&random, versions: versions, weights: options.mix, total: total)
            var stored: Int? = nil
            var firstFailure: String? = nil
            for candidate in drawn...lens.newest {
                switch try check(doc, at: candidate, context: context, origin: at) {
                case .success(let d):
                    out.append(d)
                    stored = candidate
                case .failure(let why):
                    firstFailure = firstFailure ?? why
                }
                if stored != nil || options.unrepresentable == .refuse { break }
            }
            guard let stored else {
                let step = lens.lossyUndo(from: lens.newest, to: drawn).map { " (the undo of \($0.reason), at \($0.location))" } ?? ""
                throw StrataError(.upgradeFailed,
                                  "document \(lens.idText(doc)) cannot be stored at version \(drawn): down-migrated and upgraded again it is not the document given\(step): \(firstFailure ?? "")\n  (--unrepresentable newer stores such documents at the oldest newer version that holds them)",
                                  at: at)
            }
            summary.perVersion[stored, default: 0] += 1
            if stored != drawn { summary.storedNewer[drawn, default: 0] += 1 }
        }
        summary.documents = out.count
        return (out, summary)
    }

    /// Seeds and checks every document, then (dropping the collection first with
    /// `Options.drop`) inserts them in batches. Nothing is written when a document fails.
    public func seed(_ documents: [Document], origin: ((Int) -> String)? = nil,
                     progress: (_ inserted: Int, _ total: Int) -> Void = { _, _ in }) throws -> Summary {
        var (seeded, summary) = try seeded(documents, origin: origin)
        if options.drop {
            try collection.drop()
            summary.dropped = true
        } else {
            let existing = try collection.countDocuments()
            if existing > 0 {
                throw StrataError.badInput(
                    "\(collection.namespace) already holds \(existing) documents: seed writes into an empty collection (--drop replaces it)")
            }
        }
        var inserted = 0
        while !seeded.isEmpty {
            let batch = Array(seeded.prefix(options.batchSize))
            seeded.removeFirst(batch.count)
            inserted += try collection.insertMany(batch, ordered: true, validate: false)
            progress(inserted, summary.documents)
        }
        return summary
    }

    enum Check { case success(Document), failure(String) }

    /// `doc` down-migrated to `version`, if it upgrades back to `doc` exactly.
    func check(_ doc: Document, at version: Int, context: LensContext, origin: Location) throws -> Check {
        if version == lens.newest { return .success(doc) }
        let down: Document
        do { down = try lens.downgrade(doc, to: version, context: context) } catch let e as StrataError {
            throw StrataError(e.kind, "\(e.message) (seeding at version \(version), from \(origin))", at: e.location ?? origin)
        }
        let back: Document
        do { back = try lens.upgrade(down, context: context) } catch let e as StrataError {
            return .failure("its upgrade fails: \(e.message)")
        }
        if let difference = BSONComparison().difference(back, doc) {
            return .failure("upgraded again it differs at \(difference)")
        }
        return .success(down)
    }

    /// One draw from the mix: a version with probability weight / total.
    static func draw(_ random: inout SampleRandom, versions: [Int], weights: [Double], total: Double) -> Int {
        let u = Double(random.next() >> 11) * 0x1p-53 * total
        var cumulative = 0.0
        for (v, w) in zip(versions, weights) where w > 0 {
            cumulative += w
            if u < cumulative { return v }
        }
        return Array(zip(versions, weights)).last(where: { $0.1 > 0 })!.0
    }
}
