import StrataBSON

extension EvalContext {
    static let setOps: [String: OpFn] = [
        "$setUnion": { c, a in
            var set = Set<GroupKey>()
            for e in a.positional {
                let v = try c.eval(e)
                if BSON.isNullish(v) { return .null }
                guard case .array(let items)? = v else {
                    throw evalError("All operands of $setUnion must be arrays. One argument is of type: \(typeName(v))")
                }
                for x in items { set.insert(GroupKey(x)) }
            }
            return sortedSet(set)
        },
        "$setIntersection": { c, a in
            var current: Set<GroupKey>?
            for e in a.positional {
                let v = try c.eval(e)
                if BSON.isNullish(v) { return .null }
                guard case .array(let items)? = v else {
                    throw evalError("All operands of $setIntersection must be arrays. One argument is of type: \(typeName(v))")
                }
                let s = Set(items.map(GroupKey.init))
                current = current.map { $0.intersection(s) } ?? s
            }
            return sortedSet(current ?? [])
        },
        "$setDifference": { c, a in
            let l = try c.arg(a, 0), r = try c.arg(a, 1)
            if BSON.isNullish(l) || BSON.isNullish(r) { return .null }
            guard case .array(let li)? = l else {
                throw evalError("both operands of $setDifference must be arrays. First argument is of type: \(typeName(l))")
            }
            guard case .array(let ri)? = r else {
                throw evalError("both operands of $setDifference must be arrays. Second argument is of type: \(typeName(r))")
            }
            var seen = Set(ri.map(GroupKey.init))
            var out: [BSON] = []
            for x in li where seen.insert(GroupKey(x)).inserted { out.append(x) }
            return .array(out)
        },
        "$setEquals": { c, a in
            var first: Set<GroupKey>?
            var result = true
            for e in a.positional {
                let v = try c.eval(e)
                guard case .array(let items)? = v else {
                    throw evalError("All operands of $setEquals must be arrays. One argument is of type: \(typeName(v))")
                }
                let s = Set(items.map(GroupKey.init))
                if let f = first { if f != s { result = false } } else { first = s }
            }
            return .bool(result)
        },
        "$setIsSubset": { c, a in
            let l = try c.arg(a, 0), r = try c.arg(a, 1)
            guard case .array(let li)? = l else {
                throw evalError("both operands of $setIsSubset must be arrays. First argument is of type: \(typeName(l))")
            }
            guard case .array(let ri)? = r else {
                throw evalError("both operands of $setIsSubset must be arrays. Second argument is of type: \(typeName(r))")
            }
            let rs = Set(ri.map(GroupKey.init))
            return .bool(li.allSatisfy { rs.contains(GroupKey($0)) })
        },
        "$anyElementTrue": { c, a in
            let v = try c.arg(a, 0)
            guard case .array(let items)? = v else {
                throw evalError("$anyElementTrue's argument must be an array, but is \(typeName(v))")
            }
            return .bool(items.contains { BSON.truthy($0) })
        },
        "$allElementsTrue": { c, a in
            let v = try c.arg(a, 0)
            guard case .array(let items)? = v else {
                throw evalError("$allElementsTrue's argument must be an array, but is \(typeName(v))")
            }
            return .bool(items.allSatisfy { BSON.truthy($0) })
        },
    ]

    /// mongod's set results are ordered sets: ascending BSON order.
    static func sortedSet(_ s: Set<GroupKey>) -> BSON {
        .array(s.compactMap(\.value).sorted { BSONOrder.compare($0, $1) < 0 })
    }
}
