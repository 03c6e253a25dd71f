import Foundation
import Logging
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo
import Synchronization

/// A histogram of versions kept current: an `AsyncSequence` of `VersionHistogram`s,
/// one when it starts and one whenever the counts change.
///
/// The first value is `VersionHistogram.read`. Then, where the server offers change
/// streams (a replica set; SecantusDB presents itself as one), every insert, replace,
/// update and delete of the collection moves one document between versions:
/// - the new version comes from the event (the inserted or replacing document, or the
///   version field in an update's `updatedFields`/`removedFields`; an update that does
///   not touch the version field changes nothing);
/// - the old version comes from the event's pre-image when the collection records them
///   (`changeStreamPreAndPostImages`), otherwise from a map of the documents that are
///   not at the newest version (`_id` → version), read when the watch starts and kept
///   up to date from the events: a document not in the map was at the newest version.
///   The map costs memory in proportion to the documents below the newest version.
/// Without change streams (a standalone server) it recounts every `pollInterval`.
///
/// The change stream is opened before the first count, so no change is missed; a change
/// that lands *while* the first count runs may be counted twice (the server's reads are
/// not pinned to the stream's start). `recountInterval` recounts periodically to heal
/// that; a collection drop, rename or an invalidated stream recounts at once, and so does
/// a stream that failed and was opened again (`reconnectAttempts`).
public struct LiveHistogram: AsyncSequence, Sendable {
    public typealias Element = VersionHistogram

    public struct Options: Sendable {
        public enum Source: String, Sendable {
            /// A change stream where the server offers one, else polling.
            case automatic = "auto"
            case changeStream
            case polling
        }
        public var source: Source
        /// Seconds between recounts when polling.
        public var pollInterval: Double
        /// Seconds between full recounts with a change stream (nil: never).
        public var recountInterval: Double?
        /// Changes closer together than this make one update.
        public var coalesce: Double
        /// How the counts are read (first, and at every recount).
        public var strategy: VersionHistogram.StrategyChoice
        /// Consecutive failed reads of the change stream (a dropped connection, a server
        /// error) survived by reconnecting and recounting before the watch gives up.
        public var reconnectAttempts: Int
        /// Where each update sets the `StrataMetrics.documents` gauges, and reconnects are logged.
        public var telemetry: Telemetry

        public init(source: Source = .automatic, pollInterval: Double = 2, recountInterval: Double? = nil,
                    coalesce: Double = 0.2, strategy: VersionHistogram.StrategyChoice = .automatic, reconnectAttempts: Int = 5,
                    telemetry: Telemetry = Telemetry()) {
            self.telemetry = telemetry
            self.source = source
            self.pollInterval = pollInterval
            self.recountInterval = recountInterval
            self.coalesce = coalesce
            self.strategy = strategy
            self.reconnectAttempts = reconnectAttempts
        }
    }

    /// One update, with how it was obtained.
    public struct Snapshot: Sendable {
        public enum Source: Sendable, Equatable {
            /// Counted (the first count, a periodic or forced recount, or a poll).
            case count(reason: String)
            /// Kept current from the change stream.
            case changeStream(events: Int, preImages: Bool)
        }
        public var histogram: VersionHistogram
        public var source: Source
        /// Whether updates come from a change stream (false: polling, and why).
        public var live: Bool
        public var pollingReason: String?
        public var at: Date
    }

    public let collection: MongoCollection
    public let lens: Lens
    public let options: Options

    public init(collection: MongoCollection, lens: Lens, options: Options = Options()) {
        self.collection = collection
        self.lens = lens
        self.options = options
    }

    /// Sets the documents-per-version gauges: every version the lens knows (zero included),
    /// and the documents at versions it does not know as `version: "unknown"`.
    func recordGauges(_ h: VersionHistogram) {
        let t = options.telemetry
        for v in lens.knownVersions {
            t.gauge(StrataMetrics.documents, [("collection", lens.collection), ("version", "\(v)")]).record(h.counts[v] ?? 0)
        }
        t.gauge(StrataMetrics.documents, [("collection", lens.collection), ("version", "unknown")]).record(h.unexpected)
    }

    public func makeAsyncIterator() -> AsyncThrowingStream<VersionHistogram, Error>.Iterator {
        stream { $0.histogram }.makeAsyncIterator()
    }

    /// The updates with their source.
    public func snapshots() -> AsyncThrowingStream<Snapshot, Error> { stream { $0 } }

