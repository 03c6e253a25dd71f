import StrataEvaluator

/// `$match` for one stored version.
///
/// Each conjunct of the filter is translated on its own:
/// - on a path the lens moves without changing the value (rename, nest): the same
///   predicate on the stored path — exact, and served by an index on it;
/// - on a computed value (a conversion, a wrapped array, a looked-up field): the value
///   is materialised into a temporary field and the original predicate runs on it —
///   exact; for a monotone conversion an index-friendly range on the stored field is
///   added in front as a superset;
/// - on a value only Swift computes (or one that has no per-path translation): nothing
///   is translated exactly, so the branch must run the original predicate on upgraded
///   documents; what can be pushed down still is, as a superset.
/// A conjunct whose value is a constant at this version (the version field, a
/// default) is decided at plan time.
struct MatchRewrite {
    /// Conjuncts for the branch's first `$match` (exact translations and supersets).
    var pushdown: [Query] = []
    /// Temporary fields the exact predicate reads.
    var temporaries: [Temporary] = []
    /// The exact predicate over stored fields and temporaries, for the conjuncts the
    /// pushdown does not already decide exactly.
    var exact: [Query] = []
    /// True when some conjunct has no exact translation.
    var needsUpgradedDocuments = false
    /// True when the filter is false for every document of this version.
    var alwaysFalse = false

    /// True when the pushdown alone is exactly the original filter.
    var pushdownIsExact: Bool { temporaries.isEmpty && exact.isEmpty && !needsUpgradedDocuments }
}

enum MatchRule {
    /// Translates a parsed filter for the scope's version.
    static func rewrite(_ query: Query, in scope: VersionScope) -> MatchRewrite {
        var out = MatchRewrite()
        for conjunct in conjuncts(query) {
            var part = translate(conjunct, scope)
            part.pushdown = part.pushdown.map(simplify)
            part.exact = part.exact.map(simplify)
            // Decided at plan time (e.g. a disjunct on the version field): no temporaries needed.
            if let decided = part.exact, decided == .alwaysTrue || decided == .alwaysFalse {
                part = Part(pushdown: decided, pushdownIsExact: true, exact: decided)
            }
            switch part.pushdown {
            case .alwaysFalse?: out.alwaysFalse = true
            case .alwaysTrue?, nil: break
            case let p?: out.pushdown.append(p)
            }
            if part.pushdownIsExact { continue }
            if let e = part.exact {
                out.exact.append(e)
                out.temporaries += part.temporaries
            } else {
                out.needsUpgradedDocuments = true
            }
        }
        return out
    }

    /// Folds `alwaysTrue`/`alwaysFalse` away (servers other than mongod do not know
    /// `$alwaysTrue`), so that they remain only as a whole filter.
    static func simplify(_ q: Query) -> Query {
        switch q {
        case .and(let qs):
            let parts = qs.map(simplify).filter { $0 != .alwaysTrue }
            if parts.contains(.alwaysFalse) { return .alwaysFalse }
            return parts.isEmpty ? .alwaysTrue : parts.count == 1 ? parts[0] : .and(parts)
        case .or(let qs):
            let parts = qs.map(simplify).filter { $0 != .alwaysFalse }
            if parts.contains(.alwaysTrue) { return .alwaysTrue }
            return parts.isEmpty ? .alwaysFalse : parts.count == 1 ? parts[0] : .or(parts)
        case .nor(let qs):
            let parts = qs.map(simplify).filter { $0 != .alwaysFalse }
            if parts.contains(.alwaysTrue) { return .alwaysFalse }
            return parts.isEmpty ? .alwaysTrue : .nor(parts)
        default:
            return q
        }
    }

    /// The exact predicate's `$expr` parts guarded by the version: a server that merges
    /// adjacent `$match` stages may evaluate them on documents of other versions, and
    /// `$and` in an expression is evaluated in order.
    static func guarded(_ q: Query, version: Expr) -> Query {
        switch q {
        case .and(let qs): return .and(qs.map { guarded($0, version: version) })
        case .or(let qs): return .or(qs.map { guarded($0, version: version) })
        case .nor(let qs): return .nor(qs.map { guarded($0, version: version) })
        case .expr(let e): return .expr(.op("$and", .positional([version, e])))
        default: return q
        }
    }

    /// A filter as the list of its top-level conjuncts.
    static func conjuncts(_ q: Query) -> [Query] {
        if case .and(let qs) = q { return qs.flatMap(conjuncts) }
        if case .alwaysTrue = q { return [] }
        return [q]
    }

