/// Which document a field reference starts from.
package enum PathBase: Sendable, Hashable {
    /// `$a.b` and `$$CURRENT.a.b`.
    case current
    /// `$$ROOT.a.b`.
    case root
}

extension Expr {
    /// Replaces every reference to the current document: `$a.b` and `$$CURRENT.a.b` (base
    /// `.current`), `$$ROOT.a.b` (base `.root`), and the whole-document references
    /// `$$CURRENT` / `$$ROOT` (called with an empty path). Variables bound by `$let`, `$map`,
    /// `$filter`, `$reduce` (`$$this`, `$$value`, user names) are not document references and
    /// are left alone; so are literals (e.g. `$sortArray`'s `sortBy`, which names fields of the
    /// array elements). Return the reference unchanged (`.fieldPath(path)`,
    /// `.variable("ROOT", path)`...) to keep it.
    ///
    /// strata refuses to parse `$let` rebinding `CURRENT`, so inside any expression `$a`
    /// always means the document the expression is evaluated on.
    package func rewritingFieldPaths(_ transform: (_ path: [String], _ base: PathBase) throws -> Expr) rethrows -> Expr {
        switch self {
        case .fieldPath(let p): return try transform(p, .current)
        case .variable("CURRENT", let p): return try transform(p, .current)
        case .variable("ROOT", let p): return try transform(p, .root)
        case .literal, .variable: return self
        default: return try mapChildren { try $0.rewritingFieldPaths(transform) }
        }
    }

    /// Replaces every reference to a variable named `name` (e.g. `$$x.a` → transform(["a"])).
    /// Scoping is respected: inside a `$let`/`$map`/`$filter`/`$reduce` that rebinds the same
    /// name, references are left alone.
    package func rewritingVariable(_ name: String, _ transform: (_ path: [String]) throws -> Expr) rethrows -> Expr {
        switch self {
        case .variable(let n, let p) where n == name: return try transform(p)
        case .literal, .variable, .fieldPath: return self
        case .op(let op, .named(let args)) where Expr.bindsVariables(op):
            let bound = Expr.boundNames(op, args)
            guard bound.contains(name) else { return try mapChildren { try $0.rewritingVariable(name, transform) } }
            // Only the binding expressions (evaluated outside the scope) are rewritten.
            let outer = Expr.outerScopeArguments(op)
            var out: [(String, Expr)] = []
            for (k, v) in args {
                if k == "vars", case .object(let vs) = v {
                    out.append((k, .object(try vs.map { ($0.0, try $0.1.rewritingVariable(name, transform)) })))
                } else if outer.contains(k) {
                    out.append((k, try v.rewritingVariable(name, transform)))
                } else {
                    out.append((k, v))
                }
            }
            return .op(op, .named(out))
        default: return try mapChildren { try $0.rewritingVariable(name, transform) }
        }
    }

    package static func bindsVariables(_ op: String) -> Bool { op == "$let" || op == "$map" || op == "$filter" || op == "$reduce" }

    static func boundNames(_ op: String, _ args: [(String, Expr)]) -> Set<String> {
        switch op {
        case "$let":
            if case .object(let vs)? = args.first(where: { $0.0 == "vars" })?.1 { return Set(vs.map(\.0)) }
            return []
        case "$map", "$filter":
            if case .literal(.string(let s))? = args.first(where: { $0.0 == "as" })?.1 { return [s] }
            return ["this"]
        case "$reduce": return ["this", "value"]
        default: return []
        }
    }

    /// Arguments evaluated in the enclosing scope.
    static func outerScopeArguments(_ op: String) -> Set<String> {
        switch op {
        case "$let": return []  // vars handled separately
        case "$map": return ["input"]
        case "$filter": return ["input", "limit"]
        case "$reduce": return ["input", "initialValue"]
        default: return []
        }
    }

    /// The paths of the current document this expression reads (`$a.b`, `$$CURRENT.a.b`,
    /// `$$ROOT.a.b`). Whole-document references are reported by `usesRoot`, not here.
    package var fieldPaths: Set<[String]> {
        var out = Set<[String]>()
        collectPaths(into: &out)
        return out
    }

    func collectPaths(into out: inout Set<[String]>) {
        switch self {
        case .fieldPath(let p): out.insert(p)
        case .variable("CURRENT", let p), .variable("ROOT", let p): if !p.isEmpty { out.insert(p) }
        case .literal, .variable: break
        default: for c in children { c.collectPaths(into: &out) }
        }
    }

    /// True when the expression uses `$$ROOT` or `$$CURRENT` as a whole (so it depends on
    /// every field of the document), including `$getField` without an `input`.
    package var usesRoot: Bool {
        switch self {
        case .variable("CURRENT", let p), .variable("ROOT", let p): return p.isEmpty
        case .literal, .variable, .fieldPath: return false
        default: return children.contains { $0.usesRoot }
        }
    }

    /// The user variables (not the builtins) the expression reads but does not bind itself.
    package var freeVariables: Set<String> {
        switch self {
        case .variable(let n, _): return OperatorTable.builtinVariables.contains(n) ? [] : [n]
        case .literal, .fieldPath: return []
        case .op(let op, .named(let args)) where Expr.bindsVariables(op):
            let bound = Expr.boundNames(op, args)
            let outer = Expr.outerScopeArguments(op)
            var out = Set<String>()
            for (k, v) in args {
                if k == "vars", case .object(let vs) = v {
                    for (_, e) in vs { out.formUnion(e.freeVariables) }
                } else if outer.contains(k) {
                    out.formUnion(v.freeVariables)
                } else {
                    out.formUnion(v.freeVariables.subtracting(bound))
                }
            }
            return out
        default:
            return children.reduce(into: Set<String>()) { $0.formUnion($1.freeVariables) }
        }
    }
}
