import Foundation
import StrataBSON
// The sorting operators: $sort, and $sort fused with $limit (top k).

/// `$sort`: a stable sort of everything pushed (`ExternalSorter`: past the query's
/// `MemoryBudget`, sorted runs on disk merged back in order).
final class SortOp: Op {
    let pattern: SortPattern, next: Op, loc: Location
    let sorter: ExternalSorter

    init(_ p: SortPattern, _ loc: Location, _ next: Op, budget: MemoryBudget? = nil) {
        pattern = p; self.loc = loc; self.next = next
        sorter = ExternalSorter(pattern: p, budget: budget)
    }

    override func push(_ doc: Document) throws -> Bool {
        let key = try located(loc) { try pattern.key(.document(doc)) }
        try sorter.add(doc, key: key)
        return true
    }

    override func finish() throws {
        let sorted = try sorter.sorted()
        while let doc = try sorted.next() {
            if try !next.push(doc) { break }
        }
        try next.finish()
    }
}

/// A stable sort of documents by precomputed keys that holds at most its share of a
/// `MemoryBudget`: past it, the buffer is sorted and written to a run
/// (`{k: [sort key], d: document}`) and emptied; `sorted()` merges the runs and the buffer
/// (k-way; ties go to the older run, so the whole sort is stable).
package final class ExternalSorter {
    let pattern: SortPattern
    let budget: MemoryBudget?
    var buffer: [(key: [BSON], doc: Document)] = []
    var heldBytes = 0
    var spill: SpillDirectory?
    var runs: [SpillRun] = []

    package init(pattern: SortPattern, budget: MemoryBudget?) {
        self.pattern = pattern
        self.budget = budget
    }

    deinit {
        budget?.release(heldBytes)
        spill?.remove()
    }

    /// Whether some of the input went to disk.
    package var spilled: Bool { !runs.isEmpty }

    package func add(_ doc: Document, key: [BSON]) throws {
        buffer.append((key, doc))
        guard let budget else { return }
        let bytes = doc.estimatedBytes + key.reduce(48) { $0 + $1.estimatedBytes }
        heldBytes += bytes
        if budget.charge(bytes), budget.shouldSpill(holding: heldBytes) { try spillBuffer(budget) }
    }

    /// The buffer in sort order (stable); empties it.
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
        if runs.count >= MemoryBudget.maxRuns { try compactRuns(dir) }
    }

    /// Merges every run into one (stable: the runs are in input order), so that no more
    /// than `MemoryBudget.maxRuns` files are open at once.
    func compactRuns(_ dir: SpillDirectory) throws {
        let output = try SortedOutput(sorter: self, memory: [], readers: try runs.map { try $0.open() }, ownsFiles: false)
        let writer = try dir.makeRun()
        while let (key, doc) = try output.nextEntry() { try writer.write(["k": .array(key), "d": .document(doc)]) }
        let old = runs
        runs = [try writer.finish()]
        for r in old { unlink(r.path) }
    }

    /// Everything added, in order. The sorter's files go when the output is done with.
    package func sorted() throws -> SortedOutput {
        let memory = sortedBuffer()
        let readers = try runs.map { try $0.open() }
        return try SortedOutput(sorter: self, memory: memory, readers: readers, ownsFiles: true)
    }

    /// The merged output of an `ExternalSorter`, pulled one document at a time.
    package final class SortedOutput {
        let sorter: ExternalSorter
        let memory: [(key: [BSON], doc: Document)]
        let readers: [SpillRunReader]
        /// The sorter's answer (its files go when it is done), not a compaction.
        let ownsFiles: Bool
        var position = 0
        var heads: [(key: [BSON], doc: Document)?] = []

        init(sorter: ExternalSorter, memory: [(key: [BSON], doc: Document)], readers: [SpillRunReader], ownsFiles: Bool) throws {
            self.sorter = sorter
            self.memory = memory
            self.readers = readers
            self.ownsFiles = ownsFiles
            heads = try (0...readers.count).map(read)
        }

        deinit { if ownsFiles { sorter.finished() } }

        func read(_ s: Int) throws -> (key: [BSON], doc: Document)? {
            if s < readers.count {
                guard let row = try readers[s].next() else { return nil }
                return (row["k"]?.arrayValue ?? [], row["d"]?.documentValue ?? [:])
            }
            guard position < memory.count else { return nil }
            position += 1
            return memory[position - 1]
        }

        /// The next document in sort order; nil at the end.
        package func next() throws -> Document? { try nextEntry()?.doc }

        /// The next document and its sort key; nil at the end.
        func nextEntry() throws -> (key: [BSON], doc: Document)? {
            // the smallest head; on ties the older run (lower index) first: stable
            var best: Int?
            for s in heads.indices {
                guard let h = heads[s] else { continue }
                if let b = best, sorter.pattern.compare(h.key, heads[b]!.key) >= 0 { continue }
                best = s
            }
            guard let b = best else {
                if ownsFiles { sorter.finished() }
                return nil
            }
            let entry = heads[b]!
            heads[b] = try read(b)
            return entry
        }
    }

    /// Releases what the sorter charged and removes its files.
    func finished() {
        budget?.release(heldBytes)
        heldBytes = 0
        spill?.remove()
        spill = nil
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
