import StrataBSON
// The sorting operators: $sort, and $sort fused with $limit (top k).

/// `$sort`: a stable sort of everything pushed. Past the query's `MemoryBudget` the buffer
/// is sorted and written to a run (`{k: [sort key], d: document}`) and emptied; `finish`
/// then merges the runs and the buffer (k-way, ties to the older run: stable overall).
final class SortOp: Op {
    let pattern: SortPattern, next: Op, loc: Location
    let budget: MemoryBudget?
    var buffer: [(key: [BSON], doc: Document)] = []
    var heldBytes = 0
    var spill: SpillDirectory?
    var runs: [SpillRun] = []

    init(_ p: SortPattern, _ loc: Location, _ next: Op, budget: MemoryBudget? = nil) {
        pattern = p; self.loc = loc; self.next = next; self.budget = budget
    }

    deinit {
        budget?.release(heldBytes)
        spill?.remove()
    }

    override func push(_ doc: Document) throws -> Bool {
        let key = try located(loc) { try pattern.key(.document(doc)) }
        buffer.append((key, doc))
        guard let budget else { return true }
        let bytes = doc.estimatedBytes + key.reduce(48) { $0 + $1.estimatedBytes }
        heldBytes += bytes
        if budget.charge(bytes), heldBytes >= max(budget.limitBytes / 16, 64 * 1024) { try spillBuffer(budget) }
        return true
    }

    /// The buffer in sort order (stable).
    func sortedBuffer() -> [(key: [BSON], doc: Document)] {
        let indexed = buffer.enumerated().map { ($0.offset, $0.element) }
        buffer = []
        return indexed.sorted { a, b in
            let c = pattern.compare(a.1.key, b.1.key)
            return c != 0 ? c < 0 : a.0 < b.0
        }.map(\.1)
    }

    func spillBuffer(_ budget: MemoryBudget) throws {
        let dir = try spill ?? SpillDirectory(base: budget.spillBase)
        spill = dir
        let writer = try dir.makeRun()
        for (key, doc) in sortedBuffer() { try writer.write(["k": .array(key), "d": .document(doc)]) }
        runs.append(try writer.finish())
        budget.noteRunWritten()
        budget.release(heldBytes)
        heldBytes = 0
    }

    override func finish() throws {
        defer {
            budget?.release(heldBytes)
            heldBytes = 0
            spill?.remove()
            spill = nil
        }
        let memory = sortedBuffer()
        guard !runs.isEmpty else {
            for e in memory { if try !next.push(e.doc) { break } }
            try next.finish()
            return
        }
        let readers = try runs.map { try $0.open() }
        var position = 0
        func read(_ s: Int) throws -> (key: [BSON], doc: Document)? {
            if s < readers.count {
                guard let row = try readers[s].next() else { return nil }
                return (row["k"]?.arrayValue ?? [], row["d"]?.documentValue ?? [:])
            }
            guard position < memory.count else { return nil }
            position += 1
            return memory[position - 1]
        }
        var heads: [(key: [BSON], doc: Document)?] = try (0...readers.count).map(read)
        while true {
            // the smallest head; on ties the older run (lower index) first: stable
            var best: Int?
            for s in heads.indices {
                guard let h = heads[s] else { continue }
                if let b = best, pattern.compare(h.key, heads[b]!.key) >= 0 { continue }
                best = s
            }
            guard let b = best else { break }
            if try !next.push(heads[b]!.doc) { break }
            heads[b] = try read(b)
        }
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
