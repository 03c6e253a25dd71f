import Foundation
import StrataBSON

/// The groups of a `$group` (or of the partial-group merge) as they are built: a hash table
/// while they fit the query's `MemoryBudget`; past it, every group's accumulator states
/// (`Accumulator.partial()`) are written to a run sorted by group key and the table starts
/// empty. `finish` gives the groups: in first-appearance order when nothing spilled;
/// otherwise merged from the runs and the table in key order (`BSONOrder`, the order
/// `GroupKey` equality is defined by), each group's slices merged oldest run first, so the
/// order-sensitive accumulators see their input in order.
///
/// Sizes are estimated when a group is made (its key, its `_id` and a fixed cost per
/// accumulator) and when an accumulator that keeps its inputs (`$push`, `$addToSet`,
/// `$firstN`...) takes one.
final class GroupTable {
    /// A group's fresh accumulators, for its `_id`.
    let makeAccumulators: (BSON?) throws -> [any Accumulator]
    /// Which accumulators keep their inputs (their growth is charged).
    let keepsInputs: [Bool]
    let budget: MemoryBudget?
    let location: Location

    private(set) var keys: [BSON] = []
    var states: [GroupState] = []
    private var index: [GroupKey: Int] = [:]
    /// What the table holds, by the estimates (charged to `budget`).
    private var heldBytes = 0
    private var spill: SpillDirectory?
    private var runs: [SpillRun] = []

    /// The fixed estimate of one group beyond its key and `_id` (the table's entry, the
    /// state and its accumulator array) and of one accumulator (its existential box and
    /// state), calibrated on `strata bench memory`: 1M groups of two `$sum`s grew the
    /// resident memory by 625 MB without a budget, about 650 bytes a group.
    static let groupOverhead = 280
    static let accumulatorOverhead = 160

    init(accumulators: [AccumulatorSpec], budget: MemoryBudget?, location: Location,
         makeAccumulators: @escaping (BSON?) throws -> [any Accumulator]) {
        self.makeAccumulators = makeAccumulators
        self.keepsInputs = accumulators.map { !["$sum", "$count", "$avg", "$min", "$max", "$stdDevPop", "$stdDevSamp", "$first", "$last", "$top", "$bottom"].contains($0.op) }
        self.budget = budget
        self.location = location
    }

    deinit {
        budget?.release(heldBytes)
        spill?.remove()
    }

    /// Whether anything was written to disk.
    var spilled: Bool { !runs.isEmpty }

    /// The index of the group of `key` (`GroupKey` value) whose `_id` is `id`, made when new
    /// (after spilling the table, when the new group takes it past the budget).
    func group(key: BSON?, id: BSON?) throws -> Int {
        if let i = index[GroupKey(key)] { return i }
        if try charge(GroupTable.groupOverhead + (key?.estimatedBytes ?? 0) + (id?.estimatedBytes ?? 0)
                      + GroupTable.accumulatorOverhead * keepsInputs.count) {
            try spillTable()
        }
        let i = states.count
        index[GroupKey(key)] = i
        keys.append(key ?? .undefined)
        states.append(GroupState(id: id, accs: try makeAccumulators(id)))
        return i
    }

    /// Charges an input that accumulator `j` keeps; true when that spilled the table (the
    /// caller's group must be made again).
    @inline(__always)
    func kept(_ value: BSON?, accumulator j: Int) throws -> Bool {
        guard keepsInputs[j], try charge(value?.estimatedBytes ?? 8) else { return false }
        try spillTable()
        return true
    }

    /// Charges a partial state merged into a group (the partial-group merge) when some
    /// accumulator keeps inputs; true when that spilled the table.
    func keptPartial(_ row: Document) throws -> Bool {
        guard keepsInputs.contains(true), try charge(row.estimatedBytes) else { return false }
        try spillTable()
        return true
    }

    /// Adds `bytes` to what the table holds; true when the query is past its budget and
    /// the table holds enough to be worth a run (`MemoryBudget.shouldSpill`).
    private func charge(_ bytes: Int) throws -> Bool {
        heldBytes += bytes
        guard let budget, budget.charge(bytes) else { return false }
        return !states.isEmpty && budget.shouldSpill(holding: heldBytes)
    }

