import ArgumentParser
import Foundation
import Strata
import StrataBSON
import StrataLibBSON

/// `strata explain`: the per-version rewrites and the merge, like a sharded explain.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show how strata would run a query: each version's rewrite (the shards part) and the merge in Swift.",
        discussion: """
            Prints one JSON document: "shards" lists, per stored version, the strategy \
            (translated, materialized, serverUpgrade, swiftUpgrade, empty) and the \
            command sent to the server; "merger" is what runs in Swift. With a server \
            (the default), each branch also carries the server's own explain \
            ("serverPlan": the winning plan's stages and the indexes it uses), and \
            "consistency" names how the reads are pinned and what that guarantees \
            while documents move between versions.
            """
    )

    @OptionGroup var query: QueryInput
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup var consistency: ConsistencyOptions

    @Flag(help: "Only the plan; do not connect to ask the server for its plans.")
    var offline = false

    func run() throws {
        let spec = try query.load()
        let lens = try schemas.lens(for: spec.collection)
        var explained: Document
        if offline {
            let parsed = try ParsedQuery(spec)
            explained = try Planner(lens: lens).plan(parsed).explainDocument
            if let output = parsed.output { explained["output"] = .document(output.explainDocument(versionedTarget: nil)) }
        } else {
            explained = try connection.resolve().run { db in
                let collection = try schemas.versioned(spec.collection, database: db, ignoreUnknownVersions: true,
                                                         consistency: consistency)
                return try collection.explain(spec.pipeline, file: spec.file)
            }
        }
        if let description = spec.description { explained.insert("query", .string(description), at: 0) }
        print(ExtendedJSON.string(explained))
    }
}
