import Synchronization
import Foundation
import StrataBSON
import StrataEvaluator
import StrataLens
import StrataMongo

/// What strata promises about one answer while documents move between versions (the
/// migrator, write-back on read, `save`, application instances on an older release).
public enum Consistency: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Every read of a query sees one state of the database (or the plan reads the
    /// collection once, with one cursor): a moving document is counted exactly once.
    /// Where neither is possible the query is refused. The default.
    case snapshot
    /// The fastest plan, reads not pinned: a document that moves between two of the
    /// query's reads may be counted twice or not at all. A warning says so.
    case bestEffort = "best-effort"

    public var description: String { rawValue }
}

/// How the reads of one query are made to see one state of the database.
public enum ReadMechanism: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Every `find`/`aggregate` carries `readConcern: {level: "snapshot", atClusterTime: T}`
    /// with one T (mongod 5.0+ replica sets and sharded clusters). The first read of a
    /// query fixes T; a read past the server's history window (SnapshotTooOld) restarts
    /// the query at a new T.
    case clusterTime = "cluster-time"
    /// One read-only multi-document transaction with snapshot read concern (SecantusDB,
    /// whose snapshot reads outside transactions are not pinned; mongod replica sets
    /// before 5.0). Bounded by the server's transaction lifetime (60 s on mongod).
    case transaction
    /// No consistent read across commands (a standalone server): the plan reads the
    /// collection with one cursor in natural order (a collection scan, which meets each
    /// stored document once) and evaluates the rest in Swift.
    case singleCursor = "single-cursor"
    /// Reads not pinned (`--consistency best-effort`).
    case unpinned

    public var description: String { rawValue }

    /// The guarantee, as `strata explain` states it.
    public var guarantee: String {
        switch self {
        case .clusterTime:
            return "every read of the query reads the database at one cluster time: a document that moves between versions meanwhile is counted once, in the state it had then"
        case .transaction:
            return "every read of the query runs in one read-only snapshot transaction: a document that moves between versions meanwhile is counted once, in the state it had when the transaction began"
        case .singleCursor:
            return "the server offers no consistent read across commands, so the collection is read with one cursor in natural order (a collection scan): each stored document is read once, in the state the scan met it in; joined collections are read as of their own reads"
        case .unpinned:
            return "none while documents move: reads are not pinned, so a document that moves between versions between two reads may be counted twice or not at all"
        }
    }

    /// Server errors after which the same query, started again at a fresh snapshot,
    /// can still answer exactly (when nothing has been emitted yet).
    static func snapshotLost(_ e: MongoError) -> Bool {
        // SnapshotTooOld, SnapshotUnavailable, NoSuchTransaction,
        // TransactionExceededLifetimeLimitSeconds, StaleChunkHistory.
        [239, 246, 251, 290, 341].contains(e.code) || e.labels.contains("TransientTransactionError")
    }

    /// Errors that mean the server went away or stopped serving mid-query.
    static func serverLost(_ e: MongoError) -> Bool {
        // ShutdownInProgress, InterruptedAtShutdown, InterruptedDueToReplStateChange,
        // PrimarySteppedDown, NotWritablePrimary, NotPrimaryNoSecondaryOk, HostUnreachable,
        // HostNotFound, NetworkTimeout, SocketException.
        e.kind == .connection || [91, 11600, 11602, 189, 10107, 13435, 6, 7, 89, 9001].contains(e.code)
    }

    /// How reads are pinned for `consistency`: `.unpinned` for best-effort, else `forced`,
    /// else what the server offers (`detect`).
    public static func resolve(_ consistency: Consistency, forced: ReadMechanism?, database: MongoDatabase,
                               collection: String) throws -> ReadMechanism {
        if consistency == .bestEffort { return .unpinned }
        return try forced ?? detect(database, collection: collection)
    }

    /// The mechanism a plan actually needs: a plan that reads the collection with one
    /// scan (`QueryPlan.readsOnce`) is exact without a pin, so a pinning mechanism
    /// becomes `.singleCursor` for it — unless it also reads a versioned collection it
    /// joins (`QueryPlan.joinsVersioned`), whose reads must see the scan's state.
    public func effective(for plan: QueryPlan) -> ReadMechanism {
        (self == .clusterTime || self == .transaction) && plan.readsOnce && !plan.joinsVersioned ? .singleCursor : self
    }

    // MARK: detection

    private static let detected = Mutex<[String: ReadMechanism]>([:])

    /// Forgets what `database`'s server was detected to offer (detected again on next use).
    package static func forgetDetection(_ database: MongoDatabase) {
        _ = detected.withLock { $0.removeValue(forKey: database.pool.uri) }
    }

    /// What `database`'s server offers, asked once per process and URI, by capability:
    /// no transactions (a standalone) → `.singleCursor`; a server that refuses a
    /// snapshot read at a time older than its history (`SnapshotTooOld`, as mongod does)
    /// keeps history and pins `atClusterTime` → `.clusterTime`; one that accepts it
    /// (SecantusDB reads the current state whatever time it is given) → `.transaction`.
    public static func detect(_ database: MongoDatabase, collection: String) throws -> ReadMechanism {
        let key = database.pool.uri
        if let m = detected.withLock({ $0[key] }) { return m }
        let unpinned = database.pinned(nil)
        let caps = try unpinned.capabilities()
        var mechanism = ReadMechanism.singleCursor
        if caps.supportsTransactions {
            mechanism = .transaction
            if caps.maxWireVersion >= 13 {
                let old = ReadPin.clusterTime(BSONTimestamp(t: 1, i: 1), pool: database.pool)
                do {
                    _ = try unpinned.pinned(old).collection(collection).find([:], options: FindOptions(limit: 1)).nextDocument()
                } catch let e as MongoError where e.code == 239 || e.code == 246 {
                    mechanism = .clusterTime
                } catch let e as MongoError where e.kind != .connection {
                    // Snapshot reads refused outright: a transaction is what pins here.
                }
            }
        }
        detected.withLock { $0[key] = mechanism }
        return mechanism
    }
}

