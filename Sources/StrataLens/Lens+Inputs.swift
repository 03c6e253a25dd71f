import StrataEvaluator

extension Lens {
    /// What computing the newest-schema paths `newest` needs of a document stored at
    /// `version`: the stored paths (nil: the whole document), and the operations (indexes
    /// in `operations(from: version)`) that decide one of them on the way — those whose
    /// guards and `onError` concern the query.
    ///
    /// Walks the operations backwards from the newest version. At each, the needed paths
    /// become where the operation takes them from (`source(of:)`: the same path, another
    /// path, the fields an expression reads, a lookup's local field; a path computed in a
    /// way that cannot be followed per path needs the path itself and everything the
    /// operation reads), plus what its guards look at when it writes a needed path (a
    /// partial document must be refused as the whole one would be), plus everything an
    /// application-defined operation reads (it may fail on a document missing its inputs),
    /// plus what a `convert` with `onError: "skip"` reads (it decides whether the document
    /// is there at all).
    package func inputs(for newest: Set<[String]>, atVersion version: Int) -> (paths: Set<[String]>, deciding: [Int])? {
        var needed = newest
        let ops = operations(from: version)
        var deciding: [Int] = []
        for (i, op) in ops.enumerated().reversed() {
            var next: Set<[String]> = []
            let writesNeeded = needed.contains { p in
                op.writes.contains { DocumentPaths.isWithin(p, $0) || DocumentPaths.isWithin($0, p) }
            }
            if writesNeeded {
                deciding.append(i)
                for g in op.guards { next.formUnion(g.paths) }
            }
            for p in needed {
                let s = op.source(of: p)
                for l in s.lookups { next.insert(l.localField) }
                switch s.value {
                case .path(let q): next.insert(q)
                case .computed(let e, _):
                    guard let paths = Self.fieldPaths(of: e) else { return nil }
                    next.formUnion(paths.filter { $0.first?.hasPrefix("__strata_lookup_") != true })
                case .untranslatable, .swiftOnly:
                    next.insert(p)
                    next.formUnion(op.reads)
                }
            }
            if op is CustomOperation { next.formUnion(op.reads) }
            // A conversion that leaves documents out decides whether the document is there.
            if let c = op as? ConvertOperation, c.onError == .skip { next.formUnion(c.reads) }
            needed = next
        }
        needed.insert([versionField])
        needed.insert(["_id"])
        return (needed, deciding.reversed())
    }

    /// Field paths an expression reads; `nil` when it reads the whole document.
    package static func fieldPaths(of e: Expr) -> Set<[String]>? {
        var out: Set<[String]> = []
        var whole = false
        _ = e.rewritingFieldPaths { p, base in
            if p.isEmpty { whole = true } else { out.insert(p) }
            return base == .root ? .variable("ROOT", p) : .fieldPath(p)
        }
        return whole ? nil : out
    }

    /// `expr`, written over the document as it is just before operation `index` of
    /// `operations(from: version)`, written over the document as stored at `version`;
    /// nil when a path it reads cannot be followed back.
    func translate(_ expr: Expr, beforeOperation index: Int, atVersion version: Int) -> Expr? {
        let ops = operations(from: version)
        var src = PathSource.computed(expr)
        for op in ops[..<index].reversed() {
            src = Self.pullBack(src, through: op)
        }
        guard src.lookups.isEmpty else { return nil }
        switch src.value {
        case .computed(let e, let rest) where rest.isEmpty: return e
        case .path(let p): return .fieldPath(p)
        default: return nil
        }
    }
}
