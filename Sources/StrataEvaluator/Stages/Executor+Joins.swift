import StrataBSON
// The operators that read other pipelines or collections: $facet, $lookup, $unionWith.

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

/// How many input documents `$lookup` answers with one batched call (`ExecutionContext.lookupBatch`).
package enum LookupBatch {
    package static let size = 256
}

final class LookupOp: Op {
    let spec: Lookup, next: Op, loc: Location, ctx: ExecutionContext
    let asPath: [String], localPath: [String]?
    /// With `ctx.lookupBatch`: input documents waiting for their batch's answers.
    var waiting: [(doc: Document, request: LookupRequest)] = []
    var stopped = false

    init(_ l: Lookup, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        spec = l; self.ctx = ctx; self.loc = loc; self.next = next
        asPath = Query.components(l.as); localPath = l.localField.map(Query.components)
    }

    override func push(_ doc: Document) throws -> Bool {
        if stopped { return false }
        let request = try request(for: doc)
        if ctx.lookupBatch != nil {
            waiting.append((doc, request))
            if waiting.count < LookupBatch.size { return true }
            return try flush()
        }
        guard let run = ctx.lookup else {
            throw StrataError.unsupported("$lookup needs a lookup function in the execution context", at: loc)
        }
        return try emit(doc, try run(request))
    }

    override func finish() throws {
        if !stopped { _ = try flush() }
        try next.finish()
    }

    /// Answers the waiting documents with one batched call; false once downstream stops.
    func flush() throws -> Bool {
        guard let batch = ctx.lookupBatch, !waiting.isEmpty else { return !stopped }
        let items = waiting
        waiting = []
        let answers = try batch(items.map(\.request))
        for (item, found) in zip(items, answers) where try !emit(item.doc, found) {
            stopped = true
            return false
        }
        return true
    }

    func emit(_ doc: Document, _ found: [Document]) throws -> Bool {
        var out = doc
        out.setValue(.array(found.map { .document($0) }), atPath: asPath[...])
        return try next.push(out)
    }

    /// What `doc` asks of the foreign collection: for `localField`/`foreignField` a
    /// `$match` on the local values first (mongod's `{foreignField: {$in: [...]}}`, a regex
    /// value matched as a value), then the user's pipeline, with the `let` variables.
    func request(for doc: Document) throws -> LookupRequest {
        var stages: [BSON] = []
        var equality: Document?
        if let localPath, let foreign = spec.foreignField {
            var values: [BSON] = []
            LookupOp.visitAllValues(localPath[...], .document(doc), &values)
            if values.isEmpty { values = [.null] }
            let regexes = values.filter { if case .regex = $0 { return true }; return false }
            let plain = values.filter { if case .regex = $0 { return false }; return true }
            var clauses: [Document] = []
            if !plain.isEmpty { clauses.append([foreign: plain.count == 1 ? ["$eq": plain[0]] : ["$in": .array(plain)]]) }
            for r in regexes { clauses.append([foreign: ["$eq": r]]) }
            let filter: Document = clauses.count == 1 ? clauses[0] : ["$or": .array(clauses.map { .document($0) })]
            equality = filter
            stages.append(["$match": .document(filter)])
        }
        if let raw = spec.pipelineBSON { stages += raw }
        var vars = Document()
        for (k, v) in ctx.variables.values { vars[k] = v }
        let ec = EvalContext(root: doc, variables: ctx.variables)
        for (k, e) in spec.letVariables {
            vars[k] = try located(loc) { try ec.eval(e) } ?? .null
        }
        return LookupRequest(from: spec.from, pipeline: stages, variables: vars, now: ctx.variables.now, equality: equality)
    }

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
