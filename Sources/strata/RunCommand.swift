import ArgumentParser
import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON

/// `strata run`: one logical pipeline over every version of a collection.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a query written for the newest schema over a collection whose documents sit at several versions.",
        discussion: """
            The answer equals what the same pipeline gives on the fully migrated \
            collection. strata rewrites the pipeline once per stored version (through the \
            lens), runs each rewrite on the server, and merges the partial results in \
            Swift. When no exact rewrite exists strata uses a slower exact strategy, or \
            refuses with a non-zero status — it never guesses.

            Output: one relaxed Extended JSON document per line (jsonl, the default), a \
            JSON array (json), or csv/table for reading. A pipeline whose last stage is \
            $out or $merge writes its results instead (mongod's semantics, over the \
            collection as if fully migrated) and prints one JSON line saying what it \
            wrote: {"wrote": "db.coll", "stage", "documents", "inserted", ...}.

            While documents move between versions (a migration, write-back, old \
            writers), every read of the query sees one state of the database \
            (--consistency snapshot, the default): at one cluster time on mongod 5.0+ \
            replica sets, in one read-only transaction on SecantusDB, with one cursor \
            over the collection on a standalone server. 'strata explain' names the \
            mechanism.

            Exit status: 0 success; 1 server error; 2 a malformed query or lens; 3 a \
            stage or operator strata does not support; 4 documents at a version the \
            lens does not know; 5 a document the lens cannot upgrade; 7 the answer is \
            incomplete (the server stopped answering, or lost the query's snapshot, \
            mid-query: what was written is not the whole answer).
            """
    )

    @OptionGroup var query: QueryInput
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup var consistency: ConsistencyOptions
    @OptionGroup var memory: MemoryOptions

    @Option(help: ArgumentHelp("Output format.", valueName: OutputFormat.allCases.map(\.rawValue).joined(separator: "|")))
    var format: OutputFormat = .jsonl

    @Flag(help: "jsonl and json: canonical Extended JSON, which keeps every BSON type (int32, int64, double, decimal) apart; relaxed prints 5 for an int32 and an int64 alike.")
    var canonical = false

    @Flag(help: "Leave out documents at versions the lens does not know (with a warning) instead of refusing.")
    var ignoreUnknownVersions = false

    @Option(name: .customLong("sample-seed"), help: ArgumentHelp(
        "Seed $sample's random choices: the same database gives the same answer every run. Without it, $sample draws differently each run, as mongod's does.",
        valueName: "n"))
    var sampleSeed: UInt64?

    func run() throws {
        // Spill files: removed on Ctrl-C; those of a crashed run removed now.
        SpillDirectory.installSignalCleanup()
        SpillDirectory.removeStale(base: memory.spillDirectory)
        let spec = try query.load()
        // The lens and the query are loaded and parsed once, before anything connects;
        // the plan is made once, with the server's indexes.
        let lens = try schemas.lens(for: spec.collection)
        let parsed = try ParsedQuery(spec)
        if parsed.output != nil {
            // A pipeline ending in $out/$merge writes its results: the summary is the output.
            let summary = try connection.resolve().run { db in
                try schemas.versioned(spec.collection, database: db, ignoreUnknownVersions: ignoreUnknownVersions,
                                      consistency: consistency, lens: lens, memory: memory).write(parsed)
            }
            print(ExtendedJSON.string(summary.json, mode: canonical ? .canonical : .relaxed))
            return
        }
        let writer = OutputFormat.Writer(format, canonical: canonical)
        try connection.resolve().run { db in
            let collection = try schemas.versioned(spec.collection, database: db, ignoreUnknownVersions: ignoreUnknownVersions,
                                                     consistency: consistency, lens: lens, sampleSeed: sampleSeed, memory: memory)
            try collection.aggregate(parsed) { doc in
                writer.write(doc)
                return true
            }
        }
        writer.finish()
    }
}
