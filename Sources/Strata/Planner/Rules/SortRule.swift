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

    /// How many documents from the head of a sorted (or natural-order) stream the
    /// stages right after it can use: `$limit n` → n, `$skip s, $limit n` → s + n.
    static func limitAfter(_ stages: [PipelineStages.Stage]) -> Int64? {
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
