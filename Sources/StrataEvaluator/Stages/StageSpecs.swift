import Foundation
import StrataBSON
import StrataLibBSON

/// `$unwind`.
public struct Unwind: Sendable, Equatable {
    /// The path without its `$` ("a.b").
    package var path: String
    package var includeArrayIndex: String?
    package var preserveNullAndEmptyArrays: Bool
    /// Whether it was written in the short form `$unwind: "$a"`.
    package var shortForm: Bool

    package init(path: String, includeArrayIndex: String? = nil, preserveNullAndEmptyArrays: Bool = false) {
        self.path = path; self.includeArrayIndex = includeArrayIndex
        self.preserveNullAndEmptyArrays = preserveNullAndEmptyArrays
        self.shortForm = includeArrayIndex == nil && !preserveNullAndEmptyArrays
    }

    static func parsePath(_ v: BSON, at l: Location) throws -> String {
        guard case .string(let s) = v else {
            throw StrataError.badInput("expected a string as the path for $unwind stage, got \(v.typeName)", at: l)
        }
        guard s.hasPrefix("$"), s.count > 1 else {
            throw StrataError.badInput("path option to $unwind stage should be prefixed with a '$': \(s)", at: l)
        }
        let p = String(s.dropFirst())
        _ = try Projection.splitPath(p, at: l)
        return p
    }

    package static func parse(_ v: BSON, at l: Location) throws -> Unwind {
        switch v {
        case .string: return Unwind(path: try parsePath(v, at: l))
        case .document(let d):
            var path: String?, idx: String?, preserve = false
            for (k, x) in d {
                switch k {
                case "path": path = try parsePath(x, at: l.appending(k))
                case "includeArrayIndex":
                    guard case .string(let s) = x, !s.isEmpty else {
                        throw StrataError.badInput("expected a non-empty string for the includeArrayIndex option to $unwind stage", at: l.appending(k))
                    }
                    if s.hasPrefix("$") { throw StrataError.badInput("includeArrayIndex option to $unwind stage should not be prefixed with a '$': \(s)", at: l.appending(k)) }
                    _ = try Projection.splitPath(s, at: l.appending(k))
                    idx = s
                case "preserveNullAndEmptyArrays":
                    guard case .bool(let b) = x else {
                        throw StrataError.badInput("expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage", at: l.appending(k))
                    }
                    preserve = b
                default:
                    throw StrataError.badInput("unrecognized option to $unwind stage: \(k)", at: l.appending(k))
                }
            }
            guard let path else { throw StrataError.badInput("no path specified to $unwind stage", at: l) }
            var u = Unwind(path: path, includeArrayIndex: idx, preserveNullAndEmptyArrays: preserve)
            u.shortForm = false
            return u
        default:
            throw StrataError.badInput("expected either a string or an object as specification for $unwind stage, got \(v.typeName)", at: l)
        }
    }

    package var bson: BSON {
        if shortForm { return .string("$" + path) }
        var d: Document = ["path": .string("$" + path)]
        if let includeArrayIndex { d["includeArrayIndex"] = .string(includeArrayIndex) }
        if preserveNullAndEmptyArrays { d["preserveNullAndEmptyArrays"] = true }
        return .document(d)
    }
}

/// `$group`.
public struct Group: Sendable, Equatable {
    /// The `_id` expression. An object written with field names (`{a: "$a", b: "$b"}`) groups
    /// by the tuple of its values (mongod keeps a missing value distinct from null there, and
    /// omits it from the output `_id`); any other expression groups by its value (missing → null).
    package var id: Expr
    package var accumulators: [(String, AccumulatorSpec)]

    package init(id: Expr, accumulators: [(String, AccumulatorSpec)]) { self.id = id; self.accumulators = accumulators }

