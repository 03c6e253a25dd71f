import StrataEvaluator
import StrataBSON
import Synchronization
import ArgumentParser
import Dispatch
import Foundation
import Strata
import StrataLibBSON

/// `strata migrate`: move every document below a version to it, in throttled batches.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Migrate the documents of a collection to the newest (or a given, possibly older) version, in throttled batches, alongside the application.",
        discussion: """
            Reads the documents below the target version in batches, upgrades each in \
            Swift through the lens, and replaces each whole document only if it is still \
            what was read: a document the application changed meanwhile is skipped and \
            retried in a later pass, never overwritten. A document whose _id changes is \
            moved (insert the new, delete the old; in a transaction where the server \
            offers one). Documents the upgrade cannot handle are reported by _id and left \
            untouched.

            Rollback: with --to an older version than documents are stored at, those \
            documents are moved down through the lens, with the same guards, batches, \
            throttling and progress. Each must upgrade back to exactly what was stored, or \
            it is reported and left untouched (a rollback loses nothing). A step that \
            cannot be undone (an application-defined function such as a hash, a removed \
            field, a conversion without an inverse) refuses the rollback before anything \
            is written, naming the step: such a step needs a down function, which only the \
            library can register (Migrator with LensFunctions.registerDown). Stop the \
            application's writes of newer versions first: it would write them again.

            Killed at any moment (even with SIGKILL), run it again: it continues where \
            the collection stands, with nothing lost or duplicated. Ctrl-C stops after \
            the current batch and prints the summary.

            Progress: a bar on stderr when stderr is a terminal (documents done, rate, \
            time left); otherwise one JSON object per batch on stdout, then one with \
            "summary": true. --json forces the JSON lines.

            Exit status: 0 every document at the target; 5 some documents could not be \
            moved (listed); 4 documents at versions the lens does not know were \
            left untouched; 1 documents kept changing under the migrator (run it again), \
            or a server error; 2 bad arguments or lens, or a rollback through a step that \
            cannot be undone; 130 interrupted.
            """
    )

    @OptionGroup var collection: CollectionOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Option(name: .customLong("to"), help: ArgumentHelp("The version to migrate to; documents above it are moved down (a rollback). Default: the lens's newest.", valueName: "version"))
    var target: Int?

    @Option(help: ArgumentHelp("Documents per batch (1...100000); with --rate, at most one second's worth.", valueName: "n"))
    var batch: Int = 500

    @Option(help: ArgumentHelp("The most documents per second to migrate, over the whole run (e.g. 200 or 1.5). Default: as fast as the server goes.",
                               valueName: "docs-per-second"))
    var rate: Double?

    @Flag(help: "Read and upgrade every document below the target, report what would be migrated and what fails; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Transactions for documents whose _id changes: auto (where the server offers them), always, never (insert the new document, then delete the old one).",
                               valueName: "auto|always|never"))
    var transactions: TransactionUse = .automatic

    @Option(help: ArgumentHelp("Passes over the collection before giving up on documents that keep changing under the migrator.", valueName: "n"))
    var maxPasses: Int = 20

    @Flag(help: "One JSON object per batch and a JSON summary on stdout, even on a terminal.")
    var json = false

    @Option(help: ArgumentHelp("How many failed documents the summary lists (the JSON summary lists all).", valueName: "n"))
    var showFailures: Int = 20

    func validate() throws {
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 100000, not \(batch)") }
        if let rate, !(rate > 0 && rate.isFinite) { throw ValidationError("--rate must be a positive number of documents per second, not \(rate)") }
        guard maxPasses >= 1 else { throw ValidationError("--max-passes must be at least 1") }
        guard showFailures >= 0 else { throw ValidationError("--show-failures must not be negative") }
    }

    func run() throws {
        let lens = try schemas.lens(for: collection.name)
        if let target, !lens.knownVersions.contains(target) {
            throw StrataError.badInput("--to \(target): the lens for '\(lens.collection)' knows versions \(lens.oldest)...\(lens.newest)",
                                       at: lens.source.map { Location(file: $0) })
        }
        if let unbound = lens.unboundFunctions(.builtIn).first {
            throw StrataError.badInput("the lens uses the application-defined function '\(unbound.function)', which the strata command does not have (it knows \(LensFunctions.builtIn.functions.keys.sorted().joined(separator: ", "))): migrate with the library instead (Migrator with LensFunctions that bind it)",
                                       at: unbound.location)
        }
        let interrupted = Interrupt.install()
        let bar = ProgressLine(enabled: !json && isatty(STDERR_FILENO) == 1)
        let jsonLines = json || isatty(STDERR_FILENO) != 1
        let connection = try self.connection.resolve()
        let options = Migrator.Options(target: target, batchSize: batch, rate: rate, dryRun: dryRun, transactions: transactions,
                                       maxPasses: maxPasses, shouldStop: { interrupted.isSet }, telemetry: CLILogging.telemetry)
        let summary: Migrator.Summary
        do {
            summary = try connection.run { db in
                let migrator = try Migrator(collection: db.collection(collection.name), lens: lens, options: options)
                let target = migrator.target
                return try migrator.run { p in
                    if jsonLines {
                        writeOut(ReportJSON.line(p.json) + "\n")
                    } else {
                        bar.update(Self.bar(p, namespace: "\(db.name).\(collection.name)", target: target))
                    }
                }
            }
        } catch {
            bar.finish()
            throw error
        }
        bar.finish()
        if jsonLines {
            writeOut(ReportJSON.line(summary.json) + "\n")
        } else {
            writeOut(Self.text(summary, database: connection.databaseName, showFailures: showFailures))
        }
        if summary.total == 0 {
            ErrorReporter.printError("strata: note: \(connection.databaseName).\(collection.name) holds no documents (is the collection or --db right?)")
        }
        if summary.stopped { throw ExitCode(130) }
        if !summary.failures.isEmpty { throw ExitCode(5) }
        if summary.unknownVersions > 0 {
            ErrorReporter.printError("strata: \(grouped(summary.unknownVersions)) document\(summary.unknownVersions == 1 ? " is" : "s are") at versions the lens does not know and were left untouched (strata histogram -c \(collection.name) lists them)")
            throw ExitCode(4)
        }
        if summary.skippedRemaining > 0 { throw ExitCode(1) }
    }

    /// `migrating db.events to v3 [#####-----] 41% 4,100/10,000  1,234 docs/s  ETA 0:05  skipped 0  failed 0`
    static func bar(_ p: Migrator.Progress, namespace: String, target: Int) -> String {
        let done = p.migrated + p.failed + p.alreadyDone
        let fraction = p.expected > 0 ? min(Double(done) / Double(p.expected), 1) : 1
        let width = 24
        let filled = Int((fraction * Double(width)).rounded(.down))
        let barText = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var s = "\(p.dryRun ? "checking" : "migrating") \(namespace) to v\(target) [\(barText)] \(Int((fraction * 100).rounded(.down)))% "
        s += "\(grouped(done))/\(grouped(p.expected))  \(grouped(Int(p.rate.rounded()))) docs/s"
        if let eta = p.eta { s += "  ETA \(duration(eta))" }
        s += "  skipped \(grouped(p.skipped))  failed \(grouped(p.failed))"
        if p.pass > 1 { s += "  pass \(p.pass)" }
        return s
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    static func text(_ s: Migrator.Summary, database: String, showFailures: Int) -> String {
        let ns = "\(database).\(s.collection)"
        var out = ""
        let rate = "\(grouped(Int(s.rate.rounded()))) docs/s" + (s.requestedRate.map { "; requested \(Self.number($0))" } ?? "")
        if s.dryRun {
            out += "dry run: \(grouped(s.migrated)) of \(grouped(s.expected)) documents of \(ns) not at version \(s.target) would be migrated; nothing was written (\(String(format: "%.1f", s.seconds)) s, \(rate))\n"
        } else {
            out += "\(s.stopped ? "interrupted: " : "")migrated \(grouped(s.migrated)) documents of \(ns) to version \(s.target) in \(String(format: "%.1f", s.seconds)) s (\(rate)); \(s.passes) pass\(s.passes == 1 ? "" : "es"), \(grouped(s.batches)) batch\(s.batches == 1 ? "" : "es")\n"
        }
        if s.alreadyDone > 0 { out += "  already done by someone else (or deleted) meanwhile: \(grouped(s.alreadyDone))\n" }
        if s.skipped > 0 {
            out += "  skipped: \(grouped(s.skipped)) time\(s.skipped == 1 ? "" : "s") a document changed between read and write (not overwritten; retried)"
            out += s.skippedRemaining > 0 ? ", \(grouped(s.skippedRemaining)) still not at version \(s.target): run again\n" : "\n"
        } else if s.skippedRemaining > 0 {
            out += "  still not at version \(s.target): \(grouped(s.skippedRemaining)) (they kept changing): run again\n"
        }
        if !s.failures.isEmpty {
            out += "  failed: \(grouped(s.failures.count)) document\(s.failures.count == 1 ? "" : "s") left untouched:\n"
            for f in s.failures.prefix(showFailures) {
                out += "    _id \(f.id.map { ExtendedJSON.string($0) } ?? "?")\(f.version.map { " (version \($0))" } ?? ""): \(f.reason)\n"
            }
            if s.failures.count > showFailures { out += "    ... and \(grouped(s.failures.count - showFailures)) more (--json lists all)\n" }
        } else {
            out += "  failed: 0\n"
        }
        if s.unknownVersions > 0 { out += "  left untouched: \(grouped(s.unknownVersions)) document\(s.unknownVersions == 1 ? "" : "s") at versions the lens does not know\n" }
        if s.newerThanTarget > 0 {
            out += "  rollback: \(grouped(s.movedDown)) of \(grouped(s.newerThanTarget)) document\(s.newerThanTarget == 1 ? "" : "s") above version \(s.target) moved down\n"
        }
        return out
    }

    static func number(_ x: Double) -> String {
        x.rounded() == x && abs(x) < 1e15 ? grouped(Int(x)) : String(format: "%.2f", x)
    }
}

extension TransactionUse: ExpressibleByArgument {}

/// SIGINT (Ctrl-C) sets a flag instead of killing the process, so a long command can
/// stop cleanly and report; a second Ctrl-C exits at once.
final class Interrupt: Sendable {
    private let flag = Atomic<Bool>(false)
    /// Kept alive as long as the flag.
    private let source = Mutex<DispatchSourceSignal?>(nil)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    static func install(quiet: Bool = false) -> Interrupt {
        let i = Interrupt()
        signal(SIGINT, SIG_IGN)
        i.source.withLock { source in
            let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            s.setEventHandler {
                let again = i.flag.exchange(true, ordering: .acquiringAndReleasing)
                if again { Foundation.exit(130) }
                if !quiet { ErrorReporter.printError("\nstrata: stopping after the current batch (Ctrl-C again to quit at once)") }
            }
            s.resume()
            source = s
        }
        return i
    }
}

/// Writes to stdout at once (unbuffered), so a reader of a pipe sees each line as it is made.
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
