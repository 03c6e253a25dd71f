import StrataBSON

/// One parsed aggregation stage. Every case holds a small `Sendable` value a planner can
/// inspect, rewrite and serialize back (`bson`).
public enum Stage: Sendable, Equatable {
    case match(Query)
    /// `$project`.
    case project(Projection)
    /// `$addFields` or `$set` (`name` keeps which).
    case addFields(Projection, name: String)
    /// `$unset` (an exclusion projection).
    case unset(Projection)
    /// `$replaceRoot: {newRoot}` or `$replaceWith` (`name` keeps which).
    case replaceRoot(Expr, name: String)
    case unwind(Unwind)
    case group(Group)
    case sort(SortPattern)
    case skip(Int64)
    case limit(Int64)
    /// `$count: "field"`.
    case count(String)
    case sortByCount(Expr)
    case bucket(Bucket)
    case bucketAuto(BucketAuto)
    case facet(Facet)
    case lookup(Lookup)
    case unionWith(UnionWith)
    case redact(Expr)
    /// `$documents` (first stage only): the documents an expression evaluates to.
    case documents(Expr)
    case setWindowFields(SetWindowFields)
    /// `$densify` (runs as mongod's `$sort` + densification).
    case densify(Densify)
    /// `$fill` (runs as mongod's `$setWindowFields` + `$addFields`).
    case fill(Fill)
    /// `$graphLookup` (I/O through the execution context's `lookup`).
    case graphLookup(GraphLookup)
    /// `$sample: {size}`: a uniform random choice of `size` documents, in random order.
    case sample(Int64)

    /// The stage's name as written (`$match`, `$set`...).
    package var name: String {
        switch self {
        case .match: return "$match"
        case .project: return "$project"
        case .addFields(_, let n): return n
        case .unset: return "$unset"
        case .replaceRoot(_, let n): return n
        case .unwind: return "$unwind"
        case .group: return "$group"
        case .sort: return "$sort"
        case .skip: return "$skip"
        case .limit: return "$limit"
        case .count: return "$count"
        case .sortByCount: return "$sortByCount"
        case .bucket: return "$bucket"
        case .bucketAuto: return "$bucketAuto"
        case .facet: return "$facet"
        case .lookup: return "$lookup"
        case .unionWith: return "$unionWith"
        case .redact: return "$redact"
        case .documents: return "$documents"
        case .setWindowFields: return "$setWindowFields"
        case .densify: return "$densify"
        case .fill: return "$fill"
        case .graphLookup: return "$graphLookup"
        case .sample: return "$sample"
        }
    }

    /// The stage written back (`{$name: argument}`).
    package var bson: BSON {
        let arg: BSON
        switch self {
        case .match(let q): arg = .document(q.bson)
        case .project(let p): arg = .document(p.bson)
        case .addFields(let p, _): arg = .document(p.bson)
        case .unset(let p):
            let paths = p.unsetPaths
            arg = paths.count == 1 ? .string(paths[0]) : .array(paths.map { .string($0) })
        case .replaceRoot(let e, let n): arg = n == "$replaceWith" ? e.bson : .document(["newRoot": e.bson])
        case .unwind(let u): arg = u.bson
        case .group(let g): arg = .document(g.bson)
        case .sort(let s): arg = s.bson
        case .skip(let n): arg = .int64(n)
        case .limit(let n): arg = .int64(n)
        case .count(let f): arg = .string(f)
        case .sortByCount(let e): arg = e.bson
        case .bucket(let b): arg = .document(b.bson)
        case .bucketAuto(let b): arg = .document(b.bson)
        case .facet(let f): arg = .document(Document(f.pipelines.map { ($0.0, .array($0.1.bson)) }))
        case .lookup(let l): arg = .document(l.bson)
        case .unionWith(let u): arg = .document(u.bson)
        case .redact(let e): arg = e.bson
        case .documents(let e): arg = e.bson
        case .setWindowFields(let w): arg = .document(w.bson)
        case .densify(let d): arg = .document(d.bson)
        case .fill(let f): arg = .document(f.bson)
        case .graphLookup(let g): arg = .document(g.bson)
        case .sample(let n): arg = ["size": .int64(n)]
        }
        return .document(Document([(name, arg)]))
    }
}

