import ArgumentParser
import Foundation
import Strata
import StrataLibBSON

/// `strata histogram --watch` and its options.
struct WatchOptions: ParsableArguments {
    @Flag(help: "Keep the counts current and redraw them: from a change stream where the server offers one, else by recounting every --interval seconds. Ctrl-C stops. Not a terminal: one JSON object per update.")
    var watch = false

    @Option(help: ArgumentHelp("With --watch and no change streams: seconds between recounts.", valueName: "seconds"))
    var interval: Double = 2

    @Option(help: ArgumentHelp("With --watch and a change stream: also recount every this many seconds (0: never), to correct counts a change racing the first count may have skewed.",
                               valueName: "seconds"))
    var recount: Double = 0

    @Flag(help: "With --watch: recount every --interval seconds even where change streams exist.")
    var poll = false

    @Option(help: ArgumentHelp("With --watch: stop after this many seconds (default: until Ctrl-C).", valueName: "seconds"))
    var watchFor: Double?

    func validate() throws {
        guard interval > 0 && interval.isFinite else { throw ValidationError("--interval must be a positive number of seconds") }
        guard recount >= 0 && recount.isFinite else { throw ValidationError("--recount must be 0 or a positive number of seconds") }
        if let watchFor, !(watchFor > 0 && watchFor.isFinite) { throw ValidationError("--watch-for must be a positive number of seconds") }
        if !watch && (poll || watchFor != nil) { throw ValidationError("--poll and --watch-for go with --watch") }
    }
}

enum HistogramWatch {
    static func run(_ options: WatchOptions, collection: String, lens: Lens, connection: Connection, json: Bool,
                    strategy: VersionHistogram.StrategyChoice) throws {
        let interrupted = Interrupt.install(quiet: true)
        let terminal = !json && isatty(STDOUT_FILENO) == 1
        let clock = ContinuousClock()
        let end = options.watchFor.map { clock.now + .milliseconds(Int($0 * 1000)) }
        var drawnLines = 0
        try connection.run { db in
            let live = LiveHistogram(collection: db.collection(collection), lens: lens, options: .init(
                source: options.poll ? .polling : .automatic, pollInterval: options.interval,
                recountInterval: options.recount > 0 ? options.recount : nil, strategy: strategy,
                telemetry: CLILogging.telemetry))
            try live.run(stop: { interrupted.isSet || end.map { clock.now >= $0 } ?? false }) { s in
                if terminal {
                    var text = s.histogram.table()
                    text += "\n" + status(s) + " — Ctrl-C to stop\n"
                    let up = drawnLines > 0 ? "\u{1B}[\(drawnLines)A\u{1B}[J" : ""
                    writeOut(up + text)
                    drawnLines = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
                } else {
                    var d = s.histogram.json
                    d["updatedAt"] = .date(Int64(s.at.timeIntervalSince1970 * 1000))
                    switch s.source {
                    case .count(let reason): d["source"] = .string("count: \(reason)")
                    case .changeStream(let events, _): d["source"] = "changeStream"; d["events"] = .int64(Int64(events))
                    }
                    if let why = s.pollingReason { d["polling"] = .string(why) }
                    writeOut(ExtendedJSON.string(d, mode: .relaxed) + "\n")
                }
                return true
            }
        }
    }

    static func status(_ s: LiveHistogram.Snapshot) -> String {
        let time = DateFormatter.localizedString(from: s.at, dateStyle: .none, timeStyle: .medium)
        switch s.source {
        case .changeStream(let events, let pre):
            return "live from a change stream: \(grouped(events)) change\(events == 1 ? "" : "s")\(pre ? " (with pre-images)" : ""), updated \(time)"
        case .count(let reason):
            if let why = s.pollingReason { return "recounted \(time) (\(reason)); polling: \(why)" }
            return "counted \(time) (\(reason)); watching the change stream"
        }
    }
}
