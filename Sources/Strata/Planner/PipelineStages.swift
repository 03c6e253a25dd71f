/// The stages of a logical pipeline, checked for shape and classified.
enum PipelineStages {
    struct Stage: Sendable {
        var name: String
        var spec: BSON
        var location: Location
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

    static func parse(_ pipeline: [BSON], at loc: Location) throws -> [Stage] {
        var stages: [Stage] = []
        for (i, v) in pipeline.enumerated() {
            let l = loc.appending(index: i)
            guard case .document(let d) = v else {
                throw StrataError.badInput("each stage must be an object, not \(v.typeName)", at: l)
            }
            guard d.count == 1, let f = d.fields.first else {
                throw StrataError.badInput("a pipeline stage specification object must contain exactly one field (found \(d.count))", at: l)
            }
            let name = f.key
            if let why = refused[name] { throw StrataError.unsupported(why, at: l.appending(name)) }
            guard perDocument.contains(name) || blocking.contains(name) else {
                throw StrataError.badInput("unrecognized pipeline stage name: '\(name)'", at: l.appending(name))
            }
            stages.append(Stage(name: name, spec: f.value, location: l.appending(name)))
        }
        try validate(stages)
        return stages
    }

    /// Argument checks with places, for the stages strata reads itself.
    static func validate(_ stages: [Stage]) throws {
        for s in stages {
            switch s.name {
            case "$match":
                guard case .document(let f) = s.spec else { throw StrataError.badInput("the match filter must be an expression in an object", at: s.location) }
                _ = try Query.parse(f, at: s.location)
            case "$limit":
                guard let n = s.spec.exactInt, n > 0 else { throw StrataError.badInput("the limit must be a positive integer", at: s.location) }
            case "$skip":
                guard let n = s.spec.exactInt, n >= 0 else { throw StrataError.badInput("the skip must be a non-negative integer", at: s.location) }
            case "$sort":
                guard case .document(let d) = s.spec, !d.isEmpty else { throw StrataError.badInput("the $sort key specification must be a non-empty object", at: s.location) }
                _ = try SortPattern.parse(d, at: s.location)
            case "$group", "$count", "$sortByCount", "$bucket":
                _ = try GroupPlan.make(name: s.name, spec: s.spec, at: s.location)
            case "$addFields", "$set":
                guard case .document(let d) = s.spec else { throw StrataError.badInput("\(s.name) specification must be an object", at: s.location) }
                for (k, v) in d { _ = try Expr.parse(v, at: s.location.appending(k)) }
            case "$facet":
                guard case .document(let d) = s.spec, !d.isEmpty else { throw StrataError.badInput("$facet needs an object of sub-pipelines", at: s.location) }
                for (k, v) in d {
                    guard case .array(let sub) = v else { throw StrataError.badInput("each facet must be an array of stages", at: s.location.appending(k)) }
                    _ = try parse(sub, at: s.location.appending(k))
                }
            default:
                continue
            }
        }
    }
}
