import StrataBSON
import StrataLibBSON

/// What `$lookup` asks its caller to run on the foreign collection.
public struct LookupRequest: Sendable {
    /// The foreign collection (nil when the sub-pipeline starts with `$documents`).
    public var from: String?
    /// The pipeline to run: for `localField`/`foreignField` a leading `$match` on the local
    /// values (mongod's `{foreignField: {$in: [...]}}`; null when the local path is missing),
    /// then the user's `pipeline`, if any.
    public var pipeline: [BSON]
    /// Variables the pipeline may read: the `$lookup`'s `let` (evaluated on the input document)
    /// and the outer user variables. Pass them as the aggregate command's `let` option.
    public var variables: Document
    /// `$$NOW` of the outer pipeline (milliseconds since the epoch).
    public var now: Int64
}

/// Everything the executor needs from outside: variables, and I/O for `$lookup`/`$unionWith`.
public struct ExecutionContext: Sendable {
    public var variables: Variables
    public var lookup: (@Sendable (LookupRequest) throws -> [Document])?
    /// `(collection, pipeline)`: the documents `$unionWith` adds.
    public var unionWith: (@Sendable (String?, [BSON]) throws -> [Document])?

    public init(variables: Variables = Variables(),
                lookup: (@Sendable (LookupRequest) throws -> [Document])? = nil,
                unionWith: (@Sendable (String?, [BSON]) throws -> [Document])? = nil) {
        self.variables = variables; self.lookup = lookup; self.unionWith = unionWith
    }
}

/// Runs a parsed pipeline in Swift, push-based: memory grows with what the blocking stages
/// must keep (groups, sort buffers, the top k of a `$sort`+`$limit`), not with the input.
///
/// Differences from the server, all loud or documented: `$group`, `$bucket` and
/// `$bucketAuto` emit groups in order of first appearance (mongod: unspecified); `$sort`
/// is stable; `$addToSet` keeps first-appearance order.
public struct PipelineExecutor: Sendable {
    public let pipeline: Pipeline
    public let context: ExecutionContext
    public let location: Location

    public init(_ pipeline: Pipeline, context: ExecutionContext = ExecutionContext(), location: Location = Location(path: "pipeline")) {
        self.pipeline = pipeline; self.context = context; self.location = location
    }

    /// Runs over a sequence of input documents and returns the output.
    public func run<S: Sequence>(_ input: S) throws -> [Document] where S.Element == Document {
        var out: [Document] = []
        let stream = try makeStream { out.append($0); return true }
        for d in input { if try !stream.push(d) { break } }
        try stream.finish()
        return out
    }

    /// A stream: `push` documents (it returns false when no more input is wanted, e.g. after a
    /// `$limit`), then `finish`. `output` receives the results as they come and returns false
    /// to stop.
    public func makeStream(output: @escaping (Document) throws -> Bool) throws -> PipelineStream {
        let sink = SinkOp(output)
        let head = try Builder(context: context).build(pipeline.stages[...], location: location, next: sink, indexBase: 0)
        var leading: Expr?
        if case .documents(let e)? = pipeline.stages.first { leading = e }
        return PipelineStream(head: head, documentsStage: leading, context: context)
    }
}

/// A running pipeline (not thread-safe; use from one thread).
public final class PipelineStream {
    let head: Op
    let documentsStage: Expr?
    let context: ExecutionContext
    var done = false

    init(head: Op, documentsStage: Expr?, context: ExecutionContext) {
        self.head = head; self.documentsStage = documentsStage; self.context = context
    }

    /// Pushes one document; false once no more input is wanted.
    public func push(_ doc: Document) throws -> Bool {
        if done { return false }
        if documentsStage != nil { return false }  // $documents ignores the input
        let more = try head.push(doc)
        if !more { done = true }
        return more
    }

