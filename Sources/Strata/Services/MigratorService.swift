import Logging
import ServiceLifecycle
import StrataMongo

/// A `Migrator` as a swift-service-lifecycle `Service`: migrates a collection once, or again
/// every `interval` (a background job that picks up documents an old application keeps
/// writing at old versions), and stops cleanly on graceful shutdown or cancellation.
///
/// Stopping: on graceful shutdown (`ServiceGroup.triggerGracefulShutdown()`, a signal in
/// the group's `gracefulShutdownSignals`) or task cancellation, the migrator finishes the
/// batch it is writing and `run()` returns (it does not throw). Every document the
/// migrator writes is one atomic guarded replacement (or one transaction for a key change),
/// so the collection is consistent at every moment: each document is either exactly as
/// stored before or exactly its migrated form, and the next run continues where this one
/// stopped. Shutdown waits for at most one batch plus the rate limit's pause between
/// batches (never more than about a second).
///
/// `run()` returns only once the migrator's thread has stopped, so nothing touches the
/// collection after it returns.
///
/// With `.once`, `run()` returns when the migration is done. A `ServiceGroup` treats a
/// service that returns before shutdown as a failure unless its configuration says
/// otherwise: give it `successTerminationBehavior: .ignore` (keep the other services
/// running) or `.gracefullyShutdownGroup` (shut the group down once migrated).
///
/// With `.every(interval)`, it runs until shutdown: a run, then a pause of `interval`
/// (cut short by shutdown), then the next run — skipped (and not logged) when a quick
/// query finds no document at a version other than the target. A run that throws (the server unreachable,
/// say) is logged as an error and tried again after the interval; with `.once` the error
/// is thrown from `run()`.
///
/// Logs through the migrator's `Options.telemetry` logger: the service's start and stop (with
/// the reason: `finished`, `graceful shutdown`, `cancelled`, or `shouldStop` — the
/// migrator's own `Options.shouldStop` asked it to), failed runs (error), and — by the
/// migrator itself — each run's start, batches (debug), failures and summary.
///
/// ```swift
/// let migrator = try Migrator(collection: events, lens: lens,
///                             options: .init(batchSize: 200, rate: 1000, telemetry: telemetry))
/// let group = ServiceGroup(configuration: .init(services: [
///     .init(service: http),
///     .init(service: MigratorService(migrator: migrator, schedule: .every(.seconds(60)))),
/// ], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// try await group.run()
/// ```
public struct MigratorService: Service, CustomStringConvertible {
    /// When the migrator runs.
    public enum Schedule: Sendable, Equatable, CustomStringConvertible {
        /// One run to completion (or to shutdown); then `run()` returns.
        case once
        /// A run, then a pause of the given duration, repeated until shutdown.
        case every(Duration)

        public var description: String {
            switch self {
            case .once: "once"
            case .every(let d): "every \(d)"
            }
        }
    }

    public let migrator: Migrator
    public let schedule: Schedule
    /// Called after every batch (on the migrator's thread).
    public let onProgress: (@Sendable (Migrator.Progress) -> Void)?
    /// Called with every run's summary (`stopped` when shutdown cut the run short).
    public let onSummary: (@Sendable (Migrator.Summary) -> Void)?

    public init(migrator: Migrator, schedule: Schedule = .once,
                onProgress: (@Sendable (Migrator.Progress) -> Void)? = nil,
                onSummary: (@Sendable (Migrator.Summary) -> Void)? = nil) {
        self.migrator = migrator
        self.schedule = schedule
        self.onProgress = onProgress
        self.onSummary = onSummary
    }

    /// A service over `Migrator(collection:lens:options:)` (which throws for options it refuses).
    public init(collection: MongoCollection, lens: Lens, options: Migrator.Options = .init(), schedule: Schedule = .once,
                onProgress: (@Sendable (Migrator.Progress) -> Void)? = nil,
                onSummary: (@Sendable (Migrator.Summary) -> Void)? = nil) throws {
        self.init(migrator: try Migrator(collection: collection, lens: lens, options: options), schedule: schedule,
                  onProgress: onProgress, onSummary: onSummary)
    }

    public var description: String { "MigratorService(\(migrator.lens.collection))" }

    public func run() async throws {
        let stop = StopFlag()
        var options = migrator.options
        let asked = options.shouldStop
        options.shouldStop = { stop.isSet || asked() }
        let m = try Migrator(collection: migrator.collection, lens: migrator.lens, options: options)
        let logger = options.telemetry.logger
        let progress = onProgress ?? { _ in }
        let metadata: Logger.Metadata = ["collection": "\(migrator.lens.collection)", "target": "\(migrator.target)"]
        logger.info("migrator service started", metadata: metadata.merging(["schedule": "\(schedule)"]) { $1 })
        var runs = 0
        var reason = "finished"
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                while true {
                    if stop.isSet { reason = Self.stopReason(); break }
                    let summary: Migrator.Summary
                    do {
                        if runs > 0, try await !m.hasPending() {
                            // Nothing to do: no run (and no run's log lines) until the next interval.
                            if try await !pause(stop) { reason = Self.stopReason(); break }
                            continue
                        }
                        summary = try await m.run(progress: progress)
                        runs += 1
                    } catch {
                        guard case .every = schedule, !stop.isSet else { throw error }
                        logger.error("migrator run failed; trying again after the interval",
                                     metadata: metadata.merging(["error": "\(error)"]) { $1 })
                        runs += 1
                        if try await !pause(stop) { reason = Self.stopReason(); break }
                        continue
                    }
                    onSummary?(summary)
                    if summary.stopped {
                        reason = stop.isSet ? Self.stopReason() : "shouldStop"
                        break
                    }
                    guard case .every = schedule else { break }
                    if try await !pause(stop) { reason = Self.stopReason(); break }
                }
            } onCancelOrGracefulShutdown: {
                stop.set()
            }
        } catch {
            logger.error("migrator service failed", metadata: metadata.merging(["error": "\(error)", "runs": "\(runs)"]) { $1 })
            throw error
        }
        logger.info("migrator service stopped", metadata: metadata.merging(["reason": "\(reason)", "runs": "\(runs)"]) { $1 })
    }

    /// Waits the schedule's interval; false when shutdown or cancellation came first.
    func pause(_ stop: StopFlag) async throws -> Bool {
        guard case .every(let interval) = schedule else { return false }
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        } catch is CancellationError {
            return false
        }
        return !stop.isSet
    }

    static func stopReason() -> String {
        if Task.isShuttingDownGracefully { return "graceful shutdown" }
        if Task.isCancelled { return "cancelled" }
        return "stopped"
    }
}

extension Migrator {
    /// Whether a document waits at a known version other than the target (one `find`, limit 1).
    func hasPending() async throws -> Bool {
        guard let filter = pendingFilter else { return false }
        let collection = self.collection
        return try await runBlocking {
            try collection.find(filter, options: FindOptions(projection: ["_id": 1], limit: 1)).nextDocument() != nil
        }
    }
}
