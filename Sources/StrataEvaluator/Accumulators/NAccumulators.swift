import StrataBSON

/// `$top`, `$bottom`, `$topN`, `$bottomN`: the n first / last documents in `sortBy` order,
/// ties keeping the first seen (mongod's multimap behaviour); outputs in sort order; a missing
/// output becomes null. Input and partial element: `{output, sortFields: [v1, ...]}` where
/// `vi` is the aggregation value of the i-th sortBy path. Partial: one such document or an
/// array of them.
package struct TopBottomAccumulator: Accumulator {
    let pattern: SortPattern
    let n: Int
    let top: Bool
    let single: Bool
    /// mongod's window-function variant: keeps every value (so that values can leave the
    /// window) and answers with the first (top) or last (bottom) n in stable sort order — for
    /// `$bottom` ties go to the *last* seen, unlike the `$group` accumulator.
    let removable: Bool
    /// Sorted on `key`, equal keys in arrival order; `seq` numbers arrivals (a partial lists
    /// the entries in arrival order: `$bottom`'s ties — the earliest is evicted first, yet an
    /// equal newcomer is refused — make the result depend on it).
    var entries: [(key: [BSON], output: BSON, seq: Int)] = []
    var nextSeq = 0

    package init(pattern: SortPattern, n: Int, top: Bool, single: Bool) {
        self.init(pattern: pattern, n: n, top: top, single: single, removable: false)
    }

    init(pattern: SortPattern, n: Int, top: Bool, single: Bool, removable: Bool) {
        self.pattern = pattern; self.n = n; self.top = top; self.single = single; self.removable = removable
    }

    package mutating func accumulate(_ v: BSON?) throws {
        guard case .document(let d)? = v else { return }
        let fields: [BSON?] = d[PartialField.sortFields]?.arrayValue?.map { Optional($0) } ?? []
        let padded = fields + [BSON?](repeating: nil, count: max(0, pattern.components.count - fields.count))
        insert(key: try pattern.key(values: padded), output: d[PartialField.output] ?? .null)
    }

    /// Keeps `(key, output)` if it is among the n best, after the entries with equal keys.
    mutating func insert(key: [BSON], output: BSON) {
        if entries.count == n && !removable {
            if top {
                guard pattern.compare(entries[entries.count - 1].key, key) > 0 else { return }
                entries.removeLast()
            } else {
                guard pattern.compare(key, entries[0].key) > 0 else { return }
                entries.removeFirst()
            }
        }
        // insert after all equal keys (upper bound)
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pattern.compare(entries[mid].key, key) <= 0 { lo = mid + 1 } else { hi = mid }
        }
        entries.insert((key, output, nextSeq), at: lo)
        nextSeq += 1
    }

    package func partial() -> BSON? {
        let arrived = entries.sorted { $0.seq < $1.seq }
        return ExactPartial.make("topBottom", [("entries", .array(arrived.map { .document(["k": .array($0.key), "o": $0.output]) }))])
    }

    package mutating func merge(_ p: BSON?) throws {
        if let e = try ExactPartial.fields(p, kind: "topBottom") {
            guard case .array(let items)? = e["entries"] else { throw ExactPartial.corrupt(e, "entries") }
            for x in items {
                guard case .document(let entry) = x, case .array(let key)? = entry["k"], let output = entry["o"] else {
                    throw ExactPartial.corrupt(e, "entries")
                }
                insert(key: key, output: output)
            }
            return
        }
        switch p {
        case .array(let items)?: for x in items { try accumulate(x) }
        case .document?: try accumulate(p)
        default: return
        }
    }

    package func finalize() -> BSON? {
        let kept = entries.count <= n ? entries[...] : (top ? entries.prefix(n) : entries.suffix(n))
        if single { return kept.first?.output ?? .null }
        return .array(kept.map(\.output))
    }
}

/// `$firstN` / `$lastN`: the first / last n values, missing as null. Partial: an array.
package struct FirstLastNAccumulator: Accumulator {
    let n: Int
    let first: Bool
    var items: [BSON] = []
    package init(n: Int, first: Bool) { self.n = n; self.first = first }
    package mutating func accumulate(_ v: BSON?) throws {
        if first {
            if items.count < n { items.append(v ?? .null) }
        } else {
            items.append(v ?? .null)
            if items.count > n { items.removeFirst(items.count - n) }
        }
    }
    package mutating func merge(_ p: BSON?) throws {
        guard case .array(let a)? = p else { return }
        for x in a { try accumulate(x) }
    }
    /// The kept items in order (missing already null): merging accumulates them again.
    package func partial() -> BSON? { .array(items) }
    package func finalize() -> BSON? { .array(items) }
}

/// `$maxN` / `$minN`: the n largest / smallest non-null values, largest / smallest first.
/// Partial: an array.
package struct MinMaxNAccumulator: Accumulator {
    let n: Int
    let isMax: Bool
    var items: [BSON] = []  // best first
    package init(n: Int, isMax: Bool) { self.n = n; self.isMax = isMax }
    func better(_ a: BSON, _ b: BSON) -> Bool {
        let c = BSONOrder.compare(a, b)
        return isMax ? c > 0 : c < 0
    }
    package mutating func accumulate(_ v: BSON?) throws {
        guard let v, !BSON.isNullish(v) else { return }
        if items.count == n {
            guard better(v, items[items.count - 1]) else { return }
            items.removeLast()
        }
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if !better(v, items[mid]) { lo = mid + 1 } else { hi = mid }
        }
        items.insert(v, at: lo)
    }
    package mutating func merge(_ p: BSON?) throws {
        guard case .array(let a)? = p else { return }
        for x in a { try accumulate(x) }
    }
    /// The kept items, best first: merging accumulates them again.
    package func partial() -> BSON? { .array(items) }
    package func finalize() -> BSON? { .array(items) }
}