    public static func == (a: Group, b: Group) -> Bool {
        a.id == b.id && a.accumulators.count == b.accumulators.count
            && zip(a.accumulators, b.accumulators).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    package static func parse(_ d: Document, at l: Location) throws -> Group {
        var id: Expr?
        var accs: [(String, AccumulatorSpec)] = []
        for (k, v) in d {
            let kl = l.appending(k)
            if k == "_id" {
                if case .document(let idDoc) = v, let first = idDoc.fields.first?.key, !first.hasPrefix("$") {
                    for (f, x) in idDoc where x.isNumber || x.boolValue != nil {
                        throw StrataError.badInput("$group does not support inclusion-style expressions", at: kl.appending(f))
                    }
                }
                if case .document(let idDoc) = v, idDoc.isEmpty {
                    id = .literal(v)  // {_id: {}} groups on the constant {}
                } else {
                    id = try Expr.parse(v, at: kl)
                }
                continue
            }
            if k.hasPrefix("$") { throw StrataError.badInput("The field '\(k)' must be an accumulator object", at: kl) }
            if k.contains(".") { throw StrataError.badInput("The field '\(k)' cannot contain '.'", at: kl) }
            if accs.contains(where: { $0.0 == k }) { throw StrataError.badInput("duplicate field name specified: \(k)", at: kl) }
            guard case .document = v else { throw StrataError.badInput("The field '\(k)' must be an accumulator object", at: kl) }
            accs.append((k, try AccumulatorSpec.parse(v, at: kl)))
        }
        guard let id else { throw StrataError.badInput("a group specification must include an _id", at: l) }
        return Group(id: id, accumulators: accs)
    }

    package var bson: Document {
        var d: Document = ["_id": id.bson]
        for (k, a) in accumulators { d.append(k, a.bson) }
        return d
    }
}

/// `$bucket`.
public struct Bucket: Sendable, Equatable {
    package var groupBy: Expr
    package var boundaries: [BSON]
    package var defaultBucket: BSON?
    /// nil = the default `{count: {$sum: 1}}`.
    package var output: [(String, AccumulatorSpec)]?

    public static func == (a: Bucket, b: Bucket) -> Bool {
        guard a.groupBy == b.groupBy, a.boundaries == b.boundaries, a.defaultBucket == b.defaultBucket else { return false }
        switch (a.output, b.output) {
        case (nil, nil): return true
        case (let x?, let y?): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    package var effectiveOutput: [(String, AccumulatorSpec)] {
        output ?? [("count", AccumulatorSpec(op: "$sum", argument: .literal(.int32(1))))]
    }

    static func parseGroupBy(_ v: BSON, _ stage: String, at l: Location) throws -> Expr {
        switch v {
        case .string(let s) where s.hasPrefix("$"): break
        case .document(let d) where d.fields.first?.key.hasPrefix("$") == true: break
        default:
            throw StrataError.badInput("The \(stage) 'groupBy' field must be defined as a $-prefixed path or an expression object, but found: \(v.typeName)", at: l)
        }
        return try Expr.parse(v, at: l)
    }

    static func parseOutput(_ v: BSON, _ stage: String, at l: Location) throws -> [(String, AccumulatorSpec)] {
        guard case .document(let d) = v else {
            throw StrataError.badInput("The \(stage) 'output' field must be an object, but found type: \(v.typeName)", at: l)
        }
        var out: [(String, AccumulatorSpec)] = []
        for (k, x) in d {
            if k.contains(".") || k.hasPrefix("$") { throw StrataError.badInput("invalid output field name '\(k)'", at: l.appending(k)) }
            out.append((k, try AccumulatorSpec.parse(x, at: l.appending(k))))
        }
        return out
    }

    package static func parse(_ v: BSON, at l: Location) throws -> Bucket {
        guard case .document(let d) = v else {
            throw StrataError.badInput("Argument to $bucket stage must be an object, but found type: \(v.typeName)", at: l)
        }
        var groupBy: Expr?, boundaries: [BSON]?, dflt: BSON?, output: [(String, AccumulatorSpec)]?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "groupBy": groupBy = try parseGroupBy(x, "$bucket", at: kl)
            case "boundaries":
                guard case .array(let b) = x else {
                    throw StrataError.badInput("The $bucket 'boundaries' field must be an array, but found type: \(x.typeName)", at: kl)
                }
                boundaries = b
            case "default": dflt = x
            case "output": output = try parseOutput(x, "$bucket", at: kl)
            default: throw StrataError.badInput("Unrecognized option to $bucket: \(k)", at: kl)
            }
        }
        guard let groupBy, let boundaries else {
            throw StrataError.badInput("$bucket requires 'groupBy' and 'boundaries' to be specified", at: l)
        }
        if boundaries.count < 2 {
            throw StrataError.badInput("The $bucket 'boundaries' field must have at least 2 values, but found \(boundaries.count) value(s)", at: l.appending("boundaries"))
        }
        for i in 1..<boundaries.count {
            if BSONOrder.rank(boundaries[i]) != BSONOrder.rank(boundaries[0]) {
                throw StrataError.badInput("All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types \(boundaries[0].typeName) and \(boundaries[i].typeName)", at: l.appending("boundaries"))
            }
            if BSONOrder.compare(boundaries[i - 1], boundaries[i]) >= 0 {
                throw StrataError.badInput("The 'boundaries' option to $bucket must be sorted in ascending order", at: l.appending("boundaries"))
            }
        }
        if let dflt, BSONOrder.rank(dflt) == BSONOrder.rank(boundaries[0]),
           BSONOrder.compare(dflt, boundaries[0]) >= 0, BSONOrder.compare(dflt, boundaries.last!) < 0 {
            throw StrataError.badInput("The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.", at: l.appending("default"))
        }
        return Bucket(groupBy: groupBy, boundaries: boundaries, defaultBucket: dflt, output: output)
    }

