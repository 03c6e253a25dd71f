import Foundation
import StrataBSON
import StrataEvaluator
import StrataLibBSON

/// A logical query: a pipeline written against the newest schema of one collection.
/// Read from `{"collection": "users", "pipeline": [...]}` (Extended JSON v2).
public struct QuerySpec: Sendable {
    public var collection: String
    public var pipeline: [BSON]
    public var description: String?
    /// Where it came from, for messages (`queries/x.json`).
    public var file: String?

    public init(collection: String, pipeline: [BSON], description: String? = nil, file: String? = nil) {
        self.collection = collection
        self.pipeline = pipeline
        self.description = description
        self.file = file
    }

    /// True when the pipeline's last stage is `$out` or `$merge`: it writes its results
    /// (`VersionedCollection.write`) rather than returning them.
    public var writesResults: Bool {
        guard let name = pipeline.last?.singleField?.key else { return false }
        return name == "$out" || name == "$merge"
    }

    /// The location of the pipeline inside the query file.
    public var pipelineLocation: Location { Location(file: file, path: "pipeline") }

    public static func load(contentsOf url: URL) throws -> QuerySpec {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw StrataError.badInput("cannot read the query file: \(error.localizedDescription)", at: Location(file: url.path))
        }
        return try parse(text, file: url.path)
    }

    public static func parse(_ text: String, file: String? = nil) throws -> QuerySpec {
        let root = Location(file: file)
        let doc: Document
        do { doc = try ExtendedJSON.parseQueryDocument(text) } catch {
            throw StrataError.badInput("not valid Extended JSON: \(error)", at: root)
        }
        for k in doc.keys where !["collection", "pipeline", "description", "comment"].contains(k) {
            throw StrataError.badInput("unknown key '\(k)' (a query file has collection, pipeline and an optional description)",
                                       at: root.appending(k))
        }
        guard let c = doc["collection"] else { throw StrataError.badInput("the query needs 'collection'", at: root) }
        guard case .string(let collection) = c, !collection.isEmpty else {
            throw StrataError.badInput("'collection' must be a non-empty string", at: root.appending("collection"))
        }
        guard let p = doc["pipeline"] else { throw StrataError.badInput("the query needs 'pipeline' (an array of stages)", at: root) }
        guard case .array(let pipeline) = p else {
            throw StrataError.badInput("'pipeline' must be an array of stages, not \(p.typeName)", at: root.appending("pipeline"))
        }
        return QuerySpec(collection: collection, pipeline: pipeline, description: doc["description"]?.stringValue, file: file)
    }

    /// The inline form: `--pipeline '[...]' --collection C`.
    public static func inline(collection: String, pipelineJSON: String) throws -> QuerySpec {
        let loc = Location(file: "--pipeline")
        let value: BSON
        do { value = try ExtendedJSON.parseQueryValue(pipelineJSON) } catch {
            throw StrataError.badInput("not valid Extended JSON: \(error)", at: loc)
        }
        let stages: [BSON]
        switch value {
        case .array(let a): stages = a
        case .document: stages = [value]
        default: throw StrataError.badInput("--pipeline must be an array of stages", at: loc)
        }
        return QuerySpec(collection: collection, pipeline: stages, file: "--pipeline")
    }
}

/// A query whose pipeline is parsed and checked, once: what the planner plans and the
/// runner runs (a retry at a fresh snapshot plans again from the same parse).
public struct ParsedQuery: Sendable {
    public let spec: QuerySpec
    /// The pipeline's stages that read, each beside its parse (without a final `$out` or
    /// `$merge`: that is `output`).
    public let stages: [PipelineStage]
    /// The final `$out` or `$merge`, when the pipeline writes its results
    /// (`VersionedCollection.write`); nil for a query that returns them.
    public let output: OutputStage?

    /// Parses `spec`'s pipeline (`.badInput` naming the place; `.unsupported` for stages
    /// strata does not run). A `$out` or `$merge` is accepted as the final stage only.
    public init(_ spec: QuerySpec) throws {
        self.spec = spec
        let (read, output) = try OutputStage.split(spec.pipeline, at: spec.pipelineLocation)
        self.output = output
        self.stages = try PipelineStages.parse(read, at: spec.pipelineLocation)
    }

    private init(spec: QuerySpec, stages: [PipelineStage]) {
        self.spec = spec
        self.stages = stages
        self.output = nil
    }

    public var collection: String { spec.collection }

    /// The query without its final `$out`/`$merge`: what is planned and run to produce the
    /// documents written.
    public var readPart: ParsedQuery {
        guard output != nil else { return self }
        return ParsedQuery(spec: QuerySpec(collection: spec.collection, pipeline: Array(spec.pipeline.dropLast()),
                                           description: spec.description, file: spec.file), stages: stages)
    }
}
