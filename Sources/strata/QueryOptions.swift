import ArgumentParser
import Foundation
import Strata
import StrataEvaluator
import StrataMongo

/// The query to run or explain: a QUERY.json file, or `--pipeline` with `--collection`.
struct QueryInput: ParsableArguments {
    @Argument(help: ArgumentHelp("A query file: {\"collection\": ..., \"pipeline\": [...]} in Extended JSON v2.", valueName: "query.json"))
    var file: String?

    @Option(help: ArgumentHelp("The pipeline inline, as Extended JSON (an array of stages); needs --collection.", valueName: "json"))
    var pipeline: String?

    @Option(name: [.customLong("collection"), .customShort("c")], help: ArgumentHelp("The collection, with --pipeline.", valueName: "name"))
    var collection: String?

    func validate() throws {
        switch (file, pipeline) {
        case (nil, nil): throw ValidationError("give a query file, or --pipeline '[...]' with --collection NAME")
        case (_?, _?): throw ValidationError("give either a query file or --pipeline, not both")
        case (nil, _?): if collection == nil { throw ValidationError("--pipeline needs --collection NAME") }
        case (_?, nil): if collection != nil { throw ValidationError("--collection goes with --pipeline; the query file names its collection") }
        }
        if let collection { try Names.checkCollection(collection, what: "--collection") }
    }

    func load() throws -> QuerySpec {
        if let file {
            guard FileManager.default.fileExists(atPath: file) else {
                throw StrataError.badInput("no such query file", at: Location(file: file))
            }
            return try QuerySpec.load(contentsOf: URL(fileURLWithPath: file))
        }
        return try QuerySpec.inline(collection: collection!, pipelineJSON: pipeline!)
    }
}

extension Consistency: ExpressibleByArgument {}

/// `--consistency` and `--read-mechanism`: what an answer promises while documents move
/// between versions, and how reads are pinned.
struct ConsistencyOptions: ParsableArguments {
    enum Mechanism: String, CaseIterable, ExpressibleByArgument {
        case auto, clusterTime = "cluster-time", transaction, singleCursor = "single-cursor"
        var forced: ReadMechanism? {
            switch self {
            case .auto: return nil
            case .clusterTime: return .clusterTime
            case .transaction: return .transaction
            case .singleCursor: return .singleCursor
            }
        }
    }

    @Option(help: ArgumentHelp(
        "snapshot: every read of the query sees one state of the database, or one cursor reads the collection where the server offers no consistent read; best-effort: the fastest plan with reads not pinned (a document moving between versions meanwhile may be counted twice or not at all; a warning says so).",
        valueName: Consistency.allCases.map(\.rawValue).joined(separator: "|")))
    var consistency: Consistency = .snapshot

    @Option(name: .customLong("read-mechanism"), help: ArgumentHelp(
        "How reads are pinned with --consistency snapshot. auto: what the server offers (atClusterTime snapshot reads on mongod 5.0+ replica sets and sharded clusters; a read-only transaction on SecantusDB and older replica sets; one cursor on a standalone). Forcing one the server does not honour gives unpinned reads.",
        valueName: Mechanism.allCases.map(\.rawValue).joined(separator: "|")))
    var readMechanism: Mechanism = .auto

    func validate() throws {
        if consistency == .bestEffort && readMechanism != .auto {
            throw ValidationError("--read-mechanism goes with --consistency snapshot; best-effort reads are not pinned")
        }
    }
}

/// `--max-memory` and `--spill-dir`: what a query's blocking work in Swift may hold
/// before it spills sorted runs to temporary files.
struct MemoryOptions: ParsableArguments {
    @Option(name: .customLong("max-memory"), help: ArgumentHelp(
        "What the query's work in Swift may hold (merging partial groups, $group, $sort, $bucket) before it spills sorted runs to temporary files, merged back in order: a size such as 256MB, 1GB or 500000 (bytes), or unlimited.",
        valueName: "size"))
    var maxMemory: String = "256MB"

    @Option(name: .customLong("spill-dir"), help: ArgumentHelp(
        "Where spill files go (a private directory per operator, removed after the query, after an error and on Ctrl-C; one a crash leaves is removed by the next strata run). Default: $TMPDIR, else /tmp.",
        valueName: "dir"))
    var spillDirectory: String?

    /// The budget in bytes; nil: unlimited.
    var bytes: Int? { maxMemory.lowercased() == "unlimited" ? nil : MemoryBudget.parseSize(maxMemory) }

    func validate() throws {
        if maxMemory.lowercased() != "unlimited" && MemoryBudget.parseSize(maxMemory) == nil {
            throw ValidationError("--max-memory takes a size such as 256MB, 1GB or 500000 (bytes), or unlimited; got '\(maxMemory)'")
        }
        if let spillDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: spillDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--spill-dir: no such directory: \(spillDirectory)")
            }
        }
    }

    func apply(to options: inout QueryRunner.Options) {
        options.maxMemoryBytes = bytes
        options.spillDirectory = spillDirectory
    }
}

extension SchemaOptions {
    /// The versioned collection a query reads, checked before anything connects.
    func versioned(_ collection: String, database: MongoDatabase, ignoreUnknownVersions: Bool,
                   consistency: ConsistencyOptions, lens: Lens? = nil, sampleSeed: UInt64? = nil,
                   memory: MemoryOptions? = nil) throws -> VersionedCollection {
        var client = StrataClient(database: database, schemasDirectory: URL(fileURLWithPath: directory, isDirectory: true))
        client.options = QueryRunner.Options(ignoreUnknownVersions: ignoreUnknownVersions,
                                             warn: { ErrorReporter.printError("strata: \($0)") },
                                             consistency: consistency.consistency, readMechanism: consistency.readMechanism.forced,
                                             sampleSeed: sampleSeed, telemetry: CLILogging.telemetry)
        memory?.apply(to: &client.options)
        if let lens { return try client.collection(lens: lens) }
        return try client.collection(collection)
    }
}