    package var bson: Document {
        var d: Document = ["groupBy": groupBy.bson, "boundaries": .array(boundaries)]
        if let defaultBucket { d["default"] = defaultBucket }
        if let output { d["output"] = .document(Document(output.map { ($0.0, $0.1.bson) })) }
        return d
    }
}

/// `$bucketAuto`, with mongod's bucket filling and, optionally, its `granularity` rounders
/// (Renard R5…R80, E6…E192, 1-2-5, POWERSOF2).
public struct BucketAuto: Sendable, Equatable {
    package var groupBy: Expr
    package var buckets: Int
    package var output: [(String, AccumulatorSpec)]?
    package var granularity: String?

    package init(groupBy: Expr, buckets: Int, output: [(String, AccumulatorSpec)]?, granularity: String? = nil) {
        self.groupBy = groupBy; self.buckets = buckets; self.output = output; self.granularity = granularity
    }

    public static func == (a: BucketAuto, b: BucketAuto) -> Bool {
        guard a.groupBy == b.groupBy, a.buckets == b.buckets, a.granularity == b.granularity else { return false }
        switch (a.output, b.output) {
        case (nil, nil): return true
        case (let x?, let y?): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    package var effectiveOutput: [(String, AccumulatorSpec)] {
        output ?? [("count", AccumulatorSpec(op: "$sum", argument: .literal(.int32(1))))]
    }

    package static func parse(_ v: BSON, at l: Location) throws -> BucketAuto {
        guard case .document(let d) = v else {
            throw StrataError.badInput("Argument to $bucketAuto stage must be an object, but found type: \(v.typeName)", at: l)
        }
        var groupBy: Expr?, buckets: Int?, output: [(String, AccumulatorSpec)]?, granularity: String?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "groupBy": groupBy = try Bucket.parseGroupBy(x, "$bucketAuto", at: kl)
            case "buckets":
                guard x.isNumber, let n = x.exactInt, Int32(exactly: n) != nil else {
                    throw StrataError.badInput("The $bucketAuto 'buckets' field must be a numeric value, but found type: \(x.typeName)", at: kl)
                }
                if n <= 0 { throw StrataError.badInput("The $bucketAuto 'buckets' field must be greater than 0, but found: \(n)", at: kl) }
                buckets = Int(n)
            case "output": output = try Bucket.parseOutput(x, "$bucketAuto", at: kl)
            case "granularity":
                guard case .string(let g) = x else {
                    throw StrataError.badInput("The $bucketAuto 'granularity' field must be a string, but found type: \(x.typeName)", at: kl)
                }
                guard GranularityRounder(g) != nil else { throw StrataError.badInput("Unknown rounding granularity '\(g)'", at: kl) }
                granularity = g
            default: throw StrataError.badInput("Unrecognized option to $bucketAuto: \(k)", at: kl)
            }
        }
        guard let groupBy, let buckets else {
            throw StrataError.badInput("$bucketAuto requires 'groupBy' and 'buckets' to be specified", at: l)
        }
        return BucketAuto(groupBy: groupBy, buckets: buckets, output: output, granularity: granularity)
    }

