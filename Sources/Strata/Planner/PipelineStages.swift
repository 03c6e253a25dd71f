import StrataBSON
import StrataEvaluator

/// One stage of a logical pipeline, parsed once: the evaluator's parse (which the
/// planner inspects and the merger runs) beside the stage as written (which explain
/// shows and rewrites start from), and where it is, for messages.
public struct PipelineStage: Sendable {
    package let name: String
    /// The stage's argument as written.
    package let spec: BSON
    package let location: Location
    /// The evaluator's parse of the stage.
    package let parsed: Stage

    /// The stage as written (`{$name: spec}`).
    package var bson: BSON { .document(Document([(name, spec)])) }

    /// True for stages that need all their input before they can emit (or that cut the
    /// stream globally): where the per-version part of a pipeline ends
    /// (`Stage.distributedPlan`).
    var isBlocking: Bool { parsed.isBlocking }

    init(name: String, spec: BSON, location: Location, parsed: Stage) {
        self.name = name; self.spec = spec; self.location = location; self.parsed = parsed
    }
}

/// Parsing a logical pipeline: once per query.
enum PipelineStages {
    static let refused: [String: String] = [
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
    /// stages strata does not run with the reason. A final `$out`/`$merge` is split off
    /// before (`OutputStage.split`); one inside a sub-pipeline stays refused by the evaluator.
    static func parse(_ pipeline: [BSON], at loc: Location) throws -> [PipelineStage] {
        for (i, v) in pipeline.enumerated() {
            if case .document(let d) = v, d.count == 1, let name = d.keys.first, let why = refused[name] {
                throw StrataError.unsupported(why, at: loc.appending(index: i).appending(name))
            }
        }
        return pair(pipeline, try Pipeline.parse(pipeline, at: loc), at: loc)
    }

    /// Stages as written beside their parse (a sub-pipeline the evaluator has parsed).
    static func pair(_ pipeline: [BSON], _ parsed: Pipeline, at loc: Location) -> [PipelineStage] {
        zip(pipeline, parsed.stages).enumerated().compactMap { i, pair in
            guard let (name, spec) = pair.0.singleField else { return nil }
            return PipelineStage(name: name, spec: spec, location: loc.appending(index: i).appending(name), parsed: pair.1)
        }
    }

    /// The sub-pipelines of a parsed `$facet`, each as stages.
    static func facets(of stage: PipelineStage) -> [(name: String, stages: [PipelineStage])] {
        guard case .facet(let f) = stage.parsed, case .document(let written) = stage.spec else { return [] }
        return f.pipelines.map { name, pipeline in
            (name, pair(written[name]?.arrayValue ?? [], pipeline, at: stage.location.appending(name)))
        }
    }
}
