import Foundation
import Logging
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// Migrates the documents of a collection to a target version (default: the newest)
/// in batches, at a bounded rate, safely alongside the application.
///
/// Both ways: documents below the target are upgraded; documents above it (a rollback,
/// `strata migrate --to` an older version) are down-migrated through the lens
/// (`Lens.downgrade`; a step that cannot undo itself needs a down function,
/// `LensFunctions.registerDown`, or the run is refused before anything is written). A
/// down-migrated document must upgrade back to exactly the stored one, or it is reported
/// as a failure and left untouched: a rollback never drops what a document holds.
///
/// One pass opens a single cursor over the documents below the target (one scan of
/// the collection, not one per batch: SecantusDB plans every non-`_id` query as a
/// collection scan, so keyset pagination would rescan the collection per batch) and,
/// per batch of `batchSize` documents:
/// 1. upgrades each document in Swift through the lens (lookups, application-defined
///    operations). A document the upgrade cannot handle is reported by `_id` with the
///    reason and left untouched, and is not tried again in this run;
/// 2. writes the upgraded documents with one `update` command of guarded whole-document
///    replacements (`GuardedWrite`): a document changed since the migrator read it is
///    not overwritten; it is counted as skipped and retried in a later pass. A document
///    whose `_id` changes is moved (`KeyMove`: a transaction where the server offers one);
/// 3. waits as long as the rate asks (`rate` documents per second over the run; a batch
///    is never more than one second's worth).
///
/// Passes repeat until a pass finds nothing left to migrate (documents written at an
/// old version by an old application meanwhile are picked up too), or `maxPasses`.
///
/// Killed at any moment and started again, it continues: every document is written by
/// one atomic conditional replacement (or one transaction, for a key change; without
/// transactions, an insert-then-delete that a re-run completes), so a document is
/// either at its old version — and found again by the next run's scan — or migrated.
/// No checkpoint is needed for correctness; the rescan of already migrated documents
/// is the server's filter on the version field.
public struct Migrator: Sendable {
    public struct Options: Sendable {
        /// The version to migrate to (default: the lens's newest).
        public var target: Int?
        /// Documents per batch (read, upgraded and written together).
        public var batchSize: Int
        /// Documents per second, over the whole run; `nil`: as fast as the server goes.
        public var rate: Double?
        /// Read and upgrade only; write nothing.
        public var dryRun: Bool
        public var transactions: TransactionUse
        /// Passes before giving up on documents that keep changing under the migrator.
        public var maxPasses: Int
        public var functions: LensFunctions
        /// Asked between batches; `true` stops the run after the current batch (with a summary).
        public var shouldStop: @Sendable () -> Bool
        /// Where the run, its batches (debug) and its failures are logged, and its documents counted.
        public var telemetry = Telemetry()

        public init(target: Int? = nil, batchSize: Int = 500, rate: Double? = nil, dryRun: Bool = false,
                    transactions: TransactionUse = .automatic, maxPasses: Int = 20, functions: LensFunctions = .builtIn,
                    shouldStop: @escaping @Sendable () -> Bool = { false }, telemetry: Telemetry = Telemetry()) {
            self.telemetry = telemetry
            self.target = target
            self.batchSize = batchSize
            self.rate = rate
            self.dryRun = dryRun
            self.transactions = transactions
            self.maxPasses = maxPasses
            self.functions = functions
            self.shouldStop = shouldStop
        }
    }

    /// A document the upgrade could not handle (or whose new key was taken).
    public struct Failure: Sendable {
        public let id: BSON?
        public let version: Int?
        public let reason: String

        public var json: Document {
            ["_id": id ?? .null, "version": version.map { .int64(Int64($0)) } ?? .null, "reason": .string(reason)]
        }
    }

    /// The state of the run after a batch.
    public struct Progress: Sendable {
        public var pass = 0
        public var batch = 0
        /// Documents in the batch just done.
        public var batchDocuments = 0
        /// Documents read and handled so far (what `rate` limits).
        public var examined = 0
        public var migrated = 0
        /// Conflicts met so far: documents changed under the migrator, each retried later.
        public var skipped = 0
        public var failed = 0
        /// Documents someone else migrated, or deleted, between the migrator's read and write.
        public var alreadyDone = 0
        /// Documents below the target when the run started.
        public var expected = 0
        public var elapsed = 0.0
        /// Documents examined per second since the first batch.
        public var rate = 0.0
        public var requestedRate: Double?
        public var dryRun = false

