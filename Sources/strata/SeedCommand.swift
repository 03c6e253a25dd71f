import ArgumentParser
import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON

/// `strata seed`: newest-version documents in, a collection mid-migration out.
struct SeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Store newest-version documents at versions drawn from a mix, each down-migrated through the lens: a collection mid-migration for tests.",
        discussion: """
            FILE holds newest-version documents, one Extended JSON document a line ('-' \
            reads standard input). Each is stored at a version drawn from --mix (one share \
            per version the lens knows, oldest first: --mix 40,30,20,10 for versions 0..3), \
            in the shape of that version. --seed makes the draws reproducible; without it a \
            random seed is chosen and printed.

            Nothing is written until every document has been seeded and checked: each \
            seeded document must upgrade back to exactly the document given. A document \
            that does not (a lossy step: a list the old shape holds one element of) is \
            refused, naming it and the step; --unrepresentable newer stores it at the \
            oldest newer version that holds it instead. A step that cannot be undone (a \
            hash, a removed field) needs a down function, which only the library can \
            register (Seeder with LensFunctions.registerDown): the command refuses it, \
            naming the step. Lookups run against the same database, so seed the \
            collections a lens looks into first.

            Exit status: 0 seeded; 2 bad input (file, mix, a step that cannot be undone, a \
            non-empty collection without --drop); 4 a document at a version the lens does \
            not know; 5 a document that cannot be stored at its version; 1 server error.
            """
    )

    @OptionGroup var collection: CollectionOptions
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions

    @Argument(help: ArgumentHelp("Newest-version documents, one per line; '-' reads standard input.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The share of documents at each version the lens knows, oldest first (e.g. 40,30,20,10).", valueName: "shares"))
    var mix: String

    @Option(help: ArgumentHelp("Seeds the draws of versions (an unsigned 64-bit integer): same documents, mix and seed, same collection.", valueName: "n"))
    var seed: UInt64?

    @Flag(help: "Drop the collection first (once every document is seeded and checked). Without it, a collection that holds documents is refused.")
    var drop = false

    @Option(help: ArgumentHelp("A document its drawn version cannot hold: refuse (default) or store it at the oldest newer version that does.", valueName: "refuse|newer"))
    var unrepresentable: Seeder.Unrepresentable = .refuse

    @Option(help: ArgumentHelp("Documents per insert (1...100000).", valueName: "n"))
    var batch: Int = 1000

    @Flag(help: "Seed and check every document, print the summary, write nothing.")
    var dryRun = false

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func validate() throws {
        guard (1...100_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 100000, not \(batch)") }
        _ = try shares()
    }

    func shares() throws -> [Double] {
        let parts = mix.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { p in
            guard let v = Double(p), v >= 0, v.isFinite else {
                throw ValidationError("--mix takes non-negative numbers separated by commas (e.g. 40,30,20,10); '\(p)' is not one")
            }
            return v
        }
    }

    func run() throws {
        let lens = try schemas.lens(for: collection.name)
        let lines: JSONLines
        if file == "-" {
            lines = JSONLines.standardInput()
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw StrataError.badInput("no such file", at: Location(file: file))
            }
            if isDirectory.boolValue { throw StrataError.badInput("is a folder, not a file", at: Location(file: file)) }
            lines = try JSONLines(contentsOf: URL(fileURLWithPath: file))
        }
        var documents: [Document] = []
        var lineNumbers: [Int] = []
        try lines.forEachDocument { line, doc in
            documents.append(doc)
            lineNumbers.append(line)
        }
        let options = Seeder.Options(mix: try shares(), seed: seed, drop: drop, batchSize: batch, unrepresentable: unrepresentable)
        let connection = try self.connection.resolve()
        let progress = ProgressLine()
        let summary: Seeder.Summary
        do {
            summary = try connection.run { db in
                let seeder = try Seeder(collection: db.collection(collection.name), lens: lens, options: options)
                let origin: (Int) -> String = { "\(lines.name):\(lineNumbers[$0])" }
                if dryRun { return try seeder.seeded(documents, origin: origin).summary }
                return try seeder.seed(documents, origin: origin) { done, total in
                    progress.update("seeding \(db.name).\(collection.name): \(grouped(done)) / \(grouped(total)) documents")
                }
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        if json {
            var d = summary.json
            d["collection"] = .string("\(connection.databaseName).\(collection.name)")
            d["dryRun"] = .bool(dryRun)
            writeOut(ReportJSON.line(d) + "\n")
            return
        }
        let perVersion = summary.perVersion.sorted { $0.key < $1.key }.map { "v\($0.key): \(grouped($0.value))" }.joined(separator: ", ")
        let verb = dryRun ? "would seed (nothing written: --dry-run)" : "seeded"
        print("\(verb) \(grouped(summary.documents)) documents into \(connection.databaseName).\(collection.name) (\(perVersion)), seed \(summary.seed)\(summary.dropped ? ", dropped first" : "")")
        if !summary.storedNewer.isEmpty {
            let newer = summary.storedNewer.sorted { $0.key < $1.key }.map { "\(grouped($0.value)) drawn at v\($0.key)" }.joined(separator: ", ")
            print("stored newer than drawn, as their drawn version cannot hold them: \(newer)")
        }
    }
}

extension Seeder.Unrepresentable: ExpressibleByArgument {}
