import ArgumentParser
import Foundation
import Strata
import StrataLibBSON

/// `strata histogram`: documents per schema version.
struct HistogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "histogram",
        abstract: "Count the documents of a collection at each schema version.",
        discussion: """
            Reads the lens <schemas>/<collection>.json for the version field and the \
            versions it knows. Documents without the field count as the lens's \
            'absentMeans' version; an integral number (1, 1.0, NumberLong(1)) counts as \
            that version. Documents at a version the lens does not know, and documents \
            whose version field is not an integer ("2", 1.5, null, an array...), are \
            shown on lines of their own: every document is counted once.

            With an index whose first key is the version field (and the server's \
            explain confirming an index scan), a few indexed queries do the counting; \
            otherwise one $group scans the collection.
            """
    )

    @OptionGroup var collection: CollectionOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: ArgumentHelp(
        "How to count: auto (the version index when the server uses it, else a $group scan), scan (always the $group scan), index (the version index or fail).",
        valueName: "auto|scan|index"))
    var strategy: VersionHistogram.StrategyChoice = .automatic

    @OptionGroup var watch: WatchOptions

    func run() throws {
        let lens = try schemas.lens(for: collection.name)
        let connection = try self.connection.resolve()
        if watch.watch {
            return try HistogramWatch.run(watch, collection: collection.name, lens: lens, connection: connection, json: json, strategy: strategy)
        }
        let (histogram, exists) = try connection.run { db in
            let coll = db.collection(collection.name)
            let h = try VersionHistogram.read(coll, lens: lens, strategy: strategy)
            let exists = try h.total > 0 || db.listCollectionNames().contains(collection.name)
            return (h, exists)
        }
        if !exists {
            ErrorReporter.printError("strata: note: there is no collection '\(collection.name)' in database '\(histogram.database)'")
        }
        if json {
            print(ExtendedJSON.string(histogram.json, mode: .relaxed))
        } else {
            print(histogram.table(), terminator: "")
        }
    }
}

extension VersionHistogram.StrategyChoice: ExpressibleByArgument {}