        /// An estimate of the documents left.
        public var remaining: Int { max(expected - migrated - failed - alreadyDone, 0) }
        /// Seconds left at the current rate.
        public var eta: Double? { rate > 0 ? Double(remaining) / rate : nil }

        public var json: Document {
            var d: Document = [
                "pass": .int64(Int64(pass)), "batch": .int64(Int64(batch)), "documents": .int64(Int64(batchDocuments)),
                "examined": .int64(Int64(examined)), "migrated": .int64(Int64(migrated)), "skipped": .int64(Int64(skipped)),
                "failed": .int64(Int64(failed)), "alreadyDone": .int64(Int64(alreadyDone)),
                "expected": .int64(Int64(expected)), "remaining": .int64(Int64(remaining)),
                "elapsedSeconds": .double(Self.round(elapsed)), "rate": .double(Self.round(rate)),
                "requestedRate": requestedRate.map { .double($0) } ?? .null,
                "etaSeconds": eta.map { .double(Self.round($0)) } ?? .null,
            ]
            if dryRun { d["dryRun"] = true }
            return d
        }

        static func round(_ x: Double) -> Double { (x * 100).rounded() / 100 }
    }

    /// What the run did.
    public struct Summary: Sendable {
        public var collection: String
        public var target: Int
        public var dryRun: Bool
        /// Documents below the target at the start.
        public var expected = 0
        /// Documents written at the target (with --dry-run: that would be).
        public var migrated = 0
        public var alreadyDone = 0
        /// Conflicts met (each document retried in a later pass).
        public var skipped = 0
        /// Documents still below the target because they kept changing (after `maxPasses`).
        public var skippedRemaining = 0
        public var failures: [Failure] = []
        /// Documents at versions the lens does not know, or not integers: left untouched.
        public var unknownVersions = 0
        /// Documents above the target when the run started (a rollback): moved down.
        public var newerThanTarget = 0
        /// Documents written at the target from above it (counted in `migrated` too).
        public var movedDown = 0
        /// Documents in the collection when the run started.
        public var total = 0
        public var passes = 0
        public var batches = 0
        public var seconds = 0.0
        /// Documents examined per second while migrating (first batch to last).
        public var rate = 0.0
        public var requestedRate: Double?
        public var usedTransactions = false
        /// Stopped early by `shouldStop`.
        public var stopped = false

        /// Everything below the target is now at the target.
        public var isComplete: Bool { failures.isEmpty && skippedRemaining == 0 && !stopped }

        public var json: Document {
            [
                "summary": true, "collection": .string(collection), "target": .int64(Int64(target)), "dryRun": .bool(dryRun),
                "expected": .int64(Int64(expected)), "migrated": .int64(Int64(migrated)),
                "alreadyDone": .int64(Int64(alreadyDone)), "skipped": .int64(Int64(skipped)),
                "skippedRemaining": .int64(Int64(skippedRemaining)), "failed": .int64(Int64(failures.count)),
                "failures": .array(failures.map { .document($0.json) }),
                "unknownVersions": .int64(Int64(unknownVersions)), "newerThanTarget": .int64(Int64(newerThanTarget)),
                "movedDown": .int64(Int64(movedDown)),
                "total": .int64(Int64(total)),
                "passes": .int64(Int64(passes)), "batches": .int64(Int64(batches)),
                "seconds": .double(Progress.round(seconds)), "rate": .double(Progress.round(rate)),
                "requestedRate": requestedRate.map { .double($0) } ?? .null,
                "transactions": .bool(usedTransactions), "stopped": .bool(stopped), "complete": .bool(isComplete),
            ]
        }
    }

    public let collection: MongoCollection
    public let lens: Lens
    public let options: Options

