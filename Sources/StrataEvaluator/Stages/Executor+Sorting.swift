import StrataBSON
// The sorting operators: $sort, and $sort fused with $limit (top k).

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
