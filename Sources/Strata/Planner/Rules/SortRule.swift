import StrataBSON
import StrataEvaluator

/// `$sort` (with the `$skip`/`$limit` after it) for one stored version.
///
/// A sort key the lens only moves (a rename, a nest) sorts the stored documents
/// exactly as the upgraded ones, so it goes to the server — where an index on
/// the stored path can serve it — and so may the limit. A key computed by a
/// conversion is not pushed (a monotone conversion may merge distinct values,
/// which would change which documents tie).
enum SortRule {
    static func translate(_ pattern: SortPattern, in scope: VersionScope) -> SortPattern? {
        if pattern.wholeValueAscending != nil { return nil }
        var components: [SortPattern.Component] = []
        for c in pattern.components {
            let s = scope.source(of: c.path)
            guard case .path(let stored) = s.value, s.lookups.isEmpty else { return nil }
            components.append(.init(path: stored, ascending: c.ascending))
        }
        return SortPattern(components: components)
    }

    /// True when no two documents tie on the pattern: it sorts on a unique path
    /// (only the components up to it matter, and they need no tie-breaker).
    static func isTotal(_ pattern: SortPattern, uniquePaths: Set<[String]>) -> Bool {
        pattern.components.contains { uniquePaths.contains($0.path) }
    }

    /// True when `stages` map each document to one document and leave the values at
    /// `paths` as they were (`$project` keeping them, `$addFields`/`$set`/`$unset` not
    /// touching them): a sort on those paths after the stages orders the documents as
    /// the same sort before them would.
    static func keptThrough(_ stages: [PipelineStage], paths: [[String]]) -> Bool {
        func touches(_ key: String, _ p: [String]) -> Bool {
            let k = key.split(separator: ".").map(String.init)
            return p.starts(with: k) || k.starts(with: p)
        }
        func touches(_ key: String) -> Bool { paths.contains { touches(key, $0) } }
        func isInclusion(_ v: BSON) -> Bool { v.boolValue == true || (v.exactInt.map { $0 != 0 } ?? false) }
        func isExclusion(_ v: BSON) -> Bool { v.boolValue == false || v.exactInt == 0 }
        for stage in stages {
            switch stage.name {
            case "$addFields", "$set":
                guard case .document(let d) = stage.spec, !d.keys.contains(where: touches) else { return false }
            case "$unset":
                let keys = stage.spec.stringValue.map { [$0] } ?? stage.spec.arrayValue?.compactMap(\.stringValue)
                guard let keys, !keys.contains(where: touches) else { return false }
            case "$project":
                guard case .document(let d) = stage.spec else { return false }
                let nonId = d.filter { $0.key != "_id" }
                let exclusion = !nonId.isEmpty && nonId.allSatisfy { isExclusion($0.value) }
                for p in paths {
                    let touching = d.filter { touches($0.key, p) }
                    if p == ["_id"] {
                        // Kept unless excluded or redefined.
                        if let v = d["_id"], !isInclusion(v) { return false }
                        if touching.contains(where: { $0.key != "_id" }) { return false }
                    } else if exclusion {
                        if !touching.isEmpty { return false }
                    } else {
                        // An inclusion of the path itself or of a prefix of it, and nothing else on it.
                        guard touching.count == 1, let (k, v) = touching.first.map({ ($0.key, $0.value) }), isInclusion(v),
                              p.starts(with: k.split(separator: ".").map(String.init)) else { return false }
                    }
                }
            default:
                return false
            }
        }
        return true
    }

    /// How many documents from the head of a sorted (or natural-order) stream the
    /// stages right after it can use: `$limit n` → n, `$skip s, $limit n` → s + n.
    static func limitAfter(_ stages: [PipelineStage]) -> Int64? {
        var skipped: Int64 = 0
        for s in stages {
            switch s.name {
            case "$skip":
                guard let n = s.spec.exactInt, n >= 0 else { return nil }
                skipped += n
            case "$limit":
                guard let n = s.spec.exactInt, n > 0 else { return nil }
                let (sum, overflow) = skipped.addingReportingOverflow(n)
                return overflow ? nil : sum
            default:
                return nil
            }
        }
        return nil
    }
}
