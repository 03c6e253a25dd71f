import StrataBSON
import StrataEvaluator

/// The stages of a logical pipeline, checked for shape and classified.
enum PipelineStages {
    struct Stage: Sendable {
        var name: String
        var spec: BSON
        var location: Location
        /// The evaluator's parse of the stage.
        var parsed: StrataEvaluator.Stage
        var bson: BSON { .document(Document([(name, spec)])) }

        /// True for stages that need all their input before they can emit (or that
        /// cut the stream globally): where the per-version part of a pipeline ends.
        var isBlocking: Bool { PipelineStages.blocking.contains(name) }
    }

    static let perDocument: Set<String> = ["$match", "$project", "$addFields", "$set", "$unset", "$unwind", "$lookup",
                                           "$replaceRoot", "$replaceWith", "$redact", "$graphLookup"]
    static let blocking: Set<String> = ["$group", "$sort", "$count", "$sortByCount", "$bucket", "$bucketAuto", "$facet",
                                        "$limit", "$skip", "$sample", "$setWindowFields", "$densify", "$fill", "$unionWith"]
    static let refused: [String: String] = [
        "$out": "strata answers queries; it does not write results ($out)",
        "$merge": "strata answers queries; it does not write results ($merge)",
        "$geoNear": "$geoNear must be the first stage on the server and cannot be split per version",
        "$search": "Atlas Search stages are not supported", "$searchMeta": "Atlas Search stages are not supported",
        "$vectorSearch": "Atlas Search stages are not supported",
        "$changeStream": "change streams are not queries", "$collStats": "$collStats is not a query over documents",
        "$indexStats": "$indexStats is not a query over documents", "$currentOp": "$currentOp is not a query over documents",
        "$listSessions": "$listSessions is not a query over documents", "$planCacheStats": "$planCacheStats is not a query over documents",
        "$documents": "$documents does not read the collection",
    ]

    /// Parses and checks a pipeline with the evaluator's parser (unknown stages and
    /// operators, wrong argument types: `.badInput` naming the place), refusing the
    /// stages strata does not run with the reason.
    static func parse(_ pipeline: [BSON], at loc: Location) throws -> [Stage] {
        for (i, v) in pipeline.enumerated() {
            if case .document(let d) = v, d.count == 1, let name = d.keys.first, let why = refused[name] {
                throw StrataError.unsupported(why, at: loc.appending(index: i).appending(name))
            }
        }
        let parsed = try Pipeline.parse(pipeline, at: loc)
        return zip(pipeline, parsed.stages).enumerated().map { i, pair in
            let (name, spec) = pair.0.documentValue!.fields.first.map { ($0.key, $0.value) }!
            return Stage(name: name, spec: spec, location: loc.appending(index: i).appending(name), parsed: pair.1)
        }
    }
}