    /// Writes every group to a run sorted by key, and empties the table.
    func spillTable() throws {
        guard !states.isEmpty, let budget else { return }
        let dir = try spill ?? SpillDirectory(base: budget.spillBase)
        spill = dir
        let order = keys.indices.sorted { BSONOrder.compare(keys[$0], keys[$1]) < 0 }
        let writer = try dir.makeRun()
        for i in order {
            try writer.write(try Self.row(key: keys[i], state: states[i]))
        }
        runs.append(try writer.finish())
        budget.noteRunWritten()
        budget.release(heldBytes)
        heldBytes = 0
        // the next fill reuses the storage: no growth (and no copy while growing) again
        keys.removeAll(keepingCapacity: true)
        states.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        if runs.count >= MemoryBudget.maxRuns { try compactRuns(dir) }
    }

    /// Merges every run into one (groups of equal keys combined, oldest slice first), so
    /// that no more than `MemoryBudget.maxRuns` files are open at once.
    func compactRuns(_ dir: SpillDirectory) throws {
        let writer = try dir.makeRun()
        try mergeRuns(includingTable: false) { key, state in
            try writer.write(try Self.row(key: key, state: state))
            return true
        }
        let old = runs
        runs = [try writer.finish()]
        for r in old { unlink(r.path) }
    }

    /// A spilled group: `{k: key, i: _id, a: [partial state of each accumulator]}`, and
    /// `s`: its suspect sums (`GroupState.suspectSums`), when it has any.
    static func row(key: BSON, state: GroupState) throws -> Document {
        var d: Document = ["k": key]
        if let id = state.id { d["i"] = id }
        d["a"] = .array(try state.accs.map { try $0.partial() ?? .null })
        if !state.suspectSums.isEmpty { d["s"] = .array(state.suspectSums.map { .int32(Int32($0)) }) }
        return d
    }

    /// The groups, each once, to `emit` (false: stop). Frees the table.
    func finish(emit: (GroupState) throws -> Bool) throws {
        defer {
            budget?.release(heldBytes)
            heldBytes = 0
            spill?.remove()
            spill = nil
        }
        guard spilled else {
            index = [:]
            keys = []
            let perGroup = states.isEmpty ? 0 : heldBytes / states.count
            for i in states.indices {
                let s = states[i]
                states[i].accs = []  // freed as the groups go (a sort after the group fills meanwhile)
                budget?.release(perGroup)
                heldBytes -= perGroup
                if try !emit(s) { break }
            }
            states = []
            return
        }
        try mergeRuns(includingTable: true) { _, state in try emit(state) }
    }

    /// Merges the runs (and the table, as the newest slice, when `includingTable`) in key
    /// order, each group's slices oldest first, to `emit` (false: stop).
    private func mergeRuns(includingTable: Bool, emit: (BSON, GroupState) throws -> Bool) throws {
        let order = includingTable ? keys.indices.sorted { BSONOrder.compare(keys[$0], keys[$1]) < 0 } : []
        var memory = order.makeIterator()
        let readers = try runs.map { try $0.open() }
        var heads: [(key: BSON, row: Document?, state: GroupState?)?] = []
        func next(_ s: Int) throws -> (key: BSON, row: Document?, state: GroupState?)? {
            if s < readers.count {
                guard let row = try readers[s].next() else { return nil }
                return (row["k"] ?? .undefined, row, nil)
            }
            guard let i = memory.next() else { return nil }
            return (keys[i], nil, states[i])
        }
        for s in 0...readers.count { heads.append(try next(s)) }
        while true {
            var smallest: BSON?
            for case let head? in heads where smallest.map({ BSONOrder.compare(head.key, $0) < 0 }) ?? true { smallest = head.key }
            guard let key = smallest else { return }
            var merged: GroupState?
            for s in heads.indices {
                guard let head = heads[s], BSONOrder.compare(head.key, key) == 0 else { continue }
                if let state = head.state, merged == nil {
                    merged = state
                } else {
                    let id = head.state?.id ?? head.row?["i"]
                    if merged == nil { merged = GroupState(id: id, accs: try makeAccumulators(id)) }
                    if let state = head.state {
                        for j in state.accs.indices { try merged!.accs[j].merge(try state.accs[j].partial()) }
                        merged!.suspectSums += state.suspectSums
                    } else if let row = head.row {
                        for (j, partial) in (row["a"]?.arrayValue ?? []).enumerated() { try merged!.accs[j].merge(partial) }
                        merged!.suspectSums += (row["s"]?.arrayValue ?? []).compactMap { $0.exactInt.map(Int.init) }
                    }
                }
                heads[s] = try next(s)
            }
            if let merged, try !emit(key, merged) { return }
        }
    }
}
