import StrataEvaluator

extension Lens {
    /// Where the value at `path` of a document upgraded to the newest version
    /// comes from in the document as stored at `version`. Composes each
    /// operation's answer from the newest back to `version`.
    package func source(of path: [String], atVersion version: Int) -> PathSource {
        var src = PathSource.path(path)
        for op in operations(from: version).reversed() {
            src = Self.pullBack(src, through: op)
            if case .swiftOnly = src.value { return src }
        }
        return src
    }

    /// What `expr` (over the newest version) computes, written over the stored
    /// version: every field path replaced by its source. `nil` result means some
    /// path cannot be translated; the reason comes back in the second value.
    package func translate(_ expr: Expr, atVersion version: Int) -> (expr: Expr?, lookups: [LookupPrerequisite], obstacle: PathSource.Value?) {
        let src = Self.pullBack(.computed(expr), through: { p in self.source(of: p, atVersion: version) })
        switch src.value {
        case .computed(let e, let rest) where rest.isEmpty: return (e, src.lookups, nil)
        case .path(let p): return (.fieldPath(p), src.lookups, nil)
        case .computed: return (src.expression, src.lookups, nil)
        default: return (nil, [], src.value)
        }
    }

    static func pullBack(_ src: PathSource, through op: any LensOperation) -> PathSource {
        // Temporary lookup fields are strata's own: no operation touches them.
        pullBack(src) { p in
            p.first?.hasPrefix("__strata_lookup_") == true ? .path(p) : op.source(of: p)
        }
    }

    static func pullBack(_ src: PathSource, through map: ([String]) -> PathSource) -> PathSource {
        var lookups: [LookupPrerequisite] = []
        var obstacle: PathSource.Value?
        func note(_ v: PathSource.Value) {
            switch (obstacle, v) {
            case (.swiftOnly?, _): break
            case (_, .swiftOnly), (nil, .untranslatable): obstacle = v
            default: break
            }
        }
        for l in src.lookups {
            let s = map(l.localField)
            if case .path(let q) = s.value, s.lookups.isEmpty {
                var moved = l
                moved.localField = q
                lookups.append(moved)
            } else {
                note(.untranslatable("the key of a lookup ('\(l.localField.joined(separator: "."))') changes shape"))
            }
        }
        var result: PathSource.Value
        switch src.value {
        case .swiftOnly, .untranslatable:
            return PathSource(src.value)
        case .path(let p):
            let s = map(p)
            lookups += s.lookups
            result = s.value
        case .computed(let e, let rest):
            let e2 = e.rewritingFieldPaths { p, base in
                if p.isEmpty {
                    note(.untranslatable("the whole document ($$ROOT) is not translated per field"))
                    return base == .root ? .variable("ROOT", []) : .fieldPath([])
                }
                let s = map(p)
                lookups += s.lookups
                switch s.value {
                case .path(let q): return base == .root ? .variable("ROOT", q) : .fieldPath(q)
                case .computed:
                    return PathSource(s.value).expression!
                case .swiftOnly, .untranslatable:
                    note(s.value)
                    return .fieldPath(p)
                }
            }
            result = .computed(e2, rest: rest)
        }
        if let obstacle { return PathSource(obstacle) }
        return PathSource(result, lookups: dedupe(lookups))
    }

    static func dedupe(_ ls: [LookupPrerequisite]) -> [LookupPrerequisite] {
        var out: [LookupPrerequisite] = []
        for l in ls where !out.contains(l) { out.append(l) }
        return out
    }
}
