import StrataEvaluator
import StrataMongo
import StrataBSON
import ArgumentParser
import Foundation
import Strata

/// `strata import`: Extended JSON lines into a collection.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load a file of Extended JSON lines into a collection.",
        discussion: """
            Each non-blank line holds one document in MongoDB Extended JSON v2 (relaxed \
            or canonical). The whole file is checked first: a malformed line stops the \
            import with exit status 2, naming FILE:LINE, before anything is inserted or \
            dropped. Then the documents are inserted in order, --batch at a time. A \
            document the server refuses (a duplicate _id, say) stops the import at its \
            line; the documents before it stay inserted.
            """
    )

    @OptionGroup var collection: CollectionOptions
    @OptionGroup var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("The file to load, one document per line; '-' reads standard input.", valueName: "file"))
    var file: String

    @Flag(help: "Drop the collection first (once the whole file has been checked).")
    var drop = false

    @Option(help: ArgumentHelp("Documents per insert (1...100000).", valueName: "n"))
    var batch: Int = Importer.defaultBatchSize

    @Flag(help: "Only check the file and count its documents; connect to nothing.")
    var dryRun = false

    func validate() throws {
        guard (1...100_000).contains(batch) else {
            throw ValidationError("--batch must be between 1 and 100000, not \(batch)")
        }
    }

    func run() throws {
        let lines: JSONLines
        if file == "-" {
            lines = JSONLines.standardInput()
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw StrataError.badInput("no such file", at: Location(file: file))
            }
            if isDirectory.boolValue { throw StrataError.badInput("is a folder, not a file", at: Location(file: file)) }
            lines = JSONLines(data: try JSONLines(contentsOf: URL(fileURLWithPath: file)).data, name: file)
        }
        let progress = ProgressLine()
        let clock = ContinuousClock()
        let checkStart = clock.now
        let count: Int
        do {
            count = try Importer.check(lines) { p in
                progress.update("checking \(lines.name): \(grouped(p.done)) documents...")
            }
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        if dryRun {
            print("\(lines.name): \(grouped(count)) documents, every line valid (nothing imported: --dry-run)")
            return
        }
        let checkSeconds = Importer.seconds(clock.now - checkStart)
        let connection = try self.connection.resolve()
        var summary: Importer.Summary
        do {
            summary = try connection.run { db in
                try Importer.insert(lines, into: db.collection(collection.name), batchSize: batch,
                                    dropFirst: drop, expected: count) { p in
                    let pct = count > 0 ? " (\(p.done * 100 / count)%)" : ""
                    progress.update("importing into \(db.name).\(collection.name): \(grouped(p.done)) / \(grouped(count)) documents\(pct)")
                }
            }
        } catch let e as MongoError where e.isDuplicateKey && !drop {
            progress.finish()
            throw MongoError(kind: e.kind, code: e.code, codeName: e.codeName,
                             message: e.message + "; --drop replaces the collection", labels: e.labels, reply: e.reply)
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        summary.checkSeconds = checkSeconds
        let rate = summary.documentsPerSecond
        print("imported \(grouped(summary.documents)) documents from \(lines.name) into \(connection.databaseName).\(collection.name)"
            + " in \(String(format: "%.2f", summary.seconds)) s (\(grouped(Int(rate.rounded()))) docs/s)")
    }
}
