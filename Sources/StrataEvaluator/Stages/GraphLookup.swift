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

    /// What one depth level asks of `from` for one frontier (nil when there is nothing to
    /// look for) — mongod's `{$match: {$and: [restrictSearchWithMatch, {connectToField:
    /// {$in: frontier}}, ...]}}` as a request whose `equality` is the `$in` (so a batched
    /// caller may widen it over several documents' frontiers) and whose pipeline then
    /// applies the rest. `missing` says whether the frontier holds a missing value.
    package func request(frontier: [BSON], missing: Bool, variables: Document, now: Int64) -> LookupRequest? {
        if frontier.isEmpty && !missing { return nil }
        let equality: Document = [connectToField: ["$in": .array(frontier)]]
        var and: [BSON] = []
        if let restrictSearchWithMatch { and.append(.document(restrictSearchWithMatch)) }
        let matchNull = frontier.contains(.null)
        let matchUndefined = frontier.contains(.undefined)
        if matchNull || matchUndefined || missing { and.append(.document([connectToField: ["$exists": true]])) }
        if matchNull && !matchUndefined { and.append(.document([connectToField: ["$not": ["$type": "undefined"]]])) }
        if matchUndefined && !matchNull { and.append(.document([connectToField: ["$not": ["$type": "null"]]])) }
        let rest: [BSON] = and.isEmpty ? [] : [["$match": and.count == 1 ? and[0] : ["$and": .array(and)]]]
        return LookupRequest(from: from, pipeline: [["$match": .document(equality)]] + rest, variables: variables, now: now, equality: equality)
    }
}

/// One input document's breadth-first search: its frontier, what it has found, its depth.
struct GraphSearch {
    var doc: Document
    var frontier: [BSON] = []
    var frontierKeys = Set<GroupKey>()
    var missing = false
    var queried = Set<GroupKey>()
    var visitedIds = Set<GroupKey>()
    var visited: [BSON] = []
    var depth: Int64 = 0
    var done = false

    init(doc: Document, start: BSON?) {
        self.doc = doc
        if case .array(let items)? = start { items.forEach { enqueue($0) } } else { enqueue(start) }
    }

    mutating func enqueue(_ v: BSON?) {
        guard let v else { missing = true; return }
        if frontierKeys.insert(GroupKey(v)).inserted { frontier.append(v) }
    }

    /// The next level's request (nil: the search is over), and the frontier emptied for it.
    mutating func nextRequest(_ spec: GraphLookup, variables: Document, now: Int64) -> LookupRequest? {
        // values already queried only find documents already visited
        let fresh = frontier.filter { !queried.contains(GroupKey($0)) }
        for v in fresh { queried.insert(GroupKey(v)) }
        let wasMissing = missing
        missing = false
        frontier = []; frontierKeys = []
        return spec.request(frontier: fresh, missing: wasMissing, variables: variables, now: now)
    }

    /// Takes a level's documents; the search ends when nothing new was found or past `maxDepth`.
    mutating func take(_ found: [Document], _ spec: GraphLookup, fromPath: [String], depthPath: [String]?, loc: Location) throws {
        var foundNew = false
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
        depth += 1
        if !foundNew { done = true }
        if let maxDepth = spec.maxDepth, depth > maxDepth { done = true }
    }
}

/// Runs the searches of a batch of input documents level by level: each level one call of
/// the context's `lookupBatch` for every search still going (or `lookup` per search
/// without it), so a versioned `from` is read once per level of the batch.
final class GraphLookupOp: Op {
    let spec: GraphLookup, next: Op, loc: Location, ctx: ExecutionContext
    let asPath: [String], fromPath: [String], depthPath: [String]?
    var waiting: [GraphSearch] = []
    var stopped = false

    init(_ g: GraphLookup, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        spec = g; self.ctx = ctx; self.loc = loc; self.next = next
        asPath = Query.components(g.as); fromPath = Query.components(g.connectFromField)
        depthPath = g.depthField.map(Query.components)
    }

    override func push(_ doc: Document) throws -> Bool {
        if stopped { return false }
        guard ctx.lookup != nil || ctx.lookupBatch != nil else {
            throw StrataError.unsupported("$graphLookup needs a lookup function in the execution context", at: loc)
        }
        let start = try located(loc) { try EvalContext(root: doc, variables: ctx.variables).eval(spec.startWith) }
        waiting.append(GraphSearch(doc: doc, start: start))
        if ctx.lookupBatch != nil, waiting.count < LookupBatch.size { return true }
        return try flush()
    }

    override func finish() throws {
        if !stopped { _ = try flush() }
        try next.finish()
    }

    func flush() throws -> Bool {
        var searches = waiting
        waiting = []
        var vars = Document()
        for (k, v) in ctx.variables.values { vars[k] = v }
        while true {
            var asked: [(index: Int, request: LookupRequest)] = []
            for i in searches.indices where !searches[i].done {
                if let r = searches[i].nextRequest(spec, variables: vars, now: ctx.variables.now) {
                    asked.append((i, r))
                } else {
                    searches[i].done = true
                }
            }
            if asked.isEmpty { break }
            let answers: [[Document]]
            if let batch = ctx.lookupBatch {
                answers = try batch(asked.map(\.request))
            } else {
                answers = try asked.map { try ctx.lookup!($0.request) }
            }
            for (a, found) in zip(asked, answers) {
                try searches[a.index].take(found, spec, fromPath: fromPath, depthPath: depthPath, loc: loc)
            }
        }
        for search in searches {
            var out = search.doc
            out.setValue(.array(search.visited), atPath: asPath[...])
            if try !next.push(out) {
                stopped = true
                return false
            }
        }
        return true
    }
}