    struct Part {
        /// A superset (or the exact predicate) over stored fields; nil = no constraint.
        var pushdown: Query?
        var pushdownIsExact: Bool
        /// The exact predicate over stored fields and temporaries; nil = none exists.
        var exact: Query?
        var temporaries: [Temporary] = []
    }

    static func translate(_ q: Query, _ scope: VersionScope) -> Part {
        switch q {
        case .alwaysTrue, .alwaysFalse:
            return Part(pushdown: q, pushdownIsExact: true, exact: q)
        case .and(let qs):
            let parts = qs.map { translate($0, scope) }
            return combine(parts, isOr: false)
        case .or(let qs):
            let parts = qs.map { translate($0, scope) }
            return combine(parts, isOr: true)
        case .nor(let qs):
            let parts = qs.map { translate($0, scope) }
            let exactParts = parts.allSatisfy { $0.exact != nil } ? parts.map { $0.exact! } : nil
            let allPushExact = parts.allSatisfy(\.pushdownIsExact)
            return Part(pushdown: allPushExact ? .nor(parts.map { $0.pushdown ?? .alwaysTrue }) : nil,
                        pushdownIsExact: allPushExact,
                        exact: exactParts.map { .nor($0) },
                        temporaries: parts.flatMap(\.temporaries))
        case .expr(let e):
            // `$expr` is never pushed in front of the version filter: its translation
            // reads stored shapes that other versions do not have (and could fail on them).
            guard let t = scope.translate(e) else { return Part(pushdown: nil, pushdownIsExact: false, exact: nil) }
            if t.lookups.isEmpty { return Part(pushdown: nil, pushdownIsExact: false, exact: .expr(t.expr)) }
            let name = scope.temporaryName()
            return Part(pushdown: nil, pushdownIsExact: false, exact: .field(path: name, [.eq(true)]),
                        temporaries: [Temporary(name: name, expr: .op("$toBool", .positional([t.expr])), lookups: t.lookups)])
        case .field(let path, let predicates):
            return translateField(path, predicates, scope)
        }
    }

    static func combine(_ parts: [Part], isOr: Bool) -> Part {
        let make: ([Query]) -> Query = { isOr ? .or($0) : .and($0) }
        let pushdowns = parts.map(\.pushdown)
        let pushdown: Query?
        if isOr {
            pushdown = pushdowns.contains(where: { $0 == nil }) ? nil : make(pushdowns.map { $0! })
        } else {
            let present = pushdowns.compactMap { $0 }
            pushdown = present.isEmpty ? nil : make(present)
        }
        let exact = parts.allSatisfy { $0.exact != nil } ? make(parts.map { $0.exact! }) : nil
        return Part(pushdown: pushdown, pushdownIsExact: parts.allSatisfy(\.pushdownIsExact),
                    exact: exact, temporaries: parts.flatMap(\.temporaries))
    }

    static func translateField(_ path: String, _ predicates: [FieldPredicate], _ scope: VersionScope) -> Part {
        let components = Query.components(path)
        let source = scope.source(of: components)
        switch source.value {
        case .path(let stored) where source.lookups.isEmpty:
            let q = Query.field(path: stored.joined(separator: "."), predicates)
            return Part(pushdown: q, pushdownIsExact: true, exact: q)
        case .path, .computed:
            guard let expr = PathSource(source.value).expression else {
                return Part(pushdown: nil, pushdownIsExact: false, exact: nil)
            }
            let rest: [String] = { if case .computed(_, let r) = source.value { return r }; return [] }()
            let valueExpr: Expr = { if case .computed(let e, _) = source.value { return e }; return expr }()
            // A constant at this version: decide now.
            if case .literal(let c) = valueExpr, source.lookups.isEmpty,
               let decided = try? Query.field(path: (["v"] + rest).joined(separator: "."), predicates).matches(["v": c])
            {
                let q: Query = decided ? .alwaysTrue : .alwaysFalse
                return Part(pushdown: q, pushdownIsExact: true, exact: q)
            }
            let name = scope.temporaryName()
            let exact = Query.field(path: ([name] + rest).joined(separator: "."), predicates)
            let superset = MonotoneBounds.superset(for: predicates, source: scope.monotoneSource(of: components))
                ?? InverseEquality.superset(for: predicates, source: scope.exactInverseSource(of: components))
            return Part(pushdown: superset, pushdownIsExact: false, exact: exact,
                        temporaries: [Temporary(name: name, expr: valueExpr, lookups: source.lookups)])
        case .untranslatable, .swiftOnly:
            return Part(pushdown: MonotoneBounds.superset(for: predicates, source: scope.monotoneSource(of: components)),
                        pushdownIsExact: false, exact: nil)
        }
    }
}
