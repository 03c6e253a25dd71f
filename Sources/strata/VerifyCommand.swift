import ArgumentParser
import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON
import StrataMongo

/// `strata verify`: each query run by strata on the mixed collection and directly by
/// the server on a fully migrated reference collection, answers compared.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check strata's answers against a fully migrated copy: each query through strata, and directly on the copy.",
        discussion: """
            For each query file, strata runs the pipeline on the mixed collection it names \
            (as 'strata run' does) and the server runs the same pipeline, unchanged, on the \
            reference collection given by --against ('{collection}' is replaced by the \
            query's collection): a copy migrated to the newest version, e.g. by \
            'strata migrate' on a copy, or a dataset's truth. The answers are compared as \
            the tests compare them: documents as unordered maps, doubles within a relative \
            1e-9, order only where the pipeline defines it.

            Each query gets one line: agree, DIFFER (with what differs), refused (strata \
            said it cannot answer exactly: allowed, never a wrong number) or 'both failed' \
            (the server refused the pipeline too).

            Exit status: 0 every answer agrees; 6 some answer differs (or strata answered \
            where the server failed, or failed where it answered); 3 none differs but strata \
            refused some; 1 server error; 2 a malformed query or lens, or a reference \
            collection that does not exist or is empty (see --allow-empty-reference).
            """
    )

    @Argument(help: ArgumentHelp("Query files: {\"collection\": ..., \"pipeline\": [...]}.", valueName: "query.json"))
    var files: [String]

    @Option(help: ArgumentHelp("The reference collection; '{collection}' stands for the query's collection.",
                               valueName: "name"))
    var against: String

    @Flag(help: "One JSON object per query instead of a line of text.")
    var json = false

    @Flag(help: "Leave out documents at versions the lens does not know (with a warning) instead of refusing.")
    var ignoreUnknownVersions = false

    @Flag(help: "Accept a reference collection without documents (by default an empty reference is refused: it agrees with any query that finds nothing).")
    var allowEmptyReference = false

    enum Plans: String, ExpressibleByArgument, CaseIterable { case server, all }

    @Option(help: ArgumentHelp(
        "server: the plan 'strata run' makes here. all: every plan family in turn — the server's, mongod's (partial groups and translated filters on the server), mongod's shaped for the indexes the lens recommends (as if 'strata index' had run: the lens's monotone and inverse claims are exercised even without indexes), and the whole pipeline evaluated in Swift over one scan; a query agrees only if every family does.",
        valueName: "server|all"))
    var plans: Plans = .server

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var schemas: SchemaOptions
    @OptionGroup var consistency: ConsistencyOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one query file") }
        if against.isEmpty { throw ValidationError("--against must not be empty") }
    }

    enum Verdict: String { case agree, differ = "DIFFER", refused, bothFailed = "both failed" }

    /// The plan families `--plans` runs, each a change to the runner's options.
    var families: [(String, (inout QueryRunner.Options) -> Void)] {
        switch plans {
        case .server:
            return [("server", { _ in })]
        case .all:
            return [("server", { _ in }),
                    ("mongod", { $0.profile = .mongod }),
                    ("lens-indexed mongod", { $0.profile = .mongod; $0.planWithLensIndexes = true }),
                    ("Swift evaluation", { $0.readMechanism = .singleCursor })]
        }
    }

    func run() throws {
        // Every file and lens is checked before anything connects.
        let specs = try files.map { file -> QuerySpec in
            guard FileManager.default.fileExists(atPath: file) else {
                throw StrataError.badInput("no such query file", at: Location(file: file))
            }
            var spec = try QuerySpec.load(contentsOf: URL(fileURLWithPath: file))
            if let stage = try? OutputStage.split(spec.pipeline, at: spec.pipelineLocation).output {
                // Neither side may write: the documents the stage would write are compared.
                ErrorReporter.printError("strata: \(file): the pipeline ends in \(stage.kind.rawValue): verifying the documents it would write (the pipeline without its last stage); nothing is written")
                spec.pipeline.removeLast()
            }
            do {
                _ = try Planner(lens: try schemas.lens(for: spec.collection)).plan(spec)
            } catch let e as StrataError where e.kind == .unsupported {
                // Well-formed but not supported: that query's verdict is 'refused'.
            }
            return spec
        }
        var tally: [Verdict: Int] = [:]
        try connection.resolve().run { db in
            try checkReferences(specs.map { against.replacingOccurrences(of: "{collection}", with: $0.collection) }, in: db)
            for (file, spec) in zip(files, specs) {
                let reference = against.replacingOccurrences(of: "{collection}", with: spec.collection)
                let want = Result { try db.collection(reference).aggregateAll(spec.pipeline) }
                var verdicts: [(family: String, verdict: Verdict, detail: String?, results: Int?, seconds: Double)] = []
                for (family, adjust) in families {
                    let t0 = Date()
                    let got = Result { () throws -> [Document] in
                        var out: [Document] = []
                        var c = try schemas.versioned(spec.collection, database: db, ignoreUnknownVersions: ignoreUnknownVersions,
                                                      consistency: consistency)
                        adjust(&c.options)
                        try c.aggregate(spec.pipeline, file: spec.file) { out.append($0); return true }
                        return out
                    }
                    let (verdict, detail) = try judge(got, want, pipeline: spec.pipeline)
                    verdicts.append((family, verdict, detail, try? got.get().count, Date().timeIntervalSince(t0)))
                }
                // The worst verdict over the families decides: a difference, then a refusal.
                let order: [Verdict] = [.differ, .refused, .bothFailed, .agree]
                let worst = verdicts.min { order.firstIndex(of: $0.verdict)! < order.firstIndex(of: $1.verdict)! }!
                let detail = families.count == 1 ? worst.detail : worst.detail.map { "\(worst.family) plans: \($0)" }
                tally[worst.verdict, default: 0] += 1
                report(file: file, reference: reference, verdict: worst.verdict, detail: detail,
                       results: worst.results, seconds: (verdicts.reduce(0) { $0 + $1.seconds }, 0))
            }
        }
        let summary = [Verdict.agree, .differ, .refused, .bothFailed].compactMap { v in tally[v].map { "\($0) \(v.rawValue)" } }
        if !json { print("\(files.count) \(files.count == 1 ? "query" : "queries"): \(summary.joined(separator: ", "))") }
        if tally[.differ, default: 0] > 0 { throw ExitCode(6) }
        if tally[.refused, default: 0] > 0 { throw ExitCode(3) }
    }

    /// Every reference collection exists and (unless `--allow-empty-reference`) holds a
    /// document: a missing one would make every query DIFFER (or, worse, agree where the
    /// answer is empty) for a reason that has nothing to do with the lens.
    func checkReferences(_ references: [String], in db: MongoDatabase) throws {
        let existing = Set(try db.listCollectionNames())
        var seen = Set<String>()
        for reference in references where seen.insert(reference).inserted {
            guard existing.contains(reference) else {
                throw StrataError.badInput(
                    "the reference collection '\(reference)' does not exist in database '\(db.name)': "
                        + "--against names a fully migrated copy of the queried collection ('{collection}' stands for its name)")
            }
            if !allowEmptyReference, try db.collection(reference).aggregateAll([["$limit": 1]]).isEmpty {
                throw StrataError.badInput(
                    "the reference collection '\(reference)' in database '\(db.name)' is empty: "
                        + "there is nothing to check the answers against (pass --allow-empty-reference if that is intended)")
            }
        }
    }

    /// The verdict on one query. Server errors other than the pipeline's own (a
    /// connection lost) end the run.
    func judge(_ got: Result<[Document], Error>, _ want: Result<[Document], Error>, pipeline: [BSON]) throws -> (Verdict, String?) {
        switch (got, want) {
        case (.success(let g), .success(let w)):
            return ResultComparison.difference(g, w, pipeline: pipeline).map { (.differ, $0) } ?? (.agree, nil)
        case (.failure(let e as MongoError), _) where e.kind == .connection: throw e
        case (_, .failure(let e as MongoError)) where e.kind == .connection: throw e
        case (.failure(let e as StrataError), .success) where e.kind == .unsupported || e.kind == .unknownVersion:
            return (.refused, e.description)
        case (.failure(let e), .success):
            return (.differ, "strata failed where the server answered: \(e)")
        case (.success(let g), .failure(let e)):
            return (.differ, "strata answered \(g.count) documents where the server failed: \(e)")
        case (.failure(let e), .failure(let f)):
            return (.bothFailed, "strata: \(e); server: \(f)")
        }
    }

    func report(file: String, reference: String, verdict: Verdict, detail: String?, results: Int?, seconds: (Double, Double)) {
        if json {
            var d: Document = ["file": .string(file), "against": .string(reference), "verdict": .string(verdict.rawValue),
                               "strataSeconds": .double(seconds.0), "referenceSeconds": .double(seconds.1)]
            if let results { d["results"] = .int64(Int64(results)) }
            if let detail { d["detail"] = .string(detail) }
            print(ExtendedJSON.string(.document(d)))
            return
        }
        let timing = String(format: "strata %.2f s, %@ %.2f s", seconds.0, reference, seconds.1)
        let count = results.map { "\($0) result\($0 == 1 ? "" : "s"), " } ?? ""
        print("\(verdict.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(file)  (\(count)\(timing))")
        if let detail { print("  " + detail.replacingOccurrences(of: "\n", with: "\n  ")) }
    }
}
