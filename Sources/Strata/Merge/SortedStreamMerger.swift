import StrataBSON
import StrataEvaluator

/// Merges streams that are each sorted on a total sort key (one with no ties)
/// into one sorted stream: a k-way merge with a small heap, so memory is one
/// document per stream.
struct SortedStreamMerger {
    struct Item {
        var document: Document
        var key: [BSON]
        var stream: Int
    }

    let pattern: SortPattern?

    /// Orders a before b.
    func precedes(_ a: Item, _ b: Item) -> Bool {
        if let pattern {
            let c = pattern.compare(a.key, b.key)
            if c != 0 { return c < 0 }
        }
        return a.stream < b.stream
    }

    func key(of doc: Document) throws -> [BSON] {
        guard let pattern else { return [] }
        return try pattern.key(.document(doc))
    }

    /// Pulls from `next(stream)` (nil when a stream ends) and pushes merged items to `emit`
    /// until `emit` returns false or all streams end.
    func merge(streams: Int, next: (Int) throws -> Item?, emit: (Item) throws -> Bool) throws {
        var heap: [Item] = []
        func siftUp(_ i0: Int) {
            var i = i0
            while i > 0 {
                let parent = (i - 1) / 2
                guard precedes(heap[i], heap[parent]) else { break }
                heap.swapAt(i, parent)
                i = parent
            }
        }
        func siftDown(_ i0: Int) {
            var i = i0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < heap.count && precedes(heap[l], heap[best]) { best = l }
                if r < heap.count && precedes(heap[r], heap[best]) { best = r }
                if best == i { return }
                heap.swapAt(i, best)
                i = best
            }
        }
        for s in 0..<streams {
            if let item = try next(s) { heap.append(item); siftUp(heap.count - 1) }
        }
        while let top = heap.first {
            guard try emit(top) else { return }
            if let item = try next(top.stream) {
                heap[0] = item
            } else {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            if !heap.isEmpty { siftDown(0) }
        }
    }
}