    public init(collection: MongoCollection, lens: Lens, options: Options = Options()) throws {
        if let unbound = lens.unboundFunctions(options.functions).first {
            throw StrataError.badInput("the lens uses the function '\(unbound.function)', which is not bound (LensFunctions.register)",
                                       at: unbound.location)
        }
        if let t = options.target, !lens.knownVersions.contains(t) {
            throw StrataError.badInput("--to \(t): the lens for '\(lens.collection)' knows versions \(lens.oldest)...\(lens.newest)")
        }
        guard options.batchSize >= 1 else { throw StrataError.badInput("the batch size must be at least 1, not \(options.batchSize)") }
        if let r = options.rate, !(r > 0 && r.isFinite) { throw StrataError.badInput("the rate must be a positive number of documents per second, not \(r)") }
        self.collection = collection
        self.lens = lens
        self.options = options
    }

    public var target: Int { options.target ?? lens.newest }

    /// Documents stored at known versions other than the target: below it (to upgrade)
    /// and above it (to move down).
    public var pendingFilter: Document? {
        let versions = lens.knownVersions.filter { $0 != target }
        if versions.isEmpty { return nil }
        let parts = versions.map { BSON.document(lens.filter(forVersion: $0)) }
        return parts.count == 1 ? parts[0].documentValue! : ["$or": .array(parts)]
    }

    /// Refuses a rollback from `version` that a step cannot undo with the functions at hand.
    func checkUndo(from version: Int) throws {
        let blockers = lens.undoBlockers(from: version, to: target, functions: options.functions)
        guard let first = blockers.first else { return }
        throw StrataError(.badInput,
                          "cannot move documents of '\(lens.collection)' down from version \(version) to \(target): a step cannot be undone (nothing was written):\n  "
                          + blockers.map(\.description).joined(separator: "\n  "),
                          at: first.location)
    }

    /// The effective batch: never more than one second's worth at the requested rate.
    public var effectiveBatchSize: Int {
        guard let rate = options.rate else { return options.batchSize }
        return max(1, min(options.batchSize, Int(rate.rounded(.down))))
    }

