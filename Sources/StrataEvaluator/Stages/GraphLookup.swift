import StrataBSON

/// `$graphLookup`: a breadth-first search of `from`, run through the execution context's
/// `lookup` function, one request per depth level (mongod's `{$match: {$and:
/// [restrictSearchWithMatch, {connectToField: {$in: frontier}}, ...]}}`).
///
/// As mongod: `startWith` (each element of an array) seeds the frontier; every found document
/// is kept once (by `_id`, which it must have), gets `depthField` (a long) when asked, and
/// contributes its `connectFromField` values (arrays traversed) to the next frontier; the
/// search stops after `maxDepth` or when a level finds nothing new. mongod returns the `as`
/// array in hash order (unspecified); strata in discovery order.
public struct GraphLookup: Sendable, Equatable {
    package var from: String
    package var startWith: Expr
    package var connectFromField: String
    package var connectToField: String
    package var `as`: String
    package var maxDepth: Int64?
    package var depthField: String?
    /// Kept as written (sent to the server); validated as a query.
    package var restrictSearchWithMatch: Document?

    package static func parse(_ v: BSON, at l: Location) throws -> GraphLookup {
        guard case .document(let d) = v else {
            throw StrataError.badInput("the $graphLookup stage specification must be an object, but found \(v.typeName)", at: l)
        }
        var from: String?, startWith: Expr?, connectFrom: String?, connectTo: String?, asField: String?
        var maxDepth: Int64?, depthField: String?, restrict: Document?
        for (k, x) in d {
            let kl = l.appending(k)
            switch k {
            case "startWith": startWith = try Expr.parse(x, at: kl)
            case "maxDepth":
                guard x.isNumber else { throw StrataError.badInput("maxDepth must be numeric, found type: \(x.typeName)", at: kl) }
                guard let n = x.exactInt else { throw StrataError.badInput("maxDepth could not be represented as a long long: \(show(x))", at: kl) }
                if n < 0 { throw StrataError.badInput("maxDepth requires a nonnegative argument, found: \(n)", at: kl) }
                maxDepth = n
            case "restrictSearchWithMatch":
                guard case .document(let q) = x else { throw StrataError.badInput("restrictSearchWithMatch must be an object, found \(x.typeName)", at: kl) }
                _ = try Query.parse(q, at: kl)
                restrict = q
            case "from", "as", "connectFromField", "connectToField", "depthField":
                if k == "from", case .document = x {
                    throw StrataError.unsupported("$graphLookup from another database is not supported by strata's evaluator", at: kl)
                }
                guard case .string(let s) = x else { throw StrataError.badInput("expected string as argument for \(k), found: \(x.typeName)", at: kl) }
                if k != "from" { try Densify.validatePath(s, at: kl) }
                switch k {
                case "from": from = s
                case "as": asField = s
                case "connectFromField": connectFrom = s
                case "connectToField": connectTo = s
                default: depthField = s
                }
            default:
                throw StrataError.badInput("Unknown argument to $graphLookup: \(k)", at: kl)
            }
        }
        guard let from, !from.isEmpty, let asField, !asField.isEmpty, let startWith, let connectFrom, !connectFrom.isEmpty,
              let connectTo, !connectTo.isEmpty else {
            throw StrataError.badInput("$graphLookup requires 'from', 'as', 'startWith', 'connectFromField', and 'connectToField' to be specified.", at: l)
        }
        return GraphLookup(from: from, startWith: startWith, connectFromField: connectFrom, connectToField: connectTo, as: asField,
                           maxDepth: maxDepth, depthField: depthField, restrictSearchWithMatch: restrict)
    }

    package var bson: Document {
        var d: Document = ["from": .string(from), "as": .string(`as`), "connectToField": .string(connectToField),
                           "connectFromField": .string(connectFromField), "startWith": startWith.bson]
        if let depthField { d["depthField"] = .string(depthField) }
        if let maxDepth { d["maxDepth"] = .int64(maxDepth) }
        if let restrictSearchWithMatch { d["restrictSearchWithMatch"] = .document(restrictSearchWithMatch) }
        return d
    }