/// A parsed pipeline.
package struct Pipeline: Sendable, Equatable {
    package var stages: [Stage]
    package init(_ stages: [Stage]) { self.stages = stages }

    package var bson: [BSON] { stages.map(\.bson) }

    static let unsupportedStages: Set<String> = [
        "$out", "$merge", "$geoNear", "$search", "$searchMeta", "$vectorSearch",
        "$indexStats", "$collStats", "$currentOp", "$listSessions",
        "$listLocalSessions", "$planCacheStats", "$changeStream", "$changeStreamSplitLargeEvent", "$listSearchIndexes",
        "$shardedDataDistribution", "$listSampledQueries", "$querySettings", "$queryStats", "$rankFusion", "$scoreFusion",
        "$score", "$listClusterCatalog",
    ]

    /// Parses a pipeline; errors name `pipeline[i].$stage...` (under `at`).
    package static func parse(_ stages: [BSON], at loc: Location = Location(path: "pipeline"), inFacet: Bool = false) throws -> Pipeline {
        var out: [Stage] = []
        for (i, s) in stages.enumerated() {
            let sl = loc.appending(index: i)
            guard let (name, arg) = s.singleField else {
                throw StrataError.badInput("A pipeline stage specification object must contain exactly one field.", at: sl)
            }
            let l = sl.appending(name)
            let stage = try parseStage(name, arg, at: l)
            if case .documents = stage, i != 0 {
                throw StrataError.badInput("$documents is only valid as the first stage in a pipeline", at: l)
            }
            if inFacet {
                switch stage {
                case .facet: throw StrataError.badInput("$facet is not allowed to be used within a $facet stage", at: l)
                case .documents: throw StrataError.badInput("$documents is not allowed within a $facet stage", at: l)
                default: break
                }
            }
            out.append(stage)
        }
        return Pipeline(out)
    }

    static func parseStage(_ name: String, _ arg: BSON, at l: Location) throws -> Stage {
        switch name {
        case "$match":
            guard case .document(let d) = arg else { throw StrataError.badInput("the match filter must be an expression in an object", at: l) }
            return .match(try Query.parse(d, at: l))
        case "$project":
            guard case .document(let d) = arg else { throw StrataError.badInput("$project specification must be an object", at: l) }
            return .project(try Projection.parseProject(d, at: l))
        case "$addFields", "$set":
            guard case .document(let d) = arg else { throw StrataError.badInput("\(name) specification stage must be an object, got \(arg.typeName)", at: l) }
            return .addFields(try Projection.parseAddFields(d, at: l), name: name)
        case "$unset":
            return .unset(try Projection.parseUnset(arg, at: l))
        case "$replaceRoot":
            guard case .document(let d) = arg else { throw StrataError.badInput("expected an object as specification for $replaceRoot stage, got \(arg.typeName)", at: l) }
            guard let nr = d["newRoot"] else { throw StrataError.badInput("no newRoot specified for the $replaceRoot stage", at: l) }
            for k in d.keys where k != "newRoot" {
                throw StrataError.badInput("BSON field '$replaceRoot.\(k)' is an unknown field.", at: l.appending(k))
            }
            return .replaceRoot(try Expr.parse(nr, at: l.appending("newRoot")), name: name)
        case "$replaceWith":
            return .replaceRoot(try Expr.parse(arg, at: l), name: name)
        case "$unwind": return .unwind(try Unwind.parse(arg, at: l))
        case "$group":
            guard case .document(let d) = arg else { throw StrataError.badInput("a group's fields must be specified in an object", at: l) }
            return .group(try Group.parse(d, at: l))
        case "$sort":
            guard case .document(let d) = arg else { throw StrataError.badInput("the $sort key specification must be an object", at: l) }
            return .sort(try SortPattern.parse(d, at: l))
        case "$skip", "$limit":
            guard arg.isNumber, let n = arg.exactInt else {
                throw StrataError.badInput("invalid argument to \(name) stage: Cannot represent as a 64-bit integer", at: l)
            }
            if name == "$skip" {
                if n < 0 { throw StrataError.badInput("invalid argument to $skip stage: Expected a non-negative number in: $skip: \(n)", at: l) }
                return .skip(n)
            }
            if n <= 0 { throw StrataError.badInput("invalid argument to $limit stage: Expected a positive number in: $limit: \(n)", at: l) }
            return .limit(n)
        case "$count":
            guard case .string(let f) = arg else { throw StrataError.badInput("the count field must be a non-empty string", at: l) }
            if f.isEmpty { throw StrataError.badInput("the count field must be a non-empty string", at: l) }
            if f.hasPrefix("$") { throw StrataError.badInput("the count field cannot be a $-prefixed path", at: l) }
            if f.contains(".") { throw StrataError.badInput("the count field cannot contain '.'", at: l) }
            return .count(f)
        case "$sortByCount":
            switch arg {
            case .string(let s) where s.hasPrefix("$"): break
            case .document(let d) where d.fields.first?.key.hasPrefix("$") == true: break
            default:
                throw StrataError.badInput("the sortByCount field must be defined as a $-prefixed path or an expression", at: l)
            }
            return .sortByCount(try Expr.parse(arg, at: l))
        case "$bucket": return .bucket(try Bucket.parse(arg, at: l))
        case "$bucketAuto": return .bucketAuto(try BucketAuto.parse(arg, at: l))
        case "$facet": return .facet(try Facet.parse(arg, at: l))
        case "$lookup": return .lookup(try Lookup.parse(arg, at: l))
        case "$unionWith": return .unionWith(try UnionWith.parse(arg, at: l))
        case "$redact": return .redact(try Expr.parse(arg, at: l))
        case "$documents": return .documents(try Expr.parse(arg, at: l))
        case "$setWindowFields": return .setWindowFields(try SetWindowFields.parse(arg, at: l))
        case "$densify": return .densify(try Densify.parse(arg, at: l))
        case "$fill": return .fill(try Fill.parse(arg, at: l))
        case "$graphLookup": return .graphLookup(try GraphLookup.parse(arg, at: l))
        case "$sample": return .sample(try SampleStage.parse(arg, at: l))
        default:
            if unsupportedStages.contains(name) {
                throw StrataError.unsupported("the \(name) stage is not supported by strata's evaluator", at: l)
            }
            throw StrataError.badInput("Unrecognized pipeline stage name: '\(name)'", at: l)
        }
    }
}