    /// Ends the input and flushes the blocking stages.
    public func finish() throws {
        if let e = documentsStage {
            let v = try EvalContext(root: [:], variables: context.variables).eval(e)
            guard case .array(let items)? = v else {
                throw StrataError.evaluation("error during evaluation of $documents: the expression must evaluate to an array, not \(typeName(v))")
            }
            for x in items {
                guard case .document(let d) = x else { throw StrataError.evaluation("$documents: every element must be an object, not \(x.typeName)") }
                if try !head.push(d) { break }
            }
        }
        try head.finish()
    }
}

// MARK: - operators

class Op {
    /// Returns false when no more input is wanted.
    func push(_ doc: Document) throws -> Bool { fatalError("abstract") }
    func finish() throws {}
}

final class SinkOp: Op {
    let output: (Document) throws -> Bool
    init(_ output: @escaping (Document) throws -> Bool) { self.output = output }
    override func push(_ doc: Document) throws -> Bool { try output(doc) }
}

/// Adds the stage's place to errors that have none.
@inline(__always)
func located<T>(_ loc: Location, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as StrataError where e.location == nil {
        throw StrataError(e.kind, e.message, at: loc)
    }
}

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

final class SortOp: Op {
    let pattern: SortPattern, next: Op, loc: Location
    var buffer: [(key: [BSON], doc: Document)] = []
    init(_ p: SortPattern, _ loc: Location, _ next: Op) { pattern = p; self.loc = loc; self.next = next }
    override func push(_ doc: Document) throws -> Bool {
        let key = try located(loc) { try pattern.key(.document(doc)) }
        buffer.append((key, doc))
        return true
    }
    override func finish() throws {
        let indexed = buffer.enumerated().map { ($0.offset, $0.element) }
        buffer = []
        let sorted = indexed.sorted { a, b in
            let c = pattern.compare(a.1.key, b.1.key)
            return c != 0 ? c < 0 : a.0 < b.0
        }
        for (_, e) in sorted { if try !next.push(e.doc) { break } }
        try next.finish()
    }
}

/// `$sort` followed by `$limit k` (and possibly `$skip`): keeps only the first k in sort
/// order (ties in input order, as the stable sort would).
final class TopKOp: Op {
    let pattern: SortPattern, k: Int, next: Op, loc: Location
    var kept: [(key: [BSON], seq: Int, doc: Document)] = []
    var seq = 0
    init(_ p: SortPattern, k: Int, _ loc: Location, _ next: Op) { pattern = p; self.k = k; self.loc = loc; self.next = next }
    override func push(_ doc: Document) throws -> Bool {
        let key = try located(loc) { try pattern.key(.document(doc)) }
        seq += 1
        if kept.count == k, pattern.compare(key, kept[kept.count - 1].key) >= 0 { return true }
        var lo = 0, hi = kept.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pattern.compare(kept[mid].key, key) <= 0 { lo = mid + 1 } else { hi = mid }
        }
        kept.insert((key, seq, doc), at: lo)
        if kept.count > k { kept.removeLast() }
        return true
    }
    override func finish() throws {
        for e in kept { if try !next.push(e.doc) { break } }
        kept = []
        try next.finish()
    }
}

/// Accumulator state for one group.
struct GroupState {
    var id: BSON?
    var accs: [any Accumulator]
}

final class GroupOp: Op {
    let group: Group, next: Op, loc: Location, ctx: ExecutionContext
    var groups: [GroupKey: Int] = [:]
    var states: [GroupState] = []
    let multiFieldId: [(String, Expr)]?

    init(_ g: Group, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        group = g; self.ctx = ctx; self.loc = loc; self.next = next
        if case .object(let fields) = g.id, fields.count > 1 { multiFieldId = fields } else { multiFieldId = nil }
    }