    func stream<T: Sendable>(_ transform: @escaping @Sendable (Snapshot) -> T) -> AsyncThrowingStream<T, Error> {
        AsyncThrowingStream { continuation in
            let stop = StopFlag()
            continuation.onTermination = { _ in stop.set() }
            let me = self
            let thread = Thread {
                do {
                    try me.run(stop: { stop.isSet }) { snapshot in
                        me.recordGauges(snapshot.histogram)
                        if case .terminated = continuation.yield(transform(snapshot)) { return false }
                        return true
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    /// Runs the watch on the calling thread: `emit` gets every update (return false to
    /// stop); `stop` is asked about twice a second.
    public func run(stop: () -> Bool = { false }, emit: (Snapshot) throws -> Bool) throws {
        var stream: MongoChangeStream?
        var pollingReason: String?
        var preImages = false
        var watchOptions: Document = ["maxAwaitTimeMS": 500]
        if options.source != .polling {
            do {
                preImages = (try collection.options()?["changeStreamPreAndPostImages"]?.documentValue?["enabled"]?.boolValue) == true
                if preImages { watchOptions["fullDocumentBeforeChange"] = "whenAvailable" }
                stream = try collection.watch([], options: watchOptions)
            } catch let e as MongoError where e.kind == .server || e.kind == .cursor || e.kind == .client {
                if options.source == .changeStream { throw e }
                pollingReason = "no change streams on this server (\(e.message))"
            }
        } else {
            pollingReason = "asked for"
        }
        var state = try LiveCounts(collection: collection, lens: lens, strategy: options.strategy, trackLegacy: stream != nil && !preImages)
        let clock = ContinuousClock()
        var lastCount = clock.now
        func snapshot(_ source: Snapshot.Source) -> Snapshot {
            Snapshot(histogram: state.histogram, source: source, live: stream != nil, pollingReason: pollingReason, at: Date())
        }
        guard try emit(snapshot(.count(reason: "first count"))) else { return }

        guard var changes = stream else {
            while !stop() {
                let deadline = clock.now + .milliseconds(Int(options.pollInterval * 1000))
                while clock.now < deadline && !stop() { Thread.sleep(forTimeInterval: Swift.min(0.25, options.pollInterval)) }
                if stop() { return }
                let before = state.histogram
                try state.recount()
                if state.histogram != before, try !emit(snapshot(.count(reason: "poll"))) { return }
            }
            return
        }
        var events = 0
        var pending = false
        var firstPending = clock.now
        var failures = 0
        while !stop() {
            let event: Document?
            do {
                event = try changes.next()
                failures = 0
            } catch let e as MongoError where e.kind == .connection || e.kind == .server || e.kind == .cursor {
                // libmongoc resumes a stream once by itself; past that, reconnect: a new
                // stream and a recount (events may have been missed meanwhile).
                failures += 1
                if failures > options.reconnectAttempts { throw e }
                Thread.sleep(forTimeInterval: Swift.min(2, 0.1 * Double(1 << Swift.min(failures, 5))))
                do {
                    changes = try collection.watch([], options: watchOptions)
                } catch let again as MongoError where again.kind == .connection || again.kind == .server {
                    continue
                }
                state.needsRecount = true
                state.recountReason = "reconnected after: \(e.description)"
                event = nil
            }
            if let event {
                events += 1
                if try state.apply(event) {
                    if !pending { firstPending = clock.now }
                    pending = true
                }
            }
            let now = clock.now
            if let every = options.recountInterval, !state.needsReopen, now - lastCount >= .milliseconds(Int(every * 1000)) || state.needsRecount {
                try state.recount()
                lastCount = now
                pending = false
                guard try emit(snapshot(.count(reason: state.recountReason ?? "periodic recount"))) else { return }
                state.recountReason = nil
            } else if state.needsRecount {
                if state.needsReopen {
                    // A dropped or renamed collection ends the stream: watch the new one.
                    changes = try collection.watch([], options: watchOptions)
                    state.needsReopen = false
                }
                try state.recount()
                lastCount = now
                pending = false
                guard try emit(snapshot(.count(reason: state.recountReason ?? "recount"))) else { return }
                state.recountReason = nil
            } else if pending && now - firstPending >= .milliseconds(Int(options.coalesce * 1000)) {
                pending = false
                guard try emit(snapshot(.changeStream(events: events, preImages: preImages))) else { return }
            }
        }
    }
}

final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// The counts and what they need to follow change events.
struct LiveCounts {
    let collection: MongoCollection
    let lens: Lens
    let strategy: VersionHistogram.StrategyChoice
    let trackLegacy: Bool
    var histogram: VersionHistogram
    /// `_id` → version field value (nil: missing) of the documents not at the newest version.
    var legacy: [GroupKey: BSON?] = [:]
    var needsRecount = false
    /// The change stream ended (the collection was dropped or renamed): open a new one.
    var needsReopen = false
    var recountReason: String?

    init(collection: MongoCollection, lens: Lens, strategy: VersionHistogram.StrategyChoice, trackLegacy: Bool) throws {
        self.collection = collection
        self.lens = lens
        self.strategy = strategy
        self.trackLegacy = trackLegacy
        histogram = try VersionHistogram.read(collection, lens: lens, strategy: strategy)
        if trackLegacy { try loadLegacy() }
    }

    var newestFilter: Document { lens.filter(forVersion: lens.newest) }

    mutating func loadLegacy() throws {
        legacy = [:]
        let cursor = try collection.find(["$nor": [.document(newestFilter)]],
                                         options: FindOptions(projection: [lens.versionField: 1], batchSize: 10_000))
        while let d = try cursor.nextDocument() {
            if let id = d["_id"] { legacy[GroupKey(id)] = .some(d[lens.versionField]) }
        }
    }

    mutating func recount() throws {
        histogram = try VersionHistogram.read(collection, lens: lens, strategy: strategy)
        if trackLegacy { try loadLegacy() }
        needsRecount = false
    }

    func isNewest(_ value: BSON?) -> Bool {
        guard let value else { return lens.absentMeans == lens.newest }
        if case .array = value { return false }
        return Lens.integerVersion(value) == lens.newest
    }

    /// Applies one change event; true when the counts changed.
    mutating func apply(_ event: Document) throws -> Bool {
        guard let op = event["operationType"]?.stringValue else { return false }
        let id = event["documentKey"]?.documentValue?["_id"]
        let before = event["fullDocumentBeforeChange"]?.documentValue
        let field = lens.versionField
        func oldValue() -> BSON? {
            if let before { return before[field] }
            if let id, let known = legacy[GroupKey(id)] { return known }
            return .int32(Int32(lens.newest))
        }
        switch op {
        case "insert":
            guard let doc = event["fullDocument"]?.documentValue else { return false }
            move(from: nil, to: .some(doc[field]), id: id)
            return true
        case "replace":
            guard let doc = event["fullDocument"]?.documentValue else { return false }
            let old = oldValue()
            move(from: .some(old), to: .some(doc[field]), id: id)
            return !sameVersion(old, doc[field])
        case "update":
            guard let desc = event["updateDescription"]?.documentValue else { return false }
            let updated = desc["updatedFields"]?.documentValue ?? [:]
            let removed = desc["removedFields"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let new: BSON?
            if let v = updated[field] {
                new = v
            } else if removed.contains(field) {
                new = nil
            } else if updated.keys.contains(where: { $0.hasPrefix(field + ".") }) || removed.contains(where: { $0.hasPrefix(field + ".") }) {
                needsRecount = true
                recountReason = "an update inside the version field"
                return false
            } else {
                return false
            }
            let old = oldValue()
            move(from: .some(old), to: .some(new), id: id)
            return !sameVersion(old, new)
        case "delete":
            let old = oldValue()
            move(from: .some(old), to: nil, id: id)
            return true
        case "drop", "rename", "dropDatabase", "invalidate":
            needsRecount = true
            needsReopen = true
            recountReason = "the collection was \(op == "invalidate" ? "invalidated" : op == "rename" ? "renamed" : "dropped")"
            return false
        default:
            return false
        }
    }

    /// Whether two version field values count on the same line.
    func sameVersion(_ a: BSON?, _ b: BSON?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let x?, let y?):
            if let i = Lens.integerVersion(x) { return i == Lens.integerVersion(y) }
            return ExtendedJSON.string(x, mode: .canonical) + x.typeName == ExtendedJSON.string(y, mode: .canonical) + y.typeName
        default: return false
        }
    }

    /// One document leaves `from` (`nil`: it did not exist) and enters `to` (`nil`: it is gone).
    /// The inner optional is the version field's value (`.none`: missing).
    mutating func move(from: BSON??, to: BSON??, id: BSON?) {
        if let from { adjust(from, by: -1) }
        if let to { adjust(to, by: 1) }
        guard trackLegacy, let id else { return }
        if let to, !isNewest(to) { legacy[GroupKey(id)] = .some(to) } else { legacy[GroupKey(id)] = nil }
    }

    mutating func adjust(_ value: BSON?, by d: Int) {
        guard let value else {
            histogram.counts[lens.absentMeans, default: 0] += d
            histogram.documentsWithoutField += d
            return
        }
        if case .array = value {
            adjustOdd(value, d)
        } else if let v = Lens.integerVersion(value) {
            if lens.knownVersions.contains(v) {
                histogram.counts[v, default: 0] += d
            } else {
                histogram.unknownVersions[v, default: 0] += d
                if histogram.unknownVersions[v] == 0 { histogram.unknownVersions[v] = nil }
            }
        } else {
            adjustOdd(value, d)
        }
    }

    mutating func adjustOdd(_ value: BSON, _ d: Int) {
        let key = ExtendedJSON.string(value, mode: .canonical) + "|" + value.typeName
        if let i = histogram.nonInteger.firstIndex(where: { ExtendedJSON.string($0.value, mode: .canonical) + "|" + $0.value.typeName == key }) {
            histogram.nonInteger[i].count += d
            if histogram.nonInteger[i].count <= 0 { histogram.nonInteger.remove(at: i) }
        } else if d > 0 {
            histogram.nonInteger.append(VersionHistogram.NonIntegerVersion(value: value, count: d))
        }
        // The order `VersionHistogram.read` gives: most frequent first, then by value.
        histogram.nonInteger.sort { $0.count != $1.count ? $0.count > $1.count : $0.extendedJSON < $1.extendedJSON }
    }
}
