import Foundation
import Strata
import StrataBSON
import StrataEvaluator
import StrataLibBSON

/// Which target a query counts for.
package enum BenchQueryClass: String, Sendable, Codable, CaseIterable {
    /// No selective filter: every document is read (targets: planner/ideal ≤ 1.25,
    /// upgrading/planner ≥ 5, client-side/planner ≥ 1.1, medians over the class).
    case fullScan
    /// A selective filter on indexed fields (targets: planner/ideal ≤ 3, upgrading/planner ≥ 1000).
    case selective
    /// Reported, counted for no target (the spec file says why).
    case unclassified

    package var label: String {
        switch self {
        case .fullScan: return "full-scan group-by"
        case .selective: return "selective filter"
        case .unclassified: return "unclassified"
        }
    }
}

/// One query of the benchmark.
package struct BenchQuery: Sendable {
    /// The file name without `.json` (`events-by-kind`).
    package var name: String
    package var file: String
    package var description: String?
    package var pipeline: [BSON]
    package var queryClass: BenchQueryClass
    /// Where the class comes from (the spec file, or the pipeline's shape).
    package var classReason: String

    /// Loads the query files; each must be over `dataset`.
    package static func load(_ files: [URL], dataset: String, spec: BenchQuerySpec?) throws -> [BenchQuery] {
        var seen = Set<String>()
        return try files.compactMap { url in
            let q = try QuerySpec.load(contentsOf: url)
            guard q.collection == dataset else {
                throw StrataError.badInput("the benchmark runs over '\(dataset)', this query is over '\(q.collection)'", at: Location(file: url.path, path: "collection"))
            }
            guard !q.writesResults else {
                throw StrataError.badInput("the benchmark times and compares answers; this query ends in \(q.pipeline.last?.singleField?.key ?? "a writing stage") and writes them instead",
                                           at: Location(file: url.path, path: "pipeline[\(q.pipeline.count - 1)]"))
            }
            guard seen.insert(url.standardizedFileURL.path).inserted else { return nil }
            let name = url.deletingPathExtension().lastPathComponent
            let (c, reason) = classify(name: name, pipeline: q.pipeline, spec: spec)
            return BenchQuery(name: name, file: url.path, description: q.description, pipeline: q.pipeline, queryClass: c, classReason: reason)
        }
    }

    /// The class the spec gives; else full-scan when the pipeline does not start with a
    /// `$match` (every document is read), else unclassified (selectivity is not guessed).
    static func classify(name: String, pipeline: [BSON], spec: BenchQuerySpec?) -> (BenchQueryClass, String) {
        if let spec, let c = spec.classes[name] {
            return (c, spec.reasons[name] ?? "listed in \(spec.file)")
        }
        let first = pipeline.first?.documentValue?.keys.first
        if first != "$match" { return (.fullScan, "no leading $match") }
        return (.unclassified, "a leading $match whose selectivity is not known: list it in the spec file (bench/queries.json)")
    }
}

/// `bench/queries.json`: which query counts for which target.
///
///     {"fullScan": ["events-by-kind", ...], "selective": ["events-one-user", ...],
///      "unclassified": {"events-kinds-per-week": "why"}, "reasons": {"events-one-user": "why"}}
package struct BenchQuerySpec: Sendable {
    package var file: String
    package var classes: [String: BenchQueryClass]
    package var reasons: [String: String]

    package static func load(_ url: URL) throws -> BenchQuerySpec {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw StrataError.badInput("cannot read the benchmark's query spec: \(error.localizedDescription)", at: Location(file: url.path))
        }
        let doc: Document
        do { doc = try ExtendedJSON.parseDocument(text) } catch {
            throw StrataError.badInput("not a JSON object: \(error)", at: Location(file: url.path))
        }
        var spec = BenchQuerySpec(file: url.path, classes: [:], reasons: [:])
        func names(_ key: String) throws -> [String] {
            switch doc[key] {
            case nil: return []
            case .array(let items)?:
                return try items.enumerated().map { i, v in
                    guard case .string(let s) = v else {
                        throw StrataError.badInput("a query name (the file name without .json)", at: Location(file: url.path, path: "\(key)[\(i)]"))
                    }
                    return s
                }
            case .document(let d)?:
                for (name, why) in d { if case .string(let s) = why { spec.reasons[name] = s } }
                return d.keys
            default:
                throw StrataError.badInput("a list of query names", at: Location(file: url.path, path: key))
            }
        }
        for c in BenchQueryClass.allCases {
            for name in try names(c.rawValue) {
                if let other = spec.classes[name], other != c {
                    throw StrataError.badInput("'\(name)' is listed as \(other.rawValue) and as \(c.rawValue)", at: Location(file: url.path, path: c.rawValue))
                }
                spec.classes[name] = c
            }
        }
        if case .document(let r)? = doc["reasons"] {
            for (name, why) in r { if case .string(let s) = why { spec.reasons[name] = s } }
        }
        return spec
    }
}