    override func push(_ doc: Document) throws -> Bool {
        try located(loc) {
            let ec = EvalContext(root: doc, variables: ctx.variables)
            let key: GroupKey
            let idValue: BSON?
            if let fields = multiFieldId {
                // mongod keeps missing distinct from null and omits missing fields from _id
                var parts: [BSON] = []
                var out = Document()
                for (k, e) in fields {
                    let v = try ec.eval(e)
                    parts.append(v ?? .undefined)
                    if let v { out.append(k, v) }
                }
                key = GroupKey(.array(parts))
                idValue = .document(out)
            } else if case .object(let fields) = group.id, fields.count == 1 {
                let v = try ec.eval(fields[0].1) ?? .null
                key = GroupKey(v)
                idValue = .document(Document([(fields[0].0, v)]))
            } else {
                let v = try ec.eval(group.id) ?? .null
                key = GroupKey(v)
                idValue = v
            }
            let index: Int
            if let i = groups[key] { index = i } else {
                index = states.count
                groups[key] = index
                states.append(GroupState(id: idValue, accs: try group.accumulators.map {
                    try $0.1.makeAccumulator(groupId: idValue, variables: ctx.variables)
                }))
            }
            for (j, (_, spec)) in group.accumulators.enumerated() {
                try states[index].accs[j].accumulate(try spec.input(ec))
            }
        }
        return true
    }

    override func finish() throws {
        for s in states {
            var d = Document()
            d.append("_id", s.id ?? .null)
            for (j, (name, _)) in group.accumulators.enumerated() {
                d.append(name, try located(loc) { try s.accs[j].finalize() } ?? .null)
            }
            if try !next.push(d) { break }
        }
        states = []
        groups = [:]
        try next.finish()
    }
}

final class CountOp: Op {
    let field: String, next: Op
    var n: Int64 = 0
    init(_ f: String, _ next: Op) { field = f; self.next = next }
    override func push(_ doc: Document) throws -> Bool { n += 1; return true }
    override func finish() throws {
        // mongod: no document at all for an empty input (SecantusDB returns {field: 0})
        if n > 0 { _ = try next.push(Document([(field, Numeric.intOrLong(n))])) }
        try next.finish()
    }
}

final class BucketOp: Op {
    let spec: Bucket, group: GroupOp, loc: Location, ctx: ExecutionContext
    var buffered: [Document] = []
    init(_ b: Bucket, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        spec = b; self.ctx = ctx; self.loc = loc
        // group by the bucket's lower boundary (or the default), then sort by _id
        let sort = SortOp(SortPattern(components: [.init(path: ["_id"], ascending: true)]), loc, next)
        // the group's _id expression is unused: documents are assigned to buckets here
        group = GroupOp(Group(id: .literal(.null), accumulators: b.effectiveOutput), ctx, loc, sort)
    }
    override func push(_ doc: Document) throws -> Bool {
        let v = try located(loc) { try EvalContext(root: doc, variables: ctx.variables).eval(spec.groupBy) }
        var id: BSON?
        for i in 0..<(spec.boundaries.count - 1) {
            if BSONOrder.compare(v, spec.boundaries[i]) >= 0 && BSONOrder.compare(v, spec.boundaries[i + 1]) < 0 {
                id = spec.boundaries[i]; break
            }
        }
        if id == nil { id = spec.defaultBucket }
        guard let id else {
            throw StrataError.evaluation("$switch could not find a matching branch for an input, and no default was specified.", at: loc)
        }
        return try groupPush(doc, bucketId: id)
    }
    func groupPush(_ doc: Document, bucketId: BSON) throws -> Bool {
        try located(loc) {
            let ec = EvalContext(root: doc, variables: ctx.variables)
            let key = GroupKey(bucketId)
            let index: Int
            if let i = group.groups[key] { index = i } else {
                index = group.states.count
                group.groups[key] = index
                group.states.append(GroupState(id: bucketId, accs: try spec.effectiveOutput.map {
                    try $0.1.makeAccumulator(groupId: bucketId, variables: ctx.variables)
                }))
            }
            for (j, (_, a)) in spec.effectiveOutput.enumerated() {
                try group.states[index].accs[j].accumulate(try a.input(ec))
            }
        }
        return true
    }
    override func finish() throws { try group.finish() }
}