    package var bson: Document {
        var d: Document = ["groupBy": groupBy.bson, "buckets": .int32(Int32(buckets))]
        if let output { d["output"] = .document(Document(output.map { ($0.0, $0.1.bson) })) }
        if let granularity { d["granularity"] = .string(granularity) }
        return d
    }
}

/// `$facet`.
public struct Facet: Sendable, Equatable {
    package var pipelines: [(String, Pipeline)]

    public static func == (a: Facet, b: Facet) -> Bool {
        a.pipelines.count == b.pipelines.count && zip(a.pipelines, b.pipelines).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    package static func parse(_ v: BSON, at l: Location) throws -> Facet {
        guard case .document(let d) = v, !d.isEmpty else {
            throw StrataError.badInput("the $facet specification must be a non-empty object", at: l)
        }
        var out: [(String, Pipeline)] = []
        for (k, x) in d {
            let kl = l.appending(k)
            if k.isEmpty || k.hasPrefix("$") || k.contains(".") { throw StrataError.badInput("invalid $facet output field name '\(k)'", at: kl) }
            guard case .array(let stages) = x else {
                throw StrataError.badInput("arguments to $facet must be arrays, \(k) is type \(x.typeName)", at: kl)
            }
            if stages.isEmpty { throw StrataError.badInput("sub-pipeline in $facet stage cannot be empty", at: kl) }
            out.append((k, try Pipeline.parse(stages, at: kl, inFacet: true)))
        }
        return Facet(pipelines: out)
    }
}

/// `$lookup` (equality form, pipeline form, or both). The foreign collection is read
/// through the execution context's `lookup` closure.
public struct Lookup: Sendable, Equatable {
    package var from: String?
    package var localField: String?
    package var foreignField: String?
    package var letVariables: [(String, Expr)]
    package var pipeline: Pipeline?
    /// The raw sub-pipeline (what the closure receives).
    package var pipelineBSON: [BSON]?
    package var `as`: String

