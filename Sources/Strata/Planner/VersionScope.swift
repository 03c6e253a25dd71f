import StrataBSON
import StrataEvaluator

/// How the newest schema looks from the documents stored at one version: the
/// lens's path sources, cached, plus the temporary names a branch invents.
final class VersionScope {
    let lens: Lens
    let version: Int
    private var cache: [[String]: PathSource] = [:]
    private var nextTemporary = 0

    init(lens: Lens, version: Int) {
        self.lens = lens
        self.version = version
    }

    /// True for the newest version: every path is itself.
    var isNewest: Bool { version == lens.newest }

    func source(of path: [String]) -> PathSource {
        if isNewest { return .path(path) }
        if let s = cache[path] { return s }
        let s = lens.source(of: path, atVersion: version)
        cache[path] = s
        return s
    }

    /// `expr` over the newest schema, written over the stored version.
    func translate(_ expr: Expr) -> (expr: Expr, lookups: [LookupPrerequisite])? {
        if isNewest { return (expr, []) }
        let t = lens.translate(expr, atVersion: version)
        guard let e = t.expr else { return nil }
        return (e, t.lookups)
    }

    func monotoneSource(of path: [String]) -> MonotoneSource? {
        isNewest ? nil : lens.monotoneSource(of: path, atVersion: version)
    }

    func exactInverseSource(of path: [String]) -> MonotoneSource? {
        isNewest ? nil : lens.exactInverseSource(of: path, atVersion: version)
    }

    /// A fresh temporary field name for this branch.
    func temporaryName() -> String {
        defer { nextTemporary += 1 }
        return "__strata_t\(nextTemporary)"
    }
}

/// A value a branch computes into a temporary field before a predicate or a
/// sort can use it.
struct Temporary: Sendable, Equatable {
    var name: String
    var expr: Expr
    var lookups: [LookupPrerequisite]
}

extension Array where Element == Temporary {
    /// The stages that materialise the temporaries: their lookups, then one `$addFields`.
    var stages: [BSON] {
        guard !isEmpty else { return [] }
        var lookups: [LookupPrerequisite] = []
        for t in self { for l in t.lookups where !lookups.contains(l) { lookups.append(l) } }
        return lookups.map(\.stage) + [["$addFields": .document(Document(map { ($0.name, $0.expr.bson) }))]]
    }

    /// The names to `$unset` once the temporaries have served.
    var cleanupNames: [String] {
        var names = map(\.name)
        for t in self { for l in t.lookups where !names.contains(l.temporaryField) { names.append(l.temporaryField) } }
        return names
    }
}