final class BucketAutoOp: Op {
    let spec: BucketAuto, next: Op, loc: Location, ctx: ExecutionContext
    let rounder: GranularityRounder?
    var entries: [(key: BSON, pos: Int, doc: Document)] = []
    init(_ b: BucketAuto, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        spec = b; self.ctx = ctx; self.loc = loc; self.next = next
        rounder = b.granularity.flatMap(GranularityRounder.init)
    }
    override func push(_ doc: Document) throws -> Bool {
        let v = try located(loc) { try EvalContext(root: doc, variables: ctx.variables).eval(spec.groupBy) } ?? .null
        if rounder != nil {
            guard v.isNumber else {
                throw StrataError.evaluation("$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a value with type: \(v.typeName)", at: loc)
            }
            if v.doubleValue!.isNaN {
                throw StrataError.evaluation("$bucketAuto can specify a 'granularity' with numeric boundaries only, but found a value that is NaN", at: loc)
            }
            if v.doubleValue! < 0 {
                throw StrataError.evaluation("$bucketAuto can specify a 'granularity' with non-negative numbers only, but found a negative value", at: loc)
            }
        }
        entries.append((v, entries.count, doc))
        return true
    }
    /// mongod's BucketAutoStage: buckets of about n/buckets documents in groupBy order, equal
    /// values kept together, each max the next bucket's min; with a granularity the max is
    /// rounded up (absorbing the values below it) and the first min rounded down.
    override func finish() throws {
        let sorted = entries.sorted { a, b in
            let c = BSONOrder.compare(a.key, b.key)
            return c != 0 ? c < 0 : a.pos < b.pos
        }
        entries = []
        let n = sorted.count
        let nBuckets = spec.buckets
        var approx = Int((Double(n) / Double(nBuckets)).rounded(.toNearestOrAwayFromZero))
        if approx < 1 { approx = 1 }
        var i = 0
        var bucketNum = 0
        var previousMax: BSON?
        let outputs = spec.effectiveOutput
        let positional: Set<String> = ["$first", "$last", "$firstN", "$lastN"]
        while i < n && bucketNum < nBuckets {
            bucketNum += 1
            let isLast = bucketNum == nBuckets
            var members = [sorted[i]]
            var minKey = sorted[i].key
            if let rounder { minKey = try located(loc) { try previousMax ?? rounder.roundDown(sorted[i].key) } }
            i += 1
            while i < n && (members.count < approx || isLast) { members.append(sorted[i]); i += 1 }
            var maxKey = members.last!.key
            if let rounder {
                let boundary = try located(loc) { try rounder.roundUp(maxKey) }
                while i < n && (BSONOrder.compare(boundary, sorted[i].key) > 0 || BSONOrder.compare(maxKey, sorted[i].key) == 0) {
                    members.append(sorted[i]); maxKey = sorted[i].key; i += 1
                }
                if boundary.doubleValue == 0 && i < n {
                    maxKey = try located(loc) { try rounder.roundDown(sorted[i].key) }
                } else {
                    maxKey = boundary
                }
            } else {
                // absorb values equal to the boundary
                while i < n && BSONOrder.compare(sorted[i].key, maxKey) == 0 { members.append(sorted[i]); i += 1 }
                if i < n { maxKey = sorted[i].key }
            }
            previousMax = maxKey
            var d = Document()
            d.append("_id", .document(["min": minKey, "max": maxKey]))
            let byPosition = members.sorted { $0.pos < $1.pos }
            for (name, a) in outputs {
                var acc = try located(loc) { try a.makeAccumulator(groupId: nil, variables: ctx.variables) }
                for m in positional.contains(a.op) ? byPosition : members {
                    try located(loc) { try acc.accumulate(try a.input(EvalContext(root: m.doc, variables: ctx.variables))) }
                }
                d.append(name, try located(loc) { try acc.finalize() } ?? .null)
            }
            if try !next.push(d) { break }
        }
        try next.finish()
    }
}

