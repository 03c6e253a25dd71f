import StrataBSON
// The grouping operators: $group, $count, $bucket, $bucketAuto.

/// Accumulator state for one group.
struct GroupState {
    var id: BSON?
    var accs: [any Accumulator]
    /// The partial-group merge: accumulators whose untracked partial `$sum` may have
    /// overflowed (`GroupSplit.sumTypeIsAmbiguous`).
    var suspectSums: [Int] = []
}

final class GroupOp: Op {
    let group: Group, next: Op, loc: Location, ctx: ExecutionContext
    let table: GroupTable
    let multiFieldId: [(String, Expr)]?

    init(_ g: Group, _ ctx: ExecutionContext, _ loc: Location, _ next: Op) {
        group = g; self.ctx = ctx; self.loc = loc; self.next = next
        if case .object(let fields) = g.id, fields.count > 1 { multiFieldId = fields } else { multiFieldId = nil }
        let variables = ctx.variables
        table = GroupTable(accumulators: g.accumulators.map(\.1), budget: ctx.memory, location: loc) { id in
            try g.accumulators.map { try $0.1.makeAccumulator(groupId: id, variables: variables) }
        }
    }

    override func push(_ doc: Document) throws -> Bool {
        try located(loc) {
            let ec = EvalContext(root: doc, variables: ctx.variables)
            let key: BSON
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
                key = .array(parts)
                idValue = .document(out)
            } else if case .object(let fields) = group.id, fields.count == 1 {
                let v = try ec.eval(fields[0].1) ?? .null
                key = v
                idValue = .document(Document([(fields[0].0, v)]))
            } else {
                let v = try ec.eval(group.id) ?? .null
                key = v
                idValue = v
            }
            try accumulate(ec, key: key, id: idValue, accumulators: group.accumulators)
        }
        return true
    }

    /// Feeds document `ec` to the group of `key` (made with `_id` `id` when new).
    func accumulate(_ ec: EvalContext, key: BSON, id: BSON?, accumulators: [(String, AccumulatorSpec)]) throws {
        var index = try table.group(key: key, id: id)
        for (j, (_, spec)) in accumulators.enumerated() {
            let input = try spec.input(ec)
            // a spill empties the table: the group starts again (its slices merge in order)
            if try table.kept(input, accumulator: j) { index = try table.group(key: key, id: id) }
            try table.states[index].accs[j].accumulate(input)
        }
    }

    override func finish() throws {
        try table.finish { s in
            var d = Document()
            d.append("_id", s.id ?? .null)
            for (j, (name, _)) in group.accumulators.enumerated() {
                d.append(name, try located(loc) { try s.accs[j].finalize() } ?? .null)
            }
            return try next.push(d)
        }
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
        let sort = SortOp(SortPattern(components: [.init(path: ["_id"], ascending: true)]), loc, next, budget: ctx.memory)
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
            try group.accumulate(EvalContext(root: doc, variables: ctx.variables), key: bucketId, id: bucketId,
                                 accumulators: spec.effectiveOutput)
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
