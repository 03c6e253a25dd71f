import Foundation
import StrataBSON
import StrataEvaluator

/// Which stored fields a read must fetch so that upgrading the document in Swift
/// gives the right values at the paths it returns (the projection), filters and
/// sorts on: the mongokit/kibana failure — a projected read upgraded without the
/// fields the upgrade needs — made impossible by construction.
///
/// Walks the lens backwards from the newest version to the stored one. At each
/// operation the set of needed paths becomes: for every needed path, where the
/// operation takes it from (`source(of:)`: the same path, another path, the fields
/// an expression reads, the local field of a lookup; a path the operation computes in
/// a way that cannot be followed per path needs the path itself and everything the
/// operation reads), plus everything an application-defined operation reads (it may
/// fail on a document missing its inputs; the declarative operations take a missing
/// input as missing). `nil` means the whole document. Should an upgrade still fail on
/// the partial document, the repository fetches it whole and upgrades it again.
enum UpgradeInputs {
    /// Newest-schema paths a find projection reads; `nil` for "the whole document"
    /// (exclusion projections, `$$ROOT`, no projection).
    static func newestPaths(of projection: Projection) -> Set<[String]>? {
        guard projection.mode == .inclusion else { return nil }
        var out: Set<[String]> = [["_id"]]
        func walk(_ node: Projection.Node, _ prefix: [String]) -> Bool {
            for (name, entry) in node.fields {
                let path = prefix + Query.components(name)
                switch entry {
                case .include, .slice, .elemMatch: out.insert(path)
                case .exclude: continue
                case .nested(let n): if !walk(n, path) { return false }
                case .computed(let e):
                    guard let paths = fieldPaths(of: e) else { return false }
                    out.formUnion(paths)
                }
            }
            return true
        }
        return walk(projection.root, []) ? out : nil
    }

    /// Field paths an expression reads; `nil` when it reads the whole document.
    static func fieldPaths(of e: Expr) -> Set<[String]>? { Lens.fieldPaths(of: e) }

    /// Stored paths to fetch for documents at `version`, or `nil` for the whole document
    /// (`Lens.inputs(for:atVersion:)`: what computing the newest paths needs, guards included).
    static func storedPaths(_ lens: Lens, newest: Set<[String]>, version: Int) -> Set<[String]>? {
        lens.inputs(for: newest, atVersion: version)?.paths
    }

    /// A find projection including `paths` (a path inside another is dropped: the
    /// server refuses path collisions).
    static func inclusion(_ paths: Set<[String]>) -> Document {
        let sorted = paths.sorted { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
        var kept: [[String]] = []
        for p in sorted where !kept.contains(where: { p.count >= $0.count && Array(p.prefix($0.count)) == $0 }) {
            kept.append(p)
        }
        return Document(kept.map { ($0.joined(separator: "."), BSON.int32(1)) })
    }

    /// The fetch projection for documents at any of `versions`, or `nil` (fetch whole documents).
    static func fetchProjection(_ lens: Lens, projection: Projection?, query: Query?, sort: SortPattern?,
                                versions: some Sequence<Int>) -> Document? {
        guard let projection, var newest = newestPaths(of: projection) else { return nil }
        if let query {
            guard !containsExpr(query) else { return nil }
            newest.formUnion(query.paths.map(Query.components))
        }
        if let sort {
            if sort.wholeValueAscending != nil { return nil }
            newest.formUnion(sort.components.map(\.path))
        }
        var all: Set<[String]> = []
        for v in versions {
            guard let s = storedPaths(lens, newest: newest, version: v) else { return nil }
            all.formUnion(s)
        }
        return inclusion(all)
    }

    static func containsExpr(_ q: Query) -> Bool {
        switch q {
        case .and(let qs), .or(let qs), .nor(let qs): return qs.contains(where: containsExpr)
        case .expr: return true
        case .field, .alwaysTrue, .alwaysFalse: return false
        }
    }
}
