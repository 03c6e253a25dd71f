import ArgumentParser
import Foundation
import Strata

/// The root command. Each subcommand lives in its own file (`<Name>Command.swift`)
/// and is listed in `subcommands` below — that list is the one place to add one.
///
/// A subcommand is a `ParsableCommand` (or `AsyncParsableCommand`) that:
/// - takes `@OptionGroup var connection: ConnectionOptions` when it talks to a
///   server, and runs its work inside `try connection.resolve().run { db in ... }`;
/// - takes `@OptionGroup var schemas: SchemaOptions` when it needs a lens;
/// - throws `StrataError` for bad input (exit 2, "strata: <location>: <message>"),
///   lets `MongoError` through (exit 1), and throws `ValidationError` from
///   `validate()` for bad arguments (exit 2, with the usage).
struct StrataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Query and migrate MongoDB collections whose documents are stored at several schema versions at once.",
        discussion: """
            A lens file (schemas/<collection>.json) says which field holds a document's \
            schema version and how each version becomes the next. strata reads the \
            collection as if every document were already at the newest version.

            Connection: --uri, else $STRATA_URI, else the embedded server that \
            'make server' started in the current directory. Database: --db, else \
            $STRATA_DB, else 'strata'.

            Exit status: 0 success; 1 server or connection error; 2 bad input \
            (arguments, files, lens); 3 unsupported; 4 unknown version; 5 upgrade failed; \
            6 answers differ (verify) or problems found (lens check).
            """,
        version: StrataVersion.string,
        subcommands: [
            RunCommand.self,
            ExplainCommand.self,
            HistogramCommand.self,
            ImportCommand.self,
            MigrateCommand.self,
            SeedCommand.self,
            IndexCommand.self,
            BenchCommand.self,
            VerifyCommand.self,
            LensCommand.self,
            // add each here, one file each.
        ]
    )

    /// Parses `arguments` (the process's when `nil`), runs the chosen
    /// subcommand and exits with its status; never returns, never crashes on
    /// an error: every error goes through `ErrorReporter`.
    static func runAndExit(_ arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            QueryRunner.waitForDeferredReadEnds()
            Foundation.exit(0)
        } catch {
            QueryRunner.waitForDeferredReadEnds()
            Foundation.exit(ErrorReporter.report(error))
        }
    }
}

enum StrataVersion {
    static let string = "0.1.0-dev"
}
