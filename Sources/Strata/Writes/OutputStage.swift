import StrataBSON
import StrataEvaluator

/// The final `$out` or `$merge` of a pipeline, parsed and checked before anything
/// connects: the read part of the pipeline is planned as any query, and this stage says
/// where and how its results are written (`ResultWrite`). The shapes and messages are
/// mongod's (8.x), so a query that mongod refuses is refused here too, before a document
/// is read.
public struct OutputStage: Sendable {
    public enum Kind: String, Sendable {
        case out = "$out", merge = "$merge"
    }

    /// `$merge`'s `whenMatched`.
    package enum WhenMatched: Sendable {
        case replace, keepExisting, merge, fail
        /// An update pipeline (`$addFields`, `$set`, `$project`, `$unset`, `$replaceRoot`,
        /// `$replaceWith` only), as written and parsed.
        case pipeline([BSON], Pipeline)

        package var name: String {
            switch self {
            case .replace: return "replace"
            case .keepExisting: return "keepExisting"
            case .merge: return "merge"
            case .fail: return "fail"
            case .pipeline: return "pipeline"
            }
        }
    }

    /// `$merge`'s `whenNotMatched`.
    package enum WhenNotMatched: String, Sendable, CaseIterable {
        case insert, discard, fail
    }

    public let kind: Kind
    /// The target's database as written (nil: the database the query reads).
    public let database: String?
    public let collection: String
    /// `$merge`'s `on` fields (`["_id"]` unless given); empty for `$out`.
    package let on: [String]
    package let whenMatched: WhenMatched
    package let whenNotMatched: WhenNotMatched
    /// `$merge`'s `let`, as written (variables for the `whenMatched` pipeline).
    package let variables: Document?
    /// The stage as written, and where it is (`pipeline[3].$merge`).
    package let spec: BSON
    package let location: Location

    /// The stage as written (`{$merge: spec}`).
    package var bson: BSON { .document(Document([(kind.rawValue, spec)])) }

    /// Splits a top-level pipeline into the stages that read and the final `$out` or
    /// `$merge`, if any; one anywhere else is mongod's error (Location40601).
    package static func split(_ pipeline: [BSON], at loc: Location) throws -> (read: [BSON], output: OutputStage?) {
        for (i, stage) in pipeline.enumerated() {
            guard let (name, spec) = stage.singleField, let kind = Kind(rawValue: name) else { continue }
            let here = loc.appending(index: i).appending(name)
            guard i == pipeline.count - 1 else {
                throw StrataError.badInput("\(name) can only be the final stage in the pipeline", at: here)
            }
            let output = kind == .out ? try parseOut(spec, at: here) : try parseMerge(spec, at: here)
            return (Array(pipeline.dropLast()), output)
        }
        return (pipeline, nil)
    }

    init(kind: Kind, database: String?, collection: String, on: [String] = [], whenMatched: WhenMatched = .replace,
         whenNotMatched: WhenNotMatched = .insert, variables: Document? = nil, spec: BSON, location: Location) {
        self.kind = kind; self.database = database; self.collection = collection; self.on = on
        self.whenMatched = whenMatched; self.whenNotMatched = whenNotMatched; self.variables = variables
        self.spec = spec; self.location = location
    }
}

// MARK: parsing