/// Runs the reads of one query consistently: pins them (`ReadPin`) by the mechanism,
/// starts again at a fresh snapshot when the server lost it (or, once, the connection)
/// before anything was emitted, and otherwise reports an interrupted answer as
/// incomplete — never an answer mixed from two states.
struct ConsistentReads {
    let database: MongoDatabase
    let collection: String
    let mechanism: ReadMechanism
    /// Fresh snapshots tried before giving up.
    var attempts = 4
    /// End a successful read's transaction off the caller's path (`ReadPin.finishInBackground`).
    var endInBackground = false

    /// Counts what the body emits, so a failure after output began is reported as such.
    final class Emitted {
        var count = 0
    }

    /// Runs `body` with the database to read from (pinned as the mechanism says), up to
    /// `attempts` times while the snapshot is lost before any output.
    func run<T>(retried: (Int) -> Void = { _ in }, _ body: (MongoDatabase, Emitted) throws -> T) throws -> T {
        let emitted = Emitted()
        var attempt = 0
        while true {
            attempt += 1
            let pin: ReadPin?
            do {
                pin = try makePin()
            } catch let e as MongoError where ReadMechanism.serverLost(e) && attempt > 1 {
                throw incomplete(e, emitted: emitted.count)
            }
            var answered = false
            defer { if answered && endInBackground { pin?.finishInBackground() } else { pin?.finish() } }
            do {
                let value = try body(database.pinned(pin), emitted)
                answered = true
                return value
            } catch let e as MongoError where ReadMechanism.snapshotLost(e) {
                if emitted.count == 0 && attempt < attempts {
                    retried(attempt)
                    continue
                }
                throw lost(e, emitted: emitted.count, attempts: attempt)
            } catch let e as MongoError where Lens.upgradeFailure(serverMessage: e.message) != nil {
                // A lens guard refused a document in server stages: the error the Swift
                // upgrade gives for it (`.upgradeFailed`, the `_id` and the lens location).
                throw Lens.upgradeFailure(serverMessage: e.message)!
            } catch let e as StrataError where e.kind == .evaluation && Lens.upgradeFailure(serverMessage: e.message) != nil {
                // The same refusal met by Swift evaluating a translated expression.
                throw Lens.upgradeFailure(serverMessage: e.message, onServer: false)!
            } catch let e as MongoError where ReadMechanism.serverLost(e) {
                // A dropped connection before any output: once more, from a fresh snapshot
                // (libmongoc has already retried the read itself where it could).
                if emitted.count == 0 && attempt == 1 {
                    retried(attempt)
                    continue
                }
                throw incomplete(e, emitted: emitted.count)
            }
        }
    }

    func makePin() throws -> ReadPin? {
        switch mechanism {
        case .clusterTime:
            return .clusterTime(try database.pinned(nil).snapshotTime(reading: collection), pool: database.pool)
        case .transaction:
            return try ReadPin.transaction(pool: database.pool)
        case .singleCursor, .unpinned:
            return nil
        }
    }

    func incomplete(_ e: MongoError, emitted: Int) -> StrataError {
        let written = emitted == 0
            ? "no result was written"
            : "\(emitted) result\(emitted == 1 ? " was" : "s were") written before it and are not the whole answer"
        return StrataError(.interrupted, "the answer is incomplete: the server stopped answering mid-query (\(e.description)); \(written)")
    }

    func lost(_ e: MongoError, emitted: Int, attempts: Int) -> StrataError {
        if emitted > 0 {
            return StrataError(.interrupted, "the answer is incomplete: the server lost the query's snapshot (\(e.description)) after \(emitted) result\(emitted == 1 ? " was" : "s were") written; they are not the whole answer, and strata does not mix two states of the database — run the query again")
        }
        let hint = mechanism == .transaction
            ? "the query may take longer than the server's transaction lifetime (mongod: transactionLifetimeLimitSeconds, 60 s by default)"
            : "the query may take longer than the server keeps snapshot history (mongod: minSnapshotHistoryWindowInSeconds, 300 s by default)"
        return StrataError(.interrupted, "no consistent answer: the server lost the query's snapshot \(attempts) time\(attempts == 1 ? "" : "s") in a row (\(e.description)); \(hint); raise it, or run with --consistency best-effort")
    }
}
