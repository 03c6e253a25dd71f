import Foundation
import Logging
import ServiceLifecycle
import StrataMongo
import Synchronization

/// A `LiveHistogram` as a swift-service-lifecycle `Service`: keeps a collection's histogram
/// of versions current until graceful shutdown or cancellation.
///
/// Every update sets the `StrataMetrics.documents` gauges (through the histogram's
/// `Options.telemetry`), becomes `latest`, and is passed to `onUpdate` if one is given
/// (called in order, one at a time; a slow handler delays the next update, not the watch).
///
/// On graceful shutdown or cancellation the watch stops within about half a second (the
/// change stream's await time, or the polling step); `run()` returns once the watch's
/// thread has ended. If the watch fails (the change stream cannot be reopened after
/// `reconnectAttempts`, a count fails) `run()` throws the error, which by default makes a
/// `ServiceGroup` shut down.
///
/// Logs through the histogram's `Options.telemetry` logger: start, the first count (with
/// whether updates come from a change stream or polling, and why), stop (with the reason and the number of updates), failure.
///
/// ```swift
/// let histogram = LiveHistogramService(collection: events, lens: lens,
///                                      options: .init(telemetry: telemetry)) { snapshot in
///     print(snapshot.histogram.counts)
/// }
/// // ... in a ServiceGroup; elsewhere: histogram.latest?.histogram
/// ```
public struct LiveHistogramService: Service, CustomStringConvertible {
    public let histogram: LiveHistogram
    /// Called with every update, the first count included.
    public let onUpdate: (@Sendable (LiveHistogram.Snapshot) async -> Void)?
    private let latestBox = LatestSnapshot()

    public init(histogram: LiveHistogram, onUpdate: (@Sendable (LiveHistogram.Snapshot) async -> Void)? = nil) {
        self.histogram = histogram
        self.onUpdate = onUpdate
    }

    public init(collection: MongoCollection, lens: Lens, options: LiveHistogram.Options = .init(),
                onUpdate: (@Sendable (LiveHistogram.Snapshot) async -> Void)? = nil) {
        self.init(histogram: LiveHistogram(collection: collection, lens: lens, options: options), onUpdate: onUpdate)
    }

    /// The most recent update (`nil` before the first count). Shared by the copies of this
    /// value, so a copy handed to a `ServiceGroup` and one kept by an HTTP route see the same.
    public var latest: LiveHistogram.Snapshot? { latestBox.value.withLock { $0 } }

    public var description: String { "LiveHistogramService(\(histogram.lens.collection))" }

    public func run() async throws {
        let logger = histogram.options.telemetry.logger
        let metadata: Logger.Metadata = ["collection": "\(histogram.lens.collection)"]
        let stop = StopFlag()
        let (updates, continuation) = AsyncThrowingStream<LiveHistogram.Snapshot, Error>.makeStream()
        let watch = histogram
        let ended = ThreadEnd()
        // The watch is blocking (driver calls): it runs on a thread of its own and is asked
        // to stop about twice a second.
        let thread = Thread {
            defer { ended.signal() }
            do {
                try watch.run(stop: { stop.isSet }) { snapshot in
                    watch.recordGauges(snapshot.histogram)
                    continuation.yield(snapshot)
                    return !stop.isSet
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        thread.stackSize = 4 << 20
        var count = 0
        logger.info("live histogram service started", metadata: metadata)
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                thread.start()
                for try await snapshot in updates {
                    if count == 0 {
                        var m = metadata
                        m["live"] = "\(snapshot.live)"
                        m["total"] = "\(snapshot.histogram.total)"
                        if let why = snapshot.pollingReason { m["pollingReason"] = "\(why)" }
                        logger.info("live histogram service: first count", metadata: m)
                    }
                    count += 1
                    latestBox.value.withLock { $0 = snapshot }
                    if let onUpdate, !stop.isSet { await onUpdate(snapshot) }
                }
            } onCancelOrGracefulShutdown: {
                stop.set()
            }
        } catch {
            stop.set()
            await ended.wait()
            logger.error("live histogram service failed", metadata: metadata.merging(["error": "\(error)", "updates": "\(count)"]) { $1 })
            throw error
        }
        // Cancellation ends the loop at once; the watch notices the flag within half a second.
        stop.set()
        await ended.wait()
        let reason = Task.isShuttingDownGracefully ? "graceful shutdown" : Task.isCancelled ? "cancelled" : "the watch ended"
        logger.info("live histogram service stopped", metadata: metadata.merging(["reason": "\(reason)", "updates": "\(count)"]) { $1 })
    }
}

/// The latest snapshot, shared between copies of a `LiveHistogramService`.
final class LatestSnapshot: Sendable {
    let value = Mutex<LiveHistogram.Snapshot?>(nil)
}

/// Signalled when a thread ends; awaited without regard to cancellation (the thread is told
/// to stop separately, and ends soon after).
final class ThreadEnd: Sendable {
    private let state = Mutex<(ended: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.ended = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { s -> Bool in
                if s.ended { return true }
                s.waiter = c
                return false
            }
            if ended { c.resume() }
        }
    }
}