    public static func == (a: Lookup, b: Lookup) -> Bool {
        a.from == b.from && a.localField == b.localField && a.foreignField == b.foreignField && a.pipeline == b.pipeline
            && a.as == b.as && a.letVariables.count == b.letVariables.count
            && zip(a.letVariables, b.letVariables).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    package static func parse(_ v: BSON, at l: Location) throws -> Lookup {
        guard case .document(let d) = v else { throw StrataError.badInput("the $lookup specification must be an Object", at: l) }
        var from: String?, local: String?, foreign: String?, asField: String?, lets: [(String, Expr)] = []
        var pipeline: Pipeline?, raw: [BSON]?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "from":
                if case .document = x { throw StrataError.unsupported("$lookup from another database is not supported by strata's evaluator", at: kl) }
                guard case .string(let s) = x, !s.isEmpty else { throw StrataError.badInput("$lookup 'from' must be a non-empty string", at: kl) }
                from = s
            case "localField", "foreignField", "as":
                guard case .string(let s) = x, !s.isEmpty else { throw StrataError.badInput("$lookup argument '\(k)' must be a string, found \(x.typeName)", at: kl) }
                _ = try Projection.splitPath(s, at: kl)
                if k == "localField" { local = s } else if k == "foreignField" { foreign = s } else { asField = s }
            case "let":
                guard case .document(let ld) = x else { throw StrataError.badInput("$lookup argument 'let' must be an object", at: kl) }
                for (n, e) in ld {
                    try Expr.validateVariableName(n, forWrite: true, at: kl.appending(n))
                    lets.append((n, try Expr.parse(e, at: kl.appending(n))))
                }
            case "pipeline":
                guard case .array(let stages) = x else { throw StrataError.badInput("$lookup argument 'pipeline' must be an array", at: kl) }
                raw = stages
                pipeline = try Pipeline.parse(stages, at: kl)
            default:
                throw StrataError.badInput("unknown argument to $lookup: \(k)", at: kl)
            }
        }
        guard let asField else { throw StrataError.badInput("must specify 'as' field for a $lookup", at: l) }
        if (local == nil) != (foreign == nil) {
            throw StrataError.badInput("$lookup requires both or neither of 'localField' and 'foreignField' to be specified", at: l)
        }
        if local == nil && pipeline == nil {
            throw StrataError.badInput("$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified", at: l)
        }
        if pipeline == nil && !lets.isEmpty {
            throw StrataError.badInput("$lookup with 'let' must also specify 'pipeline'", at: l)
        }
        if from == nil {
            // only valid with a pipeline starting with $documents
            guard case .documents? = pipeline?.stages.first else {
                throw StrataError.badInput("$lookup requires 'from' unless its pipeline starts with $documents", at: l)
            }
        }
        return Lookup(from: from, localField: local, foreignField: foreign, letVariables: lets, pipeline: pipeline,
                      pipelineBSON: raw, as: asField)
    }

    package var bson: Document {
        var d = Document()
        if let from { d["from"] = .string(from) }
        if let localField { d["localField"] = .string(localField) }
        if let foreignField { d["foreignField"] = .string(foreignField) }
        if !letVariables.isEmpty { d["let"] = .document(Document(letVariables.map { ($0.0, $0.1.bson) })) }
        if let pipeline { d["pipeline"] = .array(pipeline.bson) }
        d["as"] = .string(self.as)
        return d
    }
}

/// `$unionWith`.
public struct UnionWith: Sendable, Equatable {
    package var coll: String?
    package var pipeline: Pipeline?

    package static func parse(_ v: BSON, at l: Location) throws -> UnionWith {
        switch v {
        case .string(let s):
            if s.isEmpty { throw StrataError.badInput("$unionWith requires a non-empty collection name", at: l) }
            return UnionWith(coll: s, pipeline: nil)
        case .document(let d):
            var coll: String?, pipeline: Pipeline?
            for (k, x) in d {
                switch k {
                case "coll":
                    guard case .string(let s) = x else { throw StrataError.badInput("$unionWith 'coll' must be a string", at: l.appending(k)) }
                    coll = s
                case "pipeline":
                    guard case .array(let stages) = x else { throw StrataError.badInput("$unionWith 'pipeline' must be an array", at: l.appending(k)) }
                    pipeline = try Pipeline.parse(stages, at: l.appending(k))
                default: throw StrataError.badInput("BSON field '$unionWith.\(k)' is an unknown field.", at: l.appending(k))
                }
            }
            if coll == nil {
                guard case .documents? = pipeline?.stages.first else {
                    throw StrataError.badInput("$unionWith requires 'coll' unless its pipeline starts with $documents", at: l)
                }
            }
            return UnionWith(coll: coll, pipeline: pipeline)
        default:
            throw StrataError.badInput("the $unionWith stage specification must be an object or string, but found \(v.typeName)", at: l)
        }
    }