extension OutputStage {
    /// `$out: "coll"` or `$out: {db, coll}`.
    static func parseOut(_ spec: BSON, at loc: Location) throws -> OutputStage {
        switch spec {
        case .string(let coll):
            try checkCollectionName(coll, kind: .out, at: loc)
            return OutputStage(kind: .out, database: nil, collection: coll, spec: spec, location: loc)
        case .document(let d):
            for k in d.keys where k != "db" && k != "coll" {
                throw StrataError.badInput(k == "timeseries" ? "$out into a time-series collection is not supported"
                                                             : "BSON field '$out.\(k)' is an unknown field.", at: loc.appending(k))
            }
            for k in ["coll", "db"] where d[k] == nil {
                throw StrataError.badInput("BSON field '$out.\(k)' is missing but a required field", at: loc)
            }
            guard case .string(let coll) = d["coll"]! else {
                throw StrataError.badInput("BSON field '$out.coll' is the wrong type '\(d["coll"]!.typeName)', expected type 'string'", at: loc.appending("coll"))
            }
            guard case .string(let db) = d["db"]! else {
                throw StrataError.badInput("BSON field '$out.db' is the wrong type '\(d["db"]!.typeName)', expected type 'string'", at: loc.appending("db"))
            }
            try checkDatabaseName(db, kind: .out, at: loc.appending("db"))
            try checkCollectionName(coll, kind: .out, at: loc.appending("coll"))
            return OutputStage(kind: .out, database: db, collection: coll, spec: spec, location: loc)
        default:
            throw StrataError.badInput("$out only supports a string or object argument, but found \(spec.typeName)", at: loc)
        }
    }

    /// `$merge: "coll"` or `$merge: {into, on, let, whenMatched, whenNotMatched}`.
    static func parseMerge(_ spec: BSON, at loc: Location) throws -> OutputStage {
        if case .string(let coll) = spec {
            try checkCollectionName(coll, kind: .merge, at: loc)
            return OutputStage(kind: .merge, database: nil, collection: coll, on: ["_id"], whenMatched: .merge, spec: spec, location: loc)
        }
        guard case .document(let d) = spec else {
            throw StrataError.badInput("$merge requires a string or object argument, but found \(spec.typeName)", at: loc)
        }
        for k in d.keys where !["into", "on", "let", "whenMatched", "whenNotMatched"].contains(k) {
            throw StrataError.badInput("BSON field '$merge.\(k)' is an unknown field.", at: loc.appending(k))
        }
        guard let into = d["into"] else { throw StrataError.badInput("BSON field '$merge.into' is missing but a required field", at: loc) }
        let (db, coll) = try parseInto(into, at: loc.appending("into"))
        let on = try d["on"].map { try parseOn($0, at: loc.appending("on")) } ?? ["_id"]
        let whenMatched = try d["whenMatched"].map { try parseWhenMatched($0, at: loc.appending("whenMatched")) } ?? .merge
        var whenNotMatched = WhenNotMatched.insert
        if let w = d["whenNotMatched"] {
            guard case .string(let s) = w, let value = WhenNotMatched(rawValue: s) else {
                throw StrataError.badInput("Enumeration value '\(w.stringValue ?? w.typeName)' for field '$merge.whenNotMatched' is not a valid value.",
                                           at: loc.appending("whenNotMatched"))
            }
            whenNotMatched = value
        }
        var variables: Document?
        if let l = d["let"] {
            guard case .document(let vars) = l else {
                throw StrataError.badInput("BSON field '$merge.let' is the wrong type '\(l.typeName)', expected type 'object'", at: loc.appending("let"))
            }
            guard case .pipeline = whenMatched else {
                throw StrataError.badInput("Cannot use 'let' variables with 'whenMatched: \(whenMatched.name)' mode", at: loc.appending("let"))
            }
            for (name, value) in vars { _ = try Expr.parse(value, at: loc.appending("let").appending(name)) }
            variables = vars
        }
        return OutputStage(kind: .merge, database: db, collection: coll, on: on, whenMatched: whenMatched,
                           whenNotMatched: whenNotMatched, variables: variables, spec: spec, location: loc)
    }

