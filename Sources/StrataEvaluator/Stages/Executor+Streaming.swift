import StrataBSON
import StrataLibBSON
// The operators that pass documents through one at a time: $match, $project, $replaceRoot, $skip, $limit, $unwind, $redact.

final class MatchOp: Op {
    let query: Query, next: Op, loc: Location, matcher: QueryMatcher
    init(_ q: Query, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        query = q; self.next = next; self.loc = loc; matcher = QueryMatcher(variables: ctx.variables)
    }
    override func push(_ doc: Document) throws -> Bool {
        if try located(loc, { try matcher.matches(query, doc) }) { return try next.push(doc) }
        return true
    }
    override func finish() throws { try next.finish() }
}

final class ProjectOp: Op {
    let projection: Projection, next: Op, loc: Location, vars: Variables
    init(_ p: Projection, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        projection = p; self.next = next; self.loc = loc; vars = ctx.variables
    }
    override func push(_ doc: Document) throws -> Bool {
        let out = try located(loc) { try projection.apply(to: doc, variables: vars) }
        return try next.push(out)
    }
    override func finish() throws { try next.finish() }
}

final class ReplaceRootOp: Op {
    let expr: Expr, next: Op, loc: Location, vars: Variables, name: String
    init(_ e: Expr, name: String, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        expr = e; self.name = name; self.next = next; self.loc = loc; vars = ctx.variables
    }
    override func push(_ doc: Document) throws -> Bool {
        let v = try located(loc) { try EvalContext(root: doc, variables: vars).eval(expr) }
        guard case .document(let d)? = v else {
            throw StrataError.evaluation("'newRoot' expression must evaluate to an object, but resulting value was: \(show(v)). Type of resulting value: '\(typeName(v))'. Input document: \(ExtendedJSON.string(doc))", at: loc)
        }
        return try next.push(d)
    }
    override func finish() throws { try next.finish() }
}

final class SkipOp: Op {
    var remaining: Int64
    let next: Op
    init(_ n: Int64, _ next: Op) { remaining = n; self.next = next }
    override func push(_ doc: Document) throws -> Bool {
        if remaining > 0 { remaining -= 1; return true }
        return try next.push(doc)
    }
    override func finish() throws { try next.finish() }
}

final class LimitOp: Op {
    var remaining: Int64
    let next: Op
    init(_ n: Int64, _ next: Op) { remaining = n; self.next = next }
    override func push(_ doc: Document) throws -> Bool {
        if remaining <= 0 { return false }
        remaining -= 1
        let more = try next.push(doc)
        return more && remaining > 0
    }
    override func finish() throws { try next.finish() }
}

final class UnwindOp: Op {
    let spec: Unwind, path: [String], indexPath: [String]?, next: Op
    init(_ u: Unwind, _ next: Op) {
        spec = u; path = Query.components(u.path); indexPath = u.includeArrayIndex.map(Query.components); self.next = next
    }
    override func push(_ doc: Document) throws -> Bool {
        let v = doc.value(atPath: path)
        switch v {
        case .array(let items) where !items.isEmpty:
            for (i, x) in items.enumerated() {
                var out = doc
                out.setValue(x, atPath: path[...])
                if let indexPath { out.setValue(.int64(Int64(i)), atPath: indexPath[...]) }
                if try !next.push(out) { return false }
            }
            return true
        case .array:  // empty
            guard spec.preserveNullAndEmptyArrays else { return true }
            var out = doc
            out.setValue(nil, atPath: path[...])
            if let indexPath { out.setValue(.null, atPath: indexPath[...]) }
            return try next.push(out)
        case nil, .null?, .undefined?:
            guard spec.preserveNullAndEmptyArrays else { return true }
            var out = doc
            if let indexPath { out.setValue(.null, atPath: indexPath[...]) }
            return try next.push(out)
        default:
            var out = doc
            if let indexPath { out.setValue(.null, atPath: indexPath[...]) }
            return try next.push(out)
        }
    }
    override func finish() throws { try next.finish() }
}

final class RedactOp: Op {
    let expr: Expr, next: Op, loc: Location, ctx: ExecutionContext
    init(_ e: Expr, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) { expr = e; self.ctx = ctx; self.loc = loc; self.next = next }
    override func push(_ doc: Document) throws -> Bool {
        guard let out = try located(loc, { try redact(doc, root: doc) }) else { return true }
        return try next.push(out)
    }
    func decide(_ current: Document, root: Document) throws -> String {
        let ec = EvalContext(root: root, variables: ctx.variables)
        ec.current = .document(current)
        ec.vars["DESCEND"] = .some("descend"); ec.vars["PRUNE"] = .some("prune"); ec.vars["KEEP"] = .some("keep")
        let v = try ec.eval(expr)
        guard case .string(let s)? = v, ["descend", "prune", "keep"].contains(s) else {
            throw StrataError.evaluation("$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned \(show(v))")
        }
        return s
    }
    func redact(_ d: Document, root: Document) throws -> Document? {
        switch try decide(d, root: root) {
        case "keep": return d
        case "prune": return nil
        default:
            var out = Document()
            for (k, v) in d {
                switch v {
                case .document(let sub):
                    if let r = try redact(sub, root: root) { out.append(k, .document(r)) }
                case .array(let items):
                    var kept: [BSON] = []
                    for x in items {
                        if case .document(let sub) = x {
                            if let r = try redact(sub, root: root) { kept.append(.document(r)) }
                        } else { kept.append(x) }
                    }
                    out.append(k, .array(kept))
                default: out.append(k, v)
                }
            }
            return out
        }
    }
    override func finish() throws { try next.finish() }
}
