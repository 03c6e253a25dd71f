import ArgumentParser
import Foundation
import Strata

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

extension SchemaOptions {
    /// The versioned collection a query reads, checked before anything connects.
    func versioned(_ collection: String, database: MongoDatabase, ignoreUnknownVersions: Bool) throws -> VersionedCollection {
        var client = StrataClient(database: database, schemasDirectory: URL(fileURLWithPath: directory, isDirectory: true))
        client.options = QueryRunner.Options(ignoreUnknownVersions: ignoreUnknownVersions,
                                             warn: { ErrorReporter.printError("strata: \($0)") })
        return try client.collection(collection)
    }
}