    /// Runs the migration; `progress` is called after every batch.
    public func run(progress report: (Progress) -> Void = { _ in }) throws -> Summary {
        var summary = Summary(collection: lens.collection, target: target, dryRun: options.dryRun)
        summary.requestedRate = options.rate
        let histogram = try VersionHistogram.read(collection, lens: lens)
        summary.newerThanTarget = histogram.counts.filter { $0.key > target }.values.reduce(0, +)
        summary.expected = histogram.counts.filter { $0.key < target }.values.reduce(0, +) + summary.newerThanTarget
        summary.unknownVersions = histogram.unexpected
        summary.total = histogram.total
        if let highest = histogram.counts.filter({ $0.key > target && $0.value > 0 }).keys.max() {
            try checkUndo(from: highest)
        }
        options.telemetry.logger.info("migrator started", metadata: [
            "collection": "\(lens.collection)", "target": "\(target)", "expected": "\(summary.expected)",
            "above": "\(summary.newerThanTarget)", "dryRun": "\(options.dryRun)"])
        guard let legacy = pendingFilter else { return summary }
        let database = collection.database
        let mover = KeyMove(collection: collection,
                            useTransaction: options.dryRun ? false : try CapabilityCache().transactions(options.transactions, database))
        summary.usedTransactions = mover.useTransaction && lens.changesPrimaryKey(from: lens.oldest)

        var state = Progress()
        state.expected = summary.expected
        state.requestedRate = options.rate
        state.dryRun = options.dryRun
        var failedIds = Set<GroupKey>()
        let clock = ContinuousClock()
        let start = clock.now
        var lastBatchEnd = start
        let batchSize = effectiveBatchSize
        var finished = false

        passes: while state.pass < options.maxPasses {
            state.pass += 1
            var passExamined = 0, passSkipped = 0, passMigrated = 0
            var filter = legacy
            if !failedIds.isEmpty && failedIds.count <= 1000 {
                filter = ["$and": [.document(legacy), ["_id": ["$nin": .array(summary.failures.compactMap(\.id))]]]]
            }
            let cursor = try collection.find(filter, options: FindOptions(batchSize: Int32(min(batchSize, 100_000))))
            var cursorFailed: Error?
            while true {
                if options.shouldStop() { summary.stopped = true; break passes }
                var batch: [Document] = []
                do {
                    while batch.count < batchSize, let d = try cursor.nextDocument() {
                        if let id = d["_id"], failedIds.contains(GroupKey(id)) { continue }
                        batch.append(d)
                    }
                } catch {
                    // A lost cursor (killed, timed out, connection reset) ends the pass; the next one rescans.
                    cursorFailed = error
                }
                if batch.isEmpty { break }
                let outcome = try process(batch, mover: mover)
                for f in outcome.failures {
                    summary.failures.append(f)
                    if let id = f.id { failedIds.insert(GroupKey(id)) }
                }
                if !options.dryRun { record(outcome, batch: batch.count, pass: state.pass) }
                state.batch += 1
                state.batchDocuments = batch.count
                state.examined += batch.count
                state.migrated += outcome.migrated
                summary.movedDown += outcome.movedDown
                state.skipped += outcome.skipped
                state.failed += outcome.failures.count
                state.alreadyDone += outcome.alreadyDone
                passExamined += batch.count
                passSkipped += outcome.skipped
                passMigrated += outcome.migrated
                throttle(examined: state.examined, since: start, clock: clock)
                lastBatchEnd = clock.now
                state.elapsed = Self.seconds(lastBatchEnd - start)
                state.rate = state.elapsed > 0 ? Double(state.examined) / state.elapsed : 0
                report(state)
                if cursorFailed != nil { break }
            }
            if let cursorFailed, passExamined == 0 { throw cursorFailed }
            if options.dryRun { break }
            if passExamined == 0 { finished = true; break }
            if passSkipped > 0 && passMigrated == 0 {
                // Everything left is changing under us right now: give the writers a moment.
                Thread.sleep(forTimeInterval: min(0.05 * Double(state.pass), 1))
            }
        }
        if !options.dryRun && !summary.stopped && !finished {
            // Out of passes: what is still below the target kept changing under the migrator.
            let left = try collection.countDocuments(legacy)
            summary.skippedRemaining = max(left - summary.failures.count, 0)
        }
        summary.migrated = state.migrated
        summary.alreadyDone = state.alreadyDone
        summary.skipped = state.skipped
        summary.passes = state.pass
        summary.batches = state.batch
        summary.seconds = Self.seconds(clock.now - start)
        let active = Self.seconds(lastBatchEnd - start)
        summary.rate = active > 0 ? Double(state.examined) / active : 0
        options.telemetry.logger.info(summary.stopped ? "migrator stopped" : "migrator finished", metadata: [
            "collection": "\(lens.collection)", "target": "\(target)", "migrated": "\(summary.migrated)",
            "movedDown": "\(summary.movedDown)", "failed": "\(summary.failures.count)", "skipped": "\(summary.skipped)",
            "passes": "\(summary.passes)", "complete": "\(summary.isComplete)"])
        return summary
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Sleeps until `examined` documents are due at the requested rate.
    func throttle(examined: Int, since start: ContinuousClock.Instant, clock: ContinuousClock) {
        guard let rate = options.rate else { return }
        let due = Double(examined) / rate
        let now = Self.seconds(clock.now - start)
        if due > now { Thread.sleep(forTimeInterval: due - now) }
    }

    struct BatchOutcome {
        var migrated = 0
        var movedDown = 0
        var skipped = 0
        var alreadyDone = 0
        var failures: [Failure] = []
    }

    /// Moves one batch to the target (up, or down for a rollback) and writes it.
    func process(_ batch: [Document], mover: KeyMove) throws -> BatchOutcome {
        var outcome = BatchOutcome()
        let context = DatabaseLookup(database: collection.database).context(functions: options.functions)
        var replaces: [(stored: Document, upgraded: Document)] = []
        var moves: [(stored: Document, upgraded: Document)] = []
        for doc in batch {
            let version = try? lens.knownVersion(of: doc)
            do {
                let moved: Document
                if let version, version > target {
                    moved = try moveDown(doc, from: version, context: context)
                } else {
                    moved = try lens.upgrade(doc, to: target, context: context)
                }
                if sameKey(doc["_id"], moved["_id"]) { replaces.append((doc, moved)) } else { moves.append((doc, moved)) }
            } catch let e as StrataError {
                outcome.failures.append(Failure(id: doc["_id"], version: version, reason: e.description))
            } catch let e as MongoError {
                throw e // the server (a lookup) failed, not the document
            } catch {
                // An application-defined function may throw errors of its own.
                outcome.failures.append(Failure(id: doc["_id"], version: version, reason: "cannot migrate document \(idText(doc["_id"])): \(error)"))
            }
        }
        outcome.movedDown = (replaces + moves).filter(isDown).count
        if options.dryRun {
            outcome.migrated = replaces.count + moves.count
            return outcome
        }
        // The statements go in chunks of at most 8 MB; the pairs follow them by position.
        var index = 0
        let statements = replaces.map { GuardedWrite.replaceStatement(expected: $0.stored, replacement: $0.upgraded) }
        for chunk in GuardedWrite.chunks(statements) {
            let pairs = Array(replaces[index..<(index + chunk.count)])
            index += chunk.count
            var modified = 0
            var writeFailed = Set<Int>()
            do {
                modified = try updateRetrying(chunk)
            } catch let e as MongoError where e.kind == .write && e.reply != nil {
                let reply = e.reply!
                modified = reply["nModified"]?.exactInt.map(Int.init) ?? 0
                for we in reply["writeErrors"]?.arrayValue ?? [] {
                    guard let w = we.documentValue, let i = w["index"]?.exactInt.map(Int.init), pairs.indices.contains(i) else { continue }
                    writeFailed.insert(i)
                    outcome.failures.append(Failure(id: pairs[i].stored["_id"], version: try? lens.knownVersion(of: pairs[i].stored),
                                                    reason: "the server refused the upgraded document: \(w["errmsg"]?.stringValue ?? "write error")"))
                }
                if reply["writeConcernError"] != nil { throw e }
            }
            let unsure = pairs.indices.filter { !writeFailed.contains($0) }
            outcome.movedDown -= writeFailed.filter { isDown(pairs[$0]) }.count
            if modified == unsure.count {
                outcome.migrated += modified
                continue
            }
            // Some were not written: find out which, from what is stored now.
            let ids = unsure.compactMap { pairs[$0].stored["_id"] }
            var current: [GroupKey: Document] = [:]
            for d in try collection.find(["_id": ["$in": .array(ids)]]).all() {
                if let id = d["_id"] { current[GroupKey(id)] = d }
            }
            for i in unsure {
                let (_, upgraded) = pairs[i]
                guard let now = pairs[i].stored["_id"].flatMap({ current[GroupKey($0)] }) else {
                    outcome.alreadyDone += 1 // deleted meanwhile
                    if isDown(pairs[i]) { outcome.movedDown -= 1 }
                    continue
                }
                if GuardedWrite.identical(now, upgraded) { outcome.migrated += 1; continue }
                if isDown(pairs[i]) { outcome.movedDown -= 1 }
                if GuardedWrite.identical(now, pairs[i].stored) {
                    // Unchanged, yet the guard did not pass: the server cannot compare it (a NaN).
                    if mover.useTransaction {
                        if try GuardedWrite.replaceInTransaction(collection, expected: pairs[i].stored, replacement: upgraded) {
                            outcome.migrated += 1
                            if isDown(pairs[i]) { outcome.movedDown += 1 }
                        } else {
                            outcome.skipped += 1
                        }
                    } else {
                        outcome.failures.append(Failure(id: pairs[i].stored["_id"], version: try? lens.knownVersion(of: pairs[i].stored),
                                                        reason: "the server's equality cannot confirm the document is unchanged (it holds a NaN), and without transactions there is no other safe way to replace it: left untouched"))
                    }
                    continue
                }
                switch lens.storedVersion(of: now) {
                case .known(let v) where v != target: outcome.skipped += 1
                default: outcome.alreadyDone += 1
                }
            }
        }
        for (stored, upgraded) in moves {
            switch try mover.move(from: stored, to: upgraded) {
            case .moved: outcome.migrated += 1
            case .conflict:
                outcome.skipped += 1
                if isDown((stored, upgraded)) { outcome.movedDown -= 1 }
            case .collision(let why):
                if isDown((stored, upgraded)) { outcome.movedDown -= 1 }
                outcome.failures.append(Failure(id: stored["_id"], version: try? lens.knownVersion(of: stored), reason: why))
            }
        }
        return outcome
    }
}

extension Migrator {
    /// Sends a chunk of guarded replacements, again (up to `attempts` in all) when the connection broke under it
    /// (a pooled socket the server closed): safe, because each statement replaces a document
    /// only if it is still what was read — a statement the first attempt applied matches
    /// nothing the second time, and the caller then finds it written (`identical`).
    func updateRetrying(_ chunk: [Document], attempts: Int = 3) throws -> Int {
        var attempt = 1
        while true {
            do {
                return try collection.update(chunk, ordered: false).modified
            } catch let e as MongoError where e.kind == .connection && attempt < attempts {
                // Another pooled connection (libmongoc reconnects the broken one on its next use).
                attempt += 1
                options.telemetry.logger.info("migrator write retried after a connection error", metadata: [
                    "collection": "\(lens.collection)", "attempt": "\(attempt)", "error": "\(e)"])
            }
        }
    }

