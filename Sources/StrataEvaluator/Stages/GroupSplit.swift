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
    package func makeMerger(variables: Variables = Variables(), budget: MemoryBudget? = nil) -> GroupMerger {
        GroupMerger(split: self, variables: variables, budget: budget)
    }
}

/// Folds the rows of `GroupSplit.partialGroup` into the final `$group` rows, in a
/// `GroupTable` (which spills past the query's `MemoryBudget`).
package final class GroupMerger {
    let split: GroupSplit
    let variables: Variables
    let table: GroupTable
    /// Set by `finish()`: some untracked `$sum` result's type cannot be told from its
    /// partials (a slice overflowed, yet the total is back in range); run the split
    /// again with `trackSumWidth` for the exact type.
    package private(set) var sumTypeAmbiguous = false

    init(split: GroupSplit, variables: Variables, budget: MemoryBudget?) {
        self.split = split
        self.variables = variables
        table = GroupTable(accumulators: split.group.accumulators.map(\.1), budget: budget, location: Location(path: "merger")) { id in
            try split.group.accumulators.map { try $0.1.makeAccumulator(groupId: id, variables: variables) }
        }
    }

    /// Adds one partial row (`{_id, __s0..., ...}`).
    package func add(_ row: Document) throws {
        let id = row["_id"] ?? .null
        var i = try table.group(key: id, id: id)
        if try table.keptPartial(row) { i = try table.group(key: id, id: id) }
        let suspects = try split.merge(row, into: &table.states[i])
        table.states[i].suspectSums += suspects
    }

    /// The merged groups: in order of first appearance, or in key order when the table spilled.
    package func finish() throws -> [Document] {
        var out: [Document] = []
        try finish { out.append($0); return true }
        return out
    }

    /// The merged groups to `emit` (false: stop); `sumTypeAmbiguous` is final once it returns.
    /// Without untracked sums the groups go out as they are finalized; with them they are
    /// kept until every group's type is known (the caller runs again when one is ambiguous).
    package func finish(emit: (Document) throws -> Bool) throws {
        if split.untrackedSums.isEmpty {
            try table.finish { try emit(try split.finalize($0)) }
            return
        }
        var groups: [Document] = []
        try table.finish { s in
            for j in s.suspectSums where try GroupSplit.sumTypeIsAmbiguous(s, accumulator: j) { sumTypeAmbiguous = true }
            groups.append(try split.finalize(s))
            return true
        }
        for g in groups { if try !emit(g) { return } }
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