final class FacetOp: Op {
    final class ResultsBox { var results: [[Document]]; init(count: Int) { results = .init(repeating: [], count: count) } }
    let names: [String], streams: [PipelineStream], next: Op, box: ResultsBox
    var open: [Bool]
    init(_ f: Facet, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) throws {
        names = f.pipelines.map(\.0)
        let box = ResultsBox(count: f.pipelines.count)
        var streams: [PipelineStream] = []
        for (i, (name, p)) in f.pipelines.enumerated() {
            let ex = PipelineExecutor(p, context: ctx, location: loc.appending(name))
            streams.append(try ex.makeStream { box.results[i].append($0); return true })
        }
        self.box = box
        self.streams = streams
        self.next = next
        open = [Bool](repeating: true, count: f.pipelines.count)
    }
    override func push(_ doc: Document) throws -> Bool {
        for (i, s) in streams.enumerated() where open[i] { open[i] = try s.push(doc) }
        return true
    }
    override func finish() throws {
        for s in streams { try s.finish() }
        var d = Document()
        for (i, n) in names.enumerated() { d.append(n, .array(box.results[i].map { .document($0) })) }
        _ = try next.push(d)
        try next.finish()
    }
}

final class LookupOp: Op {
    let spec: Lookup, next: Op, loc: Location, ctx: ExecutionContext
    let asPath: [String], localPath: [String]?
    init(_ l: Lookup, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        spec = l; self.ctx = ctx; self.loc = loc; self.next = next
        asPath = Query.components(l.as); localPath = l.localField.map(Query.components)
    }
    override func push(_ doc: Document) throws -> Bool {
        guard let run = ctx.lookup else {
            throw StrataError.unsupported("$lookup needs a lookup function in the execution context", at: loc)
        }
        var stages: [BSON] = []
        if let localPath, let foreign = spec.foreignField {
            var values: [BSON] = []
            LookupOp.visitAllValues(localPath[...], .document(doc), &values)
            if values.isEmpty { values = [.null] }
            let regexes = values.filter { if case .regex = $0 { return true }; return false }
            let plain = values.filter { if case .regex = $0 { return false }; return true }
            var clauses: [BSON] = []
            if !plain.isEmpty { clauses.append(.document([foreign: plain.count == 1 ? ["$eq": plain[0]] : ["$in": .array(plain)]])) }
            for r in regexes { clauses.append(.document([foreign: ["$eq": r]])) }
            stages.append(["$match": clauses.count == 1 ? clauses[0] : ["$or": .array(clauses)]])
        }
        if let raw = spec.pipelineBSON { stages += raw }
        var vars = Document()
        for (k, v) in ctx.variables.values { vars[k] = v }
        let ec = EvalContext(root: doc, variables: ctx.variables)
        for (k, e) in spec.letVariables {
            vars[k] = try located(loc) { try ec.eval(e) } ?? .null
        }
        let found = try run(LookupRequest(from: spec.from, pipeline: stages, variables: vars, now: ctx.variables.now))
        var out = doc
        out.setValue(.array(found.map { .document($0) }), atPath: asPath[...])
        return try next.push(out)
    }
    override func finish() throws { try next.finish() }

    /// mongod's document_path_support::visitAllValuesAtPath: arrays along the path are
    /// traversed, a leaf array contributes its elements.
    static func visitAllValues(_ path: ArraySlice<String>, _ v: BSON, _ out: inout [BSON]) {
        guard let first = path.first else {
            if case .array(let items) = v { out += items } else { out.append(v) }
            return
        }
        switch v {
        case .document(let d):
            if let x = d[first] { visitAllValues(path.dropFirst(), x, &out) }
        case .array(let items):
            for x in items { visitAllValues(path, x, &out) }
        default: return
        }
    }
}

