import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// `$merge` with `whenMatched: "merge"` or a pipeline into a target with a lens of its
/// own. The server would apply them to the *stored* document, perhaps at an old version
/// (a field the lens renames would be merged beside the old one); strata applies them to
/// the stored document upgraded to the newest version, in Swift (mongod's `merge`: the
/// result's top-level fields set on it; a pipeline: the Swift evaluator, with `$$new` the
/// result and the `let` variables evaluated on it), stamps the newest version and writes
/// it with the repository's guard: replaced only if the stored document is still the one
/// read, read and applied again otherwise.
///
/// The results are spooled first (`ResultSpool`), so nothing is written before the read
/// part has finished and every result has been checked; then they are applied one by
/// one, in order. Each is matched by its `on` fields in the stored documents (they are
/// stored there at every version, `WriteTarget.checkOnUnchanged`).
final class VersionedMerge: ResultSink {
    let target: WriteTarget
    let lens: Lens
    let output: OutputStage
    let spool: ResultSpool
    let repository: VersionedRepository
    let context: LensContext
    /// `$$NOW` for every pipeline run of this stage.
    let now = Variables().now
    private var summary: WriteSummary
    /// How often one result may find its document changed before the stage gives up.
    static let maxAttempts = 20

    init(target: WriteTarget, lens: Lens, output: OutputStage) throws {
        self.target = target
        self.lens = lens
        self.output = output
        spool = ResultSpool(target: target)
        repository = try VersionedRepository(database: target.database, lens: lens, functions: target.functions)
        context = DatabaseLookup(database: target.database).context(functions: target.functions)
        summary = WriteSummary(stage: .merge, database: target.database.name, collection: target.collection.name)
        summary.version = lens.newest
    }

    func add(_ doc: Document) throws {
        let d = target.stamped(doc)
        _ = try spool.add(d, key: try MergeKeys.key(of: d, on: output.on))
    }

    func finish() throws -> WriteSummary {
        _ = try spool.flush()
        try spool.results { try apply($0) }
        return summary
    }

    func cleanUp() {
        spool.drop()
    }

    /// Applies one result: inserted, discarded, refused, or applied to its document.
    private func apply(_ result: Document) throws {
        summary.documents += 1
        let key = try MergeKeys.key(of: result, on: output.on)
        for _ in 0..<Self.maxAttempts {
            guard let key, let stored = try target.collection.findOne(MergeKeys.filter([key], on: output.on)) else {
                switch output.whenNotMatched {
                case .discard: summary.discarded += 1; return
                case .fail: throw StrataError.evaluation(mergeNoMatchMessage + " (result \(idText(result["_id"])))")
                case .insert:
                    do {
                        try repository.insert(result)
                        summary.inserted += 1
                        return
                    } catch let e as MongoError where e.code == 11000 && key != nil {
                        summary.retries += 1  // inserted by someone else meanwhile: it matches now
                        continue
                    }
                }
            }
            let replacement = try applied(to: try lens.upgrade(stored, context: context), result)
            if try GuardedWrite.identical(stored, replacement) || repository.writeBack(stored, as: replacement) {
                summary.matched += 1
                summary.updated += 1
                return
            }
            summary.retries += 1
        }
        throw StrataError(.conflict, "$merge into '\(target.namespace)': the document matching result \(idText(result["_id"])) changed \(Self.maxAttempts) times while strata applied it; nothing more was written")
    }

    /// `whenMatched` applied to the upgraded document, `_id` kept, the newest version stamped.
    func applied(to upgraded: Document, _ result: Document) throws -> Document {
        var doc: Document
        switch output.whenMatched {
        case .pipeline(_, let pipeline):
            var variables = Variables(["new": .document(result)], now: now)
            for (name, value) in output.variables ?? [:] {
                let expr = try Expr.parse(value, at: output.location.appending("let").appending(name))
                variables.values[name] = try Evaluator.evaluate(expr, result, variables) ?? .null
            }
            let out = try PipelineExecutor(pipeline, context: ExecutionContext(variables: variables),
                                           location: output.location.appending("whenMatched")).run([upgraded])
            guard out.count == 1 else {
                throw StrataError.evaluation("$merge whenMatched pipeline must produce one document, not \(out.count)", at: output.location)
            }
            doc = out[0]
        default:
            // mongod's `merge`: every top-level field of the result set on the document.
            doc = upgraded
            for (k, v) in result { doc[k] = v }
        }
        if let id = doc["_id"] {
            guard sameKey(id, upgraded["_id"]) else {
                throw StrataError.evaluation("$merge failed to update the matching document: Performing an update on the path '_id' would modify the immutable field '_id'",
                                             at: output.location)
            }
        } else if let id = upgraded["_id"] {
            doc.insert("_id", id, at: 0)
        }
        stampVersion(&doc, field: lens.versionField, version: lens.newest)
        return doc
    }
}
