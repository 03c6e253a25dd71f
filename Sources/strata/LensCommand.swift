import ArgumentParser
import Foundation
import Strata
import StrataLibBSON

/// `strata lens`: work on a lens file itself.
struct LensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lens",
        abstract: "Check a lens against the documents of its collection.",
        subcommands: [LensCheckCommand.self]
    )
}

/// `strata lens check`: the lens's operations and claims tested on sampled documents.
struct LensCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Test a lens's operations and claims on documents sampled from the collection.",
        discussion: """
            Loads <schemas>/<collection>.json (its lint runs as it always does), counts the \
            documents stored at each version (as 'strata histogram' does; documents at a \
            version the lens does not know are a problem), then, for each stored version \
            below the newest, draws up to --sample documents and: \
            upgrades them in Swift (documents an operation refuses are reported with the \
            operation's place and example _ids); upgrades them with the lens's server \
            stages, which must agree with Swift; tests each convert's 'monotone' and \
            'inverseExact' claim on the values met; and, where the lens declares the way \
            back exact, downgrades them again and compares; and looks for fields the \
            upgraded documents still hold that no step mentions and that no document stored \
            at the newest version holds (up to --sample of them are read, then one $exists \
            find per path they lack; reported per path, with a count and example _ids). It also lists what each operation discards and \
            which versions upgrade only in Swift.

            Exit status: 0 when no problem is found, 6 when some are (the report says \
            which), 2 for a bad lens, 1 for a server error.
            """
    )

    @OptionGroup var collection: CollectionOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Option(help: ArgumentHelp("Documents to draw at each stored version.", valueName: "n"))
    var sample = 200

    @Flag(help: "Print one JSON object instead of the report.")
    var json = false

    func validate() throws {
        if sample < 1 { throw ValidationError("--sample must be at least 1") }
    }

    func run() throws {
        let lens = try schemas.lens(for: collection.name)
        let report = try connection.resolve().run { db in
            try LensCheck(lens: lens, sample: sample).run(on: db.collection(collection.name))
        }
        if json {
            print(ExtendedJSON.string(.document(report.json), mode: .relaxed))
        } else {
            print(report.text, terminator: "")
        }
        if !report.problems.isEmpty { throw ExitCode(6) }
    }
}