final class UnionWithOp: Op {
    let spec: UnionWith, next: Op, loc: Location, ctx: ExecutionContext
    var stopped = false
    init(_ u: UnionWith, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) { spec = u; self.ctx = ctx; self.loc = loc; self.next = next }
    override func push(_ doc: Document) throws -> Bool {
        let more = try next.push(doc)
        if !more { stopped = true }
        return more
    }
    override func finish() throws {
        if !stopped {
            guard let run = ctx.unionWith else {
                throw StrataError.unsupported("$unionWith needs a unionWith function in the execution context", at: loc)
            }
            for d in try run(spec.coll, spec.pipeline?.bson ?? []) { if try !next.push(d) { break } }
        }
        try next.finish()
    }
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

/// Builds the operator chain, fusing `$sort`+`$limit` (and `$sort`+`$skip`+`$limit`).
struct Builder {
    let context: ExecutionContext

    func build(_ stages: ArraySlice<Stage>, location: Location, next: Op, indexBase: Int) throws -> Op {
        var ops: [(Stage, Location, Int)] = []
        var i = stages.startIndex
        while i < stages.endIndex {
            ops.append((stages[i], location.appending(index: indexBase + i - stages.startIndex), i))
            i += 1
        }
        var downstream = next
        var j = ops.count - 1
        while j >= 0 {
            let (stage, loc, _) = ops[j]
            // fuse sort + [skip] + limit, looking at the already-built downstream stages
            if case .limit(let k) = stage, j >= 1 {
                if case .sort(let p) = ops[j - 1].0 {
                    downstream = LimitOp(k, downstream)
                    downstream = TopKOp(p, k: Int(clamping: k), ops[j - 1].1, downstream)
                    j -= 2
                    continue
                }
                if case .skip(let s) = ops[j - 1].0, j >= 2, case .sort(let p) = ops[j - 2].0 {
                    downstream = LimitOp(k, downstream)
                    downstream = SkipOp(s, downstream)
                    downstream = TopKOp(p, k: Int(clamping: s &+ k), ops[j - 2].1, downstream)
                    j -= 3
                    continue
                }
            }
            downstream = try op(stage, loc, downstream)
            j -= 1
        }
        return downstream
    }

    func op(_ s: Stage, _ loc: Location, _ next: Op) throws -> Op {
        switch s {
        case .match(let q): return MatchOp(q, context, loc, next)
        case .project(let p), .addFields(let p, _), .unset(let p): return ProjectOp(p, context, loc, next)
        case .replaceRoot(let e, let n): return ReplaceRootOp(e, name: n, context, loc, next)
        case .unwind(let u): return UnwindOp(u, next)
        case .group(let g): return GroupOp(g, context, loc, next)
        case .sort(let p): return SortOp(p, loc, next)
        case .skip(let n): return SkipOp(n, next)
        case .limit(let n): return LimitOp(n, next)
        case .count(let f): return CountOp(f, next)
        case .sortByCount(let e):
            let sort = SortOp(SortPattern(components: [.init(path: ["count"], ascending: false)]), loc, next)
            return GroupOp(Group(id: e, accumulators: [("count", AccumulatorSpec(op: "$sum", argument: .literal(.int32(1))))]), context, loc, sort)
        case .bucket(let b): return BucketOp(b, context, loc, next)
        case .bucketAuto(let b): return BucketAutoOp(b, context, loc, next)
        case .facet(let f): return try FacetOp(f, context, loc, next)
        case .lookup(let l): return LookupOp(l, context, loc, next)
        case .unionWith(let u): return UnionWithOp(u, context, loc, next)
        case .redact(let e): return RedactOp(e, context, loc, next)
        case .documents: return PassOp(next)
        case .setWindowFields(let w): return SetWindowFieldsOp(w, context, loc, next)
        case .densify(let d): return SortOp(d.sortPattern, loc, DensifyOp(d, context, loc, next))
        case .graphLookup(let g): return GraphLookupOp(g, context, loc, next)
        case .fill(let f):
            var op: Op = next
            if let p = f.addFields { op = ProjectOp(p, context, loc, op) }
            if let w = f.windowFields { op = SetWindowFieldsOp(w, context, loc, op) }
            return op
        }
    }
}

final class PassOp: Op {
    let next: Op
    init(_ next: Op) { self.next = next }
    override func push(_ doc: Document) throws -> Bool { try next.push(doc) }
    override func finish() throws { try next.finish() }
}