    package var bson: Document {
        var d = Document()
        if let coll { d["coll"] = .string(coll) }
        if let pipeline { d["pipeline"] = .array(pipeline.bson) }
        return d
    }
}

/// mongod's granularity rounders for `$bucketAuto` (granularity_rounder_*.cpp): preferred
/// number series scaled by powers of ten in double arithmetic, or powers of two via `$pow`;
/// decimal128 values are rounded in decimal (`GranularityRounder+Decimal.swift`).
enum GranularityRounder {
    case preferred([Double])
    case powersOfTwo

    static let series: [String: [Double]] = [
        "R5": [10, 16, 25, 40, 63],
        "R10": [100, 125, 160, 200, 250, 315, 400, 500, 630, 800],
        "R20": [100, 112, 125, 140, 160, 180, 200, 224, 250, 280, 315, 355, 400, 450, 500, 560, 630, 710, 800, 900],
        "R40": [100, 106, 112, 118, 125, 132, 140, 150, 160, 170, 180, 190, 200, 212, 224, 236, 250, 265, 280, 300,
                315, 355, 375, 400, 425, 450, 475, 500, 530, 560, 600, 630, 670, 710, 750, 800, 850, 900, 950],
        "R80": [103, 109, 115, 122, 128, 136, 145, 155, 165, 175, 185, 195, 206, 218, 230, 243, 258, 272, 290, 307,
                325, 345, 365, 387, 412, 437, 462, 487, 515, 545, 575, 615, 650, 690, 730, 775, 825, 875, 925, 975],
        "1-2-5": [10, 20, 50],
        "E6": [10, 15, 22, 33, 47, 68],
        "E12": [10, 12, 15, 18, 22, 27, 33, 39, 47, 56, 68, 82],
        "E24": [10, 11, 12, 13, 15, 16, 18, 20, 22, 24, 27, 30, 33, 36, 39, 43, 47, 51, 56, 62, 68, 75, 82, 91],
        "E48": [100, 105, 110, 115, 121, 127, 133, 140, 147, 154, 162, 169, 178, 187, 196, 205, 215, 226, 237, 249,
                261, 274, 287, 301, 316, 332, 348, 365, 383, 402, 422, 442, 464, 487, 511, 536, 562, 590, 619, 649,
                681, 715, 750, 787, 825, 866, 909, 953],
        "E96": [100, 102, 105, 107, 110, 113, 115, 118, 121, 124, 127, 130, 133, 137, 140, 143, 147, 150, 154, 158,
                162, 165, 169, 174, 178, 182, 187, 191, 196, 200, 205, 210, 215, 221, 226, 232, 237, 243, 249, 255,
                261, 267, 274, 280, 287, 294, 301, 309, 316, 324, 332, 340, 348, 357, 365, 374, 383, 392, 402, 412,
                422, 432, 442, 453, 464, 475, 487, 499, 511, 523, 536, 549, 562, 576, 590, 604, 619, 634, 649, 665,
                681, 698, 715, 732, 750, 768, 787, 806, 825, 845, 866, 887, 909, 931, 953, 976],
        "E192": [100, 101, 102, 104, 105, 106, 107, 109, 110, 111, 113, 114, 115, 117, 118, 120, 121, 123, 124, 126,
                 127, 129, 130, 132, 133, 135, 137, 138, 140, 142, 143, 145, 147, 149, 150, 152, 154, 156, 158, 160,
                 162, 164, 165, 167, 169, 172, 174, 176, 178, 180, 182, 184, 187, 189, 191, 193, 196, 198, 200, 203,
                 205, 208, 210, 213, 215, 218, 221, 223, 226, 229, 232, 234, 237, 240, 243, 246, 249, 252, 255, 258,
                 261, 264, 267, 271, 274, 277, 280, 284, 287, 291, 294, 298, 301, 305, 309, 312, 316, 320, 324, 328,
                 332, 336, 340, 344, 348, 352, 357, 361, 365, 370, 374, 379, 383, 388, 392, 397, 402, 407, 412, 417,
                 422, 427, 432, 437, 442, 448, 453, 459, 464, 470, 475, 481, 487, 493, 499, 505, 511, 517, 523, 530,
                 536, 542, 549, 556, 562, 569, 576, 583, 590, 597, 604, 612, 619, 626, 634, 642, 649, 657, 665, 673,
                 681, 690, 698, 706, 715, 723, 732, 741, 750, 759, 768, 777, 787, 796, 806, 816, 825, 835, 845, 856,
                 866, 876, 887, 898, 909, 920, 931, 942, 953, 965, 976, 988],
    ]

