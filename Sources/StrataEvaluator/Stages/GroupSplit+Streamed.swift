import StrataBSON

/// Merges partial groups that arrive as streams sorted by group key (each branch's
/// partial `$group` followed by `{$sort: {_id: 1}}`): a k-way merge that holds one row per
/// stream and the groups of one sort key at a time, instead of every group (`GroupMerger`).
///
/// The streams are compared by the key `$sort: {_id: 1}` sorts on (`sortPattern`), not by
/// the group key itself: a top-level array sorts by its smallest element (an empty one
/// below null), so `[0, 9]` and `0` — two groups — share a sort key, and a server may
/// return them in either order. All rows of the smallest sort key are taken from every
/// stream, then grouped by `GroupKey` equality in stream order, so the order-sensitive
/// accumulators (`$first`, `$push`...) see the slices in the order the hash merger does.
/// A group is emitted only when every stream has moved past its sort key.
///
/// A stream whose next sort key is below its last (a server sorting otherwise) stops the
/// merge with `Failure.outOfOrder`; the groups emitted before it may be missing rows, so
/// the caller must discard them (it merges by hash when none reached its own caller).
package struct StreamedGroupMerger {
    package enum Failure: Error, CustomStringConvertible {
        /// Stream `stream` gave a row keyed `next` after one keyed `previous`, which sorts above it.
        case outOfOrder(stream: Int, previous: BSON, next: BSON)
        /// A group's untracked `$sum` has an ambiguous type (`GroupMerger.sumTypeAmbiguous`);
        /// the groups emitted before it are exact.
        case sumTypeAmbiguous

        package var description: String {
            switch self {
            case .outOfOrder(let s, let p, let n):
                return "the partial groups of stream \(s) are not in key order: \(GroupKey(n)) came after \(GroupKey(p))"
            case .sumTypeAmbiguous:
                return "a merged $sum's type cannot be told from untyped partial sums"
            }
        }
    }

    /// The order the streams are sorted in: `{_id: 1}` with `$sort`'s array semantics.
    package static let sortPattern = SortPattern(components: [.init(path: ["_id"], ascending: true)])

    /// `row`'s sort key in `sortPattern`.
    package static func sortKey(_ row: Document) throws -> [BSON] {
        try sortPattern.key(.document(row))
    }

    package let split: GroupSplit
    package let variables: Variables

    package init(split: GroupSplit, variables: Variables = Variables()) {
        self.split = split
        self.variables = variables
    }

    /// Pulls rows from `next(stream)` (nil: that stream ended) for `streams` streams and
    /// pushes each merged group to `emit`, in sort-key order, until `emit` returns false or
    /// every stream has ended. Returns the number of groups emitted.
    @discardableResult
    package func merge(streams: Int, next: (Int) throws -> Document?, emit: (Document) throws -> Bool) throws -> Int {
        let pattern = Self.sortPattern
        var heads: [(row: Document, key: [BSON])?] = []
        for s in 0..<streams {
            heads.append(try next(s).map { ($0, try Self.sortKey($0)) })
        }
        var emitted = 0
        while true {
            // The smallest sort key among the heads (a linear scan: one stream per version).
            var smallest: [BSON]?
            for case let head? in heads where smallest.map({ pattern.compare(head.key, $0) < 0 }) ?? true {
                smallest = head.key
            }
            guard let key = smallest else { return emitted }
            // Every row of this sort key, stream by stream, grouped by group key.
            var groups: [(state: GroupState, suspects: [Int])] = []
            for s in 0..<streams {
                while let head = heads[s], pattern.compare(head.key, key) == 0 {
                    let id = head.row["_id"] ?? .null
                    let g: Int
                    if let i = groups.firstIndex(where: { BSONOrder.compare($0.state.id, id) == 0 }) { g = i } else {
                        g = groups.count
                        groups.append((try split.newState(id: id, variables: variables), []))
                    }
                    groups[g].suspects += try split.merge(head.row, into: &groups[g].state)
                    if let row = try next(s) {
                        let k = try Self.sortKey(row)
                        guard pattern.compare(k, head.key) >= 0 else {
                            throw Failure.outOfOrder(stream: s, previous: id, next: row["_id"] ?? .null)
                        }
                        heads[s] = (row, k)
                    } else {
                        heads[s] = nil
                    }
                }
            }
            for (state, suspects) in groups {
                for j in suspects where try GroupSplit.sumTypeIsAmbiguous(state, accumulator: j) {
                    throw Failure.sumTypeAmbiguous
                }
                emitted += 1
                if try !emit(try split.finalize(state)) { return emitted }
            }
        }
    }
}