    /// Counts a batch's documents (`StrataMetrics.migratorDocuments`) and logs it (debug) and
    /// its failures (warning, each with its `_id` and reason).
    func record(_ outcome: BatchOutcome, batch: Int, pass: Int) {
        let t = options.telemetry, c = lens.collection
        let counts: [(String, String?, Int)] = [("migrated", "up", outcome.migrated - outcome.movedDown), ("migrated", "down", outcome.movedDown),
                                               ("skipped", nil, outcome.skipped), ("failed", nil, outcome.failures.count),
                                               ("already_done", nil, outcome.alreadyDone)]
        for (name, direction, n) in counts where n > 0 {
            var dims = [("collection", c), ("outcome", name)]
            if let direction { dims.append(("direction", direction)) }
            t.counter(StrataMetrics.migratorDocuments, dims).increment(by: Int64(n))
        }
        t.logger.debug("migrator batch", metadata: [
            "collection": "\(c)", "target": "\(target)", "pass": "\(pass)", "documents": "\(batch)",
            "migrated": "\(outcome.migrated)", "movedDown": "\(outcome.movedDown)", "skipped": "\(outcome.skipped)",
            "failed": "\(outcome.failures.count)", "alreadyDone": "\(outcome.alreadyDone)"])
        for f in outcome.failures {
            t.logger.warning("migrator left a document untouched", metadata: [
                "collection": "\(c)", "_id": "\(f.id.map { ExtendedJSON.string($0) } ?? "?")",
                "version": "\(f.version.map(String.init) ?? "?")", "reason": "\(f.reason)"])
        }
    }