    init?(_ name: String) {
        if name == "POWERSOF2" { self = .powersOfTwo; return }
        guard let s = GranularityRounder.series[name] else { return nil }
        self = .preferred(s)
    }

    func check(_ v: BSON) throws -> Double {
        guard v.isNumber else { throw evalError("A granularity rounder can only round numeric values, but found type: \(v.typeName)") }
        let d = v.doubleValue!
        if d.isNaN { throw evalError("A granularity rounder cannot round NaN") }
        if d < 0 { throw evalError("A granularity rounder can only round non-negative numbers") }
        // mongod's preferred-number loop never ends on an infinity, and its powers of two
        // convert log2(inf) to int (undefined behaviour): refused rather than guessed
        let infinite: Bool = { if case .decimal128(let x) = v { return x.isInfinite }; return d.isInfinite }()
        if infinite {
            throw StrataError.unsupported("granularity rounding of an infinity is not supported by strata's evaluator (mongod's rounder does not terminate or converts an infinite logarithm to int)")
        }
        return d
    }

    func roundUp(_ v: BSON) throws -> BSON {
        let number = try check(v)
        if number == 0 { return v }
        if case .decimal128(let x) = v { return try roundUpDecimal(x) }
        switch self {
        case .preferred(let series):
            var multiplier = 1.0
            while number >= series[series.count - 1] * multiplier { multiplier *= 10 }
            while number < series[0] * multiplier {
                let previousMin = series[0] * multiplier
                multiplier /= 10
                if number >= series[series.count - 1] * multiplier { return .double(previousMin) }
            }
            let s = series.first { number < $0 * multiplier }!
            return .double(s * multiplier)
        case .powersOfTwo:
            let exp: Int64
            if case .double(let d) = v { exp = Int64(d.log2Floor + 1) } else {
                exp = Int64(64 - Numeric.coerceToLong(v)!.leadingZeroBitCount)
            }
            return try EvalContext.pow(.int32(2), .int32(Int32(clamping: exp))) ?? .null
        }
    }

    func roundDown(_ v: BSON) throws -> BSON {
        let number = try check(v)
        if number == 0 { return v }
        if case .decimal128(let x) = v { return try roundDownDecimal(x) }
        switch self {
        case .preferred(let series):
            var multiplier = 1.0
            while number <= series[0] * multiplier { multiplier /= 10 }
            while number > series[series.count - 1] * multiplier {
                let previousMax = series[series.count - 1] * multiplier
                multiplier *= 10
                if number <= series[0] * multiplier { return .double(previousMax) }
            }
            let idx = series.firstIndex { !($0 * multiplier < number) }!
            return .double(series[idx - 1] * multiplier)
        case .powersOfTwo:
            let exp: Int64
            if case .double(let d) = v { exp = Int64(d.log2Ceil - 1) } else {
                let n = Numeric.coerceToLong(v)!
                exp = n.nonzeroBitCount == 1 ? Int64(63 - n.leadingZeroBitCount - 1) : Int64(63 - n.leadingZeroBitCount)
            }
            return try EvalContext.pow(.int32(2), .int32(Int32(clamping: exp))) ?? .null
        }
    }
}

extension Double {
    var log2Floor: Double { Foundation.log2(self).rounded(.down) }
    var log2Ceil: Double { Foundation.log2(self).rounded(.up) }
}
