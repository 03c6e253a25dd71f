import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// `$merge` run by the server itself, so that `into`, `on`, `whenMatched`,
/// `whenNotMatched` and `let` mean exactly what the server makes of them: the results are
/// streamed in batches into a temporary collection of the target's database, each
/// wrapped as `{_id: <new ObjectId>, n: <its place>, d: <the result>}` (so results
/// without `_id`, or with the same `_id`, reach the stage as they would on mongod), and
/// at the end the server runs `[{$sort: {n: 1}}, {$replaceWith: "$d"}, <the $merge>]`
/// over it. A versioned target gets every result stamped with its lens's newest version
/// before it is wrapped (`replace`, `keepExisting`, `fail` and the `whenNotMatched`
/// modes never read the stored document, so they need nothing else).
///
/// One difference is smoothed over: `whenMatched: "merge"` is sent as the pipeline
/// `[{$replaceWith: {$mergeObjects: ["$$ROOT", "$$new"]}}]`, which is what mongod's
/// `merge` does (top-level fields of the result set on the target document, a
/// sub-document replaced whole); SecantusDB 0.7.0b3's `merge` merges sub-documents
/// recursively.
final class ServerMerge: ResultSink {
    let target: WriteTarget
    let output: OutputStage
    let spool: ResultSpool
    private var tally: MergeTally
    private var summary: WriteSummary

    init(target: WriteTarget, output: OutputStage) {
        self.target = target
        self.output = output
        self.spool = ResultSpool(target: target)
        tally = MergeTally(output)
        summary = WriteSummary(stage: .merge, database: target.database.name, collection: target.collection.name)
        summary.version = target.lens?.newest
    }

    func add(_ doc: Document) throws {
        let d = target.stamped(doc)
        // Every result is checked before anything reaches the target (mongod would have
        // written the batches before a bad one; here the target stays as it was).
        if let keys = try spool.add(d, key: try MergeKeys.key(of: d, on: output.on)) { try count(keys) }
    }

    /// Classifies a spooled batch against the target as it is before the merge (nothing
    /// has been written into it yet).
    private func count(_ keys: [MergeKey?]) throws {
        let existing = try MergeKeys.existing(keys.compactMap { $0 }, on: output.on, in: target.collection)
        tally.count(keys, existing: existing, into: &summary)
    }

    /// The `$merge` the server runs over the unwrapped results.
    var stage: BSON {
        var spec: Document = ["into": ["db": .string(target.database.name), "coll": .string(target.collection.name)],
                              "on": .array(output.on.map(BSON.string))]
        switch output.whenMatched {
        case .merge: spec["whenMatched"] = [["$replaceWith": ["$mergeObjects": ["$$ROOT", "$$new"]]]]
        case .pipeline(let stages, _): spec["whenMatched"] = .array(stages)
        default: spec["whenMatched"] = .string(output.whenMatched.name)
        }
        spec["whenNotMatched"] = .string(output.whenNotMatched.rawValue)
        if let variables = output.variables { spec["let"] = .document(variables) }
        return ["$merge": .document(spec)]
    }

    func finish() throws -> WriteSummary {
        try count(try spool.flush())
        do {
            _ = try target.database.runCommand([
                "aggregate": .string(spool.temporary.name),
                "pipeline": .array(ResultSpool.unwrapping + [stage]),
                "cursor": [:], "allowDiskUse": true,
            ])
        } catch let e as MongoError where tally.failure == .notMatched {
            // SecantusDB words it otherwise; mongod's error, with what the server said.
            throw StrataError.evaluation("\(mergeNoMatchMessage) (server: \(e.message))")
        }
        return summary
    }

    func cleanUp() {
        spool.drop()
    }
}
