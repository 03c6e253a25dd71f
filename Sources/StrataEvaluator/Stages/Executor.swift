import StrataBSON
import StrataLibBSON

/// What `$lookup` asks its caller to run on the foreign collection.
package struct LookupRequest: Sendable {
    /// The foreign collection (nil when the sub-pipeline starts with `$documents`).
    package var from: String?
    /// The pipeline to run: for `localField`/`foreignField` a leading `$match` on the local
    /// values (mongod's `{foreignField: {$in: [...]}}`; null when the local path is missing),
    /// then the user's `pipeline`, if any.
    package var pipeline: [BSON]
    /// Variables the pipeline may read: the `$lookup`'s `let` (evaluated on the input document)
    /// and the outer user variables. Pass them as the aggregate command's `let` option.
    package var variables: Document
    /// `$$NOW` of the outer pipeline (milliseconds since the epoch).
    package var now: Int64
    /// For `localField`/`foreignField`: the filter of the pipeline's first stage (the
    /// equality on the local values), which a batched caller may widen to a batch's values
    /// and then apply per request; nil for the pipeline form.
    package var equality: Document? = nil

    package init(from: String?, pipeline: [BSON], variables: Document, now: Int64, equality: Document? = nil) {
        self.from = from; self.pipeline = pipeline; self.variables = variables; self.now = now; self.equality = equality
    }

    /// The user's sub-pipeline: `pipeline` after the equality stage.
    package var subPipeline: ArraySlice<BSON> { equality == nil ? pipeline[...] : pipeline.dropFirst() }
}

/// Everything the executor needs from outside: variables, and I/O for `$lookup`/`$unionWith`.
package struct ExecutionContext: Sendable {
    package var variables: Variables
    package var lookup: (@Sendable (LookupRequest) throws -> [Document])?
    /// `(collection, pipeline)`: the documents `$unionWith` adds.
    package var unionWith: (@Sendable (String?, [BSON]) throws -> [Document])?
    /// Answers a batch of `$lookup` requests at once (one per input document, in order),
    /// each answer what `lookup` would give: `$lookup` then asks once per batch of input
    /// documents instead of once per document.
    package var lookupBatch: (@Sendable ([LookupRequest]) throws -> [[Document]])?
    /// Seeds `$sample` (with the stage's place): the same choice every run; nil: the
    /// system's random numbers.
    package var sampleSeed: UInt64?
    /// What the query's blocking operators may hold before they spill to disk (nil: no limit).
    package var memory: MemoryBudget?

    package init(variables: Variables = Variables(),
                lookup: (@Sendable (LookupRequest) throws -> [Document])? = nil,
                unionWith: (@Sendable (String?, [BSON]) throws -> [Document])? = nil,
                lookupBatch: (@Sendable ([LookupRequest]) throws -> [[Document]])? = nil,
                sampleSeed: UInt64? = nil) {
        self.variables = variables; self.lookup = lookup; self.unionWith = unionWith; self.lookupBatch = lookupBatch
        self.sampleSeed = sampleSeed
    }
}

/// Runs a parsed pipeline in Swift, push-based: memory grows with what the blocking stages
/// must keep (groups, sort buffers, the top k of a `$sort`+`$limit`), not with the input.
///
/// Differences from the server, all loud or documented: `$group`, `$bucket` and
/// `$bucketAuto` emit groups in order of first appearance (mongod: unspecified); `$sort`
/// is stable; `$addToSet` keeps first-appearance order.
package struct PipelineExecutor: Sendable {
    package let pipeline: Pipeline
    package let context: ExecutionContext
    package let location: Location

    package init(_ pipeline: Pipeline, context: ExecutionContext = ExecutionContext(), location: Location = Location(path: "pipeline")) {
        self.pipeline = pipeline; self.context = context; self.location = location
    }

    /// Runs over a sequence of input documents and returns the output.
    package func run<S: Sequence>(_ input: S) throws -> [Document] where S.Element == Document {
        var out: [Document] = []
        let stream = try makeStream { out.append($0); return true }
        for d in input { if try !stream.push(d) { break } }
        try stream.finish()
        return out
    }

    /// A stream: `push` documents (it returns false when no more input is wanted, e.g. after a
    /// `$limit`), then `finish`. `output` receives the results as they come and returns false
    /// to stop.
    package func makeStream(output: @escaping (Document) throws -> Bool) throws -> PipelineStream {
        let sink = SinkOp(output)
        let head = try Builder(context: context).build(pipeline.stages[...], location: location, next: sink, indexBase: 0)
        var leading: Expr?
        if case .documents(let e)? = pipeline.stages.first { leading = e }
        return PipelineStream(head: head, documentsStage: leading, context: context)
    }
}

/// A running pipeline (not thread-safe; use from one thread).
package final class PipelineStream {
    let head: Op
    let documentsStage: Expr?
    let context: ExecutionContext
    var done = false

    init(head: Op, documentsStage: Expr?, context: ExecutionContext) {
        self.head = head; self.documentsStage = documentsStage; self.context = context
    }

    /// Pushes one document; false once no more input is wanted.
    package func push(_ doc: Document) throws -> Bool {
        if done { return false }
        if documentsStage != nil { return false }  // $documents ignores the input
        let more = try head.push(doc)
        if !more { done = true }
        return more
    }

    /// Ends the input and flushes the blocking stages.
    package func finish() throws {
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
        case .sort(let p): return SortOp(p, loc, next, budget: context.memory)
        case .skip(let n): return SkipOp(n, next)
        case .limit(let n): return LimitOp(n, next)
        case .count(let f): return CountOp(f, next)
        case .sortByCount(let e):
            let sort = SortOp(SortPattern(components: [.init(path: ["count"], ascending: false)]), loc, next, budget: context.memory)
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
        case .sample(let n): return SampleOp(n, context, loc, next)
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