    static func parseInto(_ into: BSON, at loc: Location) throws -> (String?, String) {
        switch into {
        case .string(let coll):
            if coll.isEmpty { throw StrataError.badInput("$merge 'into' field cannot be an empty string", at: loc) }
            try checkCollectionName(coll, kind: .merge, at: loc)
            return (nil, coll)
        case .document(let d):
            for k in d.keys where k != "db" && k != "coll" {
                throw StrataError.badInput("BSON field '$merge.into.\(k)' is an unknown field.", at: loc.appending(k))
            }
            guard case .string(let coll)? = d["coll"] else {
                throw StrataError.badInput("$merge 'into' needs 'coll', a string", at: loc)
            }
            try checkCollectionName(coll, kind: .merge, at: loc.appending("coll"))
            guard let dbValue = d["db"] else { return (nil, coll) }
            guard case .string(let db) = dbValue else {
                throw StrataError.badInput("$merge 'into.db' must be a string, not \(dbValue.typeName)", at: loc.appending("db"))
            }
            try checkDatabaseName(db, kind: .merge, at: loc.appending("db"))
            return (db, coll)
        default:
            throw StrataError.badInput("$merge 'into' field must be either a string or an object, but found \(into.typeName)", at: loc)
        }
    }

    static func parseOn(_ on: BSON, at loc: Location) throws -> [String] {
        let fields: [String]
        switch on {
        case .string(let s): fields = [s]
        case .array(let items):
            fields = try items.map { item in
                guard case .string(let s) = item else {
                    throw StrataError.badInput("$merge 'on' array elements must be strings, but found \(item.typeName)", at: loc)
                }
                return s
            }
            if fields.isEmpty { throw StrataError.badInput("If explicitly specifying $merge 'on', must include at least one field", at: loc) }
        default:
            throw StrataError.badInput("$merge 'on' field must be either a string or an array of strings, but found \(on.typeName)", at: loc)
        }
        var seen = Set<String>()
        for f in fields {
            if f.isEmpty || f.hasPrefix("$") || f.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                throw StrataError.badInput("$merge 'on' field '\(f)' is not a valid field path", at: loc)
            }
            if !seen.insert(f).inserted { throw StrataError.badInput("Found a duplicate field '\(f)'", at: loc) }
        }
        return fields
    }

    /// The update stages mongod accepts in a `whenMatched` pipeline.
    static let updateStages: Set<String> = ["$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"]

    static func parseWhenMatched(_ value: BSON, at loc: Location) throws -> WhenMatched {
        switch value {
        case .string("replace"): return .replace
        case .string("keepExisting"): return .keepExisting
        case .string("merge"): return .merge
        case .string("fail"): return .fail
        case .array(let stages):
            for (i, s) in stages.enumerated() {
                if let name = s.singleField?.key, !updateStages.contains(name) {
                    throw StrataError.badInput("\(name) is not allowed to be used within an update", at: loc.appending(index: i).appending(name))
                }
            }
            return .pipeline(stages, try Pipeline.parse(stages, at: loc))
        default:
            throw StrataError.badInput("Enumeration value '\(value.stringValue ?? value.typeName)' for field '$merge.whenMatched' is not a valid value.", at: loc)
        }
    }

    static func checkCollectionName(_ name: String, kind: Kind, at loc: Location) throws {
        if name.isEmpty { throw StrataError.badInput("Invalid \(kind.rawValue) target namespace: the collection name is empty", at: loc) }
        if name.contains("$") || name.contains("\0") || name.hasPrefix("system.") || name.hasPrefix(".") {
            throw StrataError.badInput("Invalid \(kind.rawValue) target namespace: '\(name)' is not a collection \(kind.rawValue) can write", at: loc)
        }
    }

    static func checkDatabaseName(_ name: String, kind: Kind, at loc: Location) throws {
        if name.isEmpty || name.contains(where: { "/\\. \"$\0".contains($0) }) {
            throw StrataError.badInput("Invalid \(kind.rawValue) target namespace: '\(name)' is not a database name", at: loc)
        }
        if ["admin", "local", "config"].contains(name) {
            throw StrataError.badInput("\(kind.rawValue) cannot write to the internal database '\(name)'", at: loc)
        }
    }
}