    /// Whether a (stored, written) pair moves its document down (a rollback).
    func isDown(_ pair: (stored: Document, upgraded: Document)) -> Bool {
        if case .known(let v) = lens.storedVersion(of: pair.stored) { return v > target }
        return false
    }

    /// `doc` (at `version`, above the target) down-migrated to the target, if it upgrades
    /// back to exactly `doc`; otherwise an error saying which undo loses what.
    func moveDown(_ doc: Document, from version: Int, context: LensContext) throws -> Document {
        let down = try lens.downgrade(doc, to: target, context: context)
        let back: Document
        do { back = try lens.upgrade(down, to: version, context: context) } catch let e as StrataError {
            throw StrataError(.upgradeFailed, "down-migrated to version \(target), document \(idText(doc["_id"])) no longer upgrades: \(e.message); left untouched",
                              at: e.location)
        }
        if let difference = BSONComparison().difference(back, doc) {
            let culprit = lens.lossyUndo(from: version, to: target).map { " (the undo of \($0.reason), at \($0.location))" } ?? ""
            throw StrataError(.upgradeFailed,
                              "document \(idText(doc["_id"])) cannot be moved down to version \(target) without loss\(culprit): upgraded again it differs at \(difference); left untouched")
        }
        return down
    }

    /// Runs the migration on a thread of its own.
    public func run(progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Summary {
        let me = self
        return try await runBlocking { try me.run(progress: progress) }
    }
}
