/// The merging half of a split `$group`: partial groups from every branch,
/// combined per group key (MongoDB equality: 1, 1.0 and 1L are one key) and
/// finalised. Memory grows with the number of groups, not documents.
struct GroupMerger {
    let plan: GroupPlan
    let layouts: [PartialLayout]
    private var groups: [GroupKey: Int] = [:]
    private var keys: [BSON] = []
    private var states: [[any Accumulator]] = []

    init(plan: GroupPlan, layouts: [PartialLayout]) {
        self.plan = plan
        self.layouts = layouts
    }

    var groupCount: Int { keys.count }

    /// Folds one branch's partial group document in.
    mutating func merge(partial doc: Document) throws {
        let key = doc["_id"] ?? .null
        let index: Int
        if let i = groups[GroupKey(key)] {
            index = i
        } else {
            index = keys.count
            groups[GroupKey(key)] = index
            keys.append(key)
            states.append(try plan.accumulators.map { try $0.spec.makeAccumulator(groupId: key) })
        }
        for (i, layout) in layouts.enumerated() {
            for partial in layout.partials(doc) {
                try states[index][i].merge(partial)
            }
        }
    }

    /// The merged groups, `{_id, <field>: <value>...}` in the stage's field order,
    /// in the order their keys were first seen.
    func finalize() throws -> [Document] {
        var out: [Document] = []
        out.reserveCapacity(keys.count)
        for (i, key) in keys.enumerated() {
            var d = Document()
            d.append("_id", key)
            for (j, acc) in plan.accumulators.enumerated() {
                d.append(acc.name, try states[i][j].finalize() ?? .null)
            }
            out.append(d)
        }
        return out
    }
}
