import StrataBSON

/// A `$group` split in two phases, for running the first on the server over slices of the
/// input (per version, per shard...) and the second in Swift:
///
/// 1. run `partialGroup` (a `$group` specification with the same `_id`) on each slice;
/// 2. feed every output row to a `GroupMerger` — slice by slice in document order for the
///    accumulators that do not merge in any order (`AccumulatorSpec.mergesInAnyOrder`);
/// 3. `finish()` gives the rows the single-pass `$group` would give.
///
/// Each accumulator's part is its own (`AccumulatorSpec.split`, AccumulatorSplit.swift): the
/// server-side accumulators and how its partial state is read back. Exactness: integer sums and
/// counts are exact (their widest input type travels with them); double sums lose each slice's
/// compensation term (the last bits may differ from a single pass); `$stdDev*` partials go
/// through `$stdDevPop`, `$avg` and a count, combined with the parallel formula (agreement to
/// about 1e-12 relative).
package struct GroupSplit: Sendable {
    package let group: Group
    /// The `$group` specification to run on each slice.
    package let partialGroup: Document
    let builders: [@Sendable (Document) -> BSON?]
    /// The `$sum` accumulators whose partials carry no width (see `init`).
    package let untrackedSums: [Int]

    /// `trackSumWidth`: each `$sum` of a non-constant argument also ships the widest
    /// numeric type of its slice's inputs (one more accumulator per document, which
    /// costs the server about as much as the sum itself). Without it, a plain partial
    /// sum stands for its own type; that is exact unless a slice's int32 total
    /// overflowed into int64 (or an int64 total into double), which the merger then
    /// reports as `GroupMerger.sumTypeAmbiguous` so the caller can run again with
    /// widths.
    package init(_ group: Group, trackSumWidth: Bool = true) throws {
        self.group = group
        var spec: Document = ["_id": group.id.bson]
        var builders: [@Sendable (Document) -> BSON?] = []
        var untracked: [Int] = []
        for (i, (_, acc)) in group.accumulators.enumerated() {
            let split = acc.split(trackSumWidth: trackSumWidth)
            for (suffix, accumulator) in split.shardsPart { spec[Self.rowField(i, suffix)] = accumulator }
            builders.append { row in split.mergingPart { row[Self.rowField(i, $0)] } }
            if split.isUntrackedSum { untracked.append(i) }
        }
        partialGroup = spec
        self.builders = builders
        self.untrackedSums = untracked
    }

    /// The partial row's field for accumulator `i`'s part `suffix` (`__s0`, `__s0c`...).
    static func rowField(_ i: Int, _ suffix: String) -> String { "__s\(i)\(suffix)" }

    /// A plain partial sum whose type may come from an overflow rather than from the
    /// slice's inputs: an int64 outside int32's range, a double outside int64's.
    static func mayHaveOverflowed(_ partial: BSON?) -> Bool {
        switch partial {
        case .int64(let i)?: return Int32(exactly: i) == nil
        case .double(let d)?: return !(abs(d) < 9.223372036854775807e18)
        default: return false
        }
    }

    /// A merger for the partial rows.
    package func makeMerger(variables: Variables = Variables()) -> GroupMerger {
        GroupMerger(split: self, variables: variables)
    }
}

/// Folds the rows of `GroupSplit.partialGroup` into the final `$group` rows.
package final class GroupMerger {
    let split: GroupSplit
    let variables: Variables
    var index: [GroupKey: Int] = [:]
    var states: [GroupState] = []
    /// (group, accumulator) pairs that merged a partial sum which may have overflowed.
    var overflowSuspects: [(group: Int, accumulator: Int)] = []
    /// Set by `finish()`: some untracked `$sum` result's type cannot be told from its
    /// partials (a slice overflowed, yet the total is back in range); run the split
    /// again with `trackSumWidth` for the exact type.
    package private(set) var sumTypeAmbiguous = false

    init(split: GroupSplit, variables: Variables) { self.split = split; self.variables = variables }

    /// Adds one partial row (`{_id, __s0..., ...}`).
    package func add(_ row: Document) throws {
        let id = row["_id"] ?? .null
        let key = GroupKey(id)
        let i: Int
        if let j = index[key] { i = j } else {
            i = states.count
            index[key] = i
            states.append(try split.newState(id: id, variables: variables))
        }
        for j in try split.merge(row, into: &states[i]) { overflowSuspects.append((i, j)) }
    }

    /// The merged groups, in order of first appearance.
    package func finish() throws -> [Document] {
        for (g, j) in overflowSuspects where try GroupSplit.sumTypeIsAmbiguous(states[g], accumulator: j) {
            sumTypeAmbiguous = true
        }
        return try states.map(split.finalize)
    }
}

extension GroupSplit {
    /// A group's fresh state: one accumulator per output field (`n` evaluated with `id`).
    func newState(id: BSON, variables: Variables) throws -> GroupState {
        GroupState(id: id, accs: try group.accumulators.map { try $0.1.makeAccumulator(groupId: id, variables: variables) })
    }

    /// Folds one partial row into `state`; returns the accumulators whose untracked partial
    /// `$sum` may have overflowed (see `sumTypeIsAmbiguous`).
    func merge(_ row: Document, into state: inout GroupState) throws -> [Int] {
        for j in 0..<group.accumulators.count {
            try state.accs[j].merge(builders[j](row))
        }
        return untrackedSums.filter { GroupSplit.mayHaveOverflowed(row[GroupSplit.rowField($0, SumAccumulator.RowField.sum)]) }
    }

    /// Whether accumulator `j` of `state`, which merged a partial that may have overflowed,
    /// ends with a type its partials cannot tell: back in int32's range after an int64
    /// partial, or a double (which an int64 overflow would also give).
    static func sumTypeIsAmbiguous(_ state: GroupState, accumulator j: Int) throws -> Bool {
        switch try state.accs[j].finalize() {
        case .int64(let total)?: return Int32(exactly: total) != nil
        case .double?: return true
        default: return false
        }
    }

    /// The group's output row: `_id` and each accumulator's value (null for missing).
    func finalize(_ s: GroupState) throws -> Document {
        var d: Document = ["_id": s.id ?? .null]
        for (j, (name, _)) in group.accumulators.enumerated() { d.append(name, try s.accs[j].finalize() ?? .null) }
        return d
    }
}