    /// The `$match` mongod runs for one frontier (nil when there is nothing to look for).
    /// `missing` says whether the frontier holds a missing value.
    package func matchStage(frontier: [BSON], missing: Bool) -> BSON? {
        if frontier.isEmpty && !missing { return nil }
        var and: [BSON] = []
        if let restrictSearchWithMatch { and.append(.document(restrictSearchWithMatch)) }
        and.append(.document([connectToField: ["$in": .array(frontier)]]))
        let matchNull = frontier.contains(.null)
        let matchUndefined = frontier.contains(.undefined)
        if matchNull || matchUndefined || missing { and.append(.document([connectToField: ["$exists": true]])) }
        if matchNull && !matchUndefined { and.append(.document([connectToField: ["$not": ["$type": "undefined"]]])) }
        if matchUndefined && !matchNull { and.append(.document([connectToField: ["$not": ["$type": "null"]]])) }
        return ["$match": ["$and": .array(and)]]
    }
}

final class GraphLookupOp: Op {
    let spec: GraphLookup, next: Op, loc: Location, ctx: ExecutionContext
    let asPath: [String], fromPath: [String], depthPath: [String]?

    init(_ g: GraphLookup, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        spec = g; self.ctx = ctx; self.loc = loc; self.next = next
        asPath = Query.components(g.as); fromPath = Query.components(g.connectFromField)
        depthPath = g.depthField.map(Query.components)
    }

    override func push(_ doc: Document) throws -> Bool {
        guard let run = ctx.lookup else {
            throw StrataError.unsupported("$graphLookup needs a lookup function in the execution context", at: loc)
        }
        var vars = Document()
        for (k, v) in ctx.variables.values { vars[k] = v }
        let start = try located(loc) { try EvalContext(root: doc, variables: ctx.variables).eval(spec.startWith) }
        var frontier: [BSON] = []
        var frontierKeys = Set<GroupKey>()
        var missing = false
        func enqueue(_ v: BSON?) {
            guard let v else { missing = true; return }
            if frontierKeys.insert(GroupKey(v)).inserted { frontier.append(v) }
        }
        if case .array(let items)? = start { items.forEach { enqueue($0) } } else { enqueue(start) }
        var queried = Set<GroupKey>()
        var visitedIds = Set<GroupKey>()
        var visited: [BSON] = []
        var depth: Int64 = 0
        while true {
            // values already queried only find documents already visited
            let fresh = frontier.filter { !queried.contains(GroupKey($0)) }
            for v in fresh { queried.insert(GroupKey(v)) }
            var foundNew = false
            let nextMissing = missing
            missing = false
            let nextFrontier = fresh
            frontier = []; frontierKeys = []
            if let match = spec.matchStage(frontier: nextFrontier, missing: nextMissing) {
                let found = try run(LookupRequest(from: spec.from, pipeline: [match], variables: vars, now: ctx.variables.now))
                for var d in found {
                    guard let id = d["_id"] else {
                        throw StrataError.evaluation("Documents in the '\(spec.from)' namespace must contain an _id for de-duplication in $graphLookup", at: loc)
                    }
                    guard visitedIds.insert(GroupKey(id)).inserted else { continue }
                    foundNew = true
                    if let depthPath { d.setValue(.int64(depth), atPath: depthPath[...]) }
                    var values: [BSON] = []
                    LookupOp.visitAllValues(fromPath[...], .document(d), &values)
                    values.forEach { enqueue($0) }
                    visited.append(.document(d))
                }
            }
            depth += 1
            if !foundNew { break }
            if let maxDepth = spec.maxDepth, depth > maxDepth { break }
        }
        var out = doc
        out.setValue(.array(visited), atPath: asPath[...])
        return try next.push(out)
    }

    override func finish() throws { try next.finish() }
}
