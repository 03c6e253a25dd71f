import StrataBSON

extension EvalContext {
    static let logicOps: [String: OpFn] = [
        "$eq": { c, a in .bool(BSONOrder.compare(try c.arg(a, 0), try c.arg(a, 1)) == 0) },
        "$ne": { c, a in .bool(BSONOrder.compare(try c.arg(a, 0), try c.arg(a, 1)) != 0) },
        "$gt": { c, a in .bool(BSONOrder.compare(try c.arg(a, 0), try c.arg(a, 1)) > 0) },
        "$gte": { c, a in .bool(BSONOrder.compare(try c.arg(a, 0), try c.arg(a, 1)) >= 0) },
        "$lt": { c, a in .bool(BSONOrder.compare(try c.arg(a, 0), try c.arg(a, 1)) < 0) },
        "$lte": { c, a in .bool(BSONOrder.compare(try c.arg(a, 0), try c.arg(a, 1)) <= 0) },
        "$cmp": { c, a in .int32(Int32(BSONOrder.compare(try c.arg(a, 0), try c.arg(a, 1)))) },
        "$and": { c, a in
            for e in a.positional where !BSON.truthy(try c.eval(e)) { return .bool(false) }
            return .bool(true)
        },
        "$or": { c, a in
            for e in a.positional where BSON.truthy(try c.eval(e)) { return .bool(true) }
            return .bool(false)
        },
        "$not": { c, a in .bool(!BSON.truthy(try c.arg(a, 0))) },
        "$cond": { c, a in
            switch a {
            case .positional(let p):
                return try c.eval(BSON.truthy(try c.eval(p[0])) ? p[1] : p[2])
            case .named:
                return try c.eval(BSON.truthy(try c.named(a, "if")) ? a["then"]! : a["else"]!)
            }
        },
        "$ifNull": { c, a in
            let p = a.positional
            for (i, e) in p.enumerated() {
                let v = try c.eval(e)
                if !BSON.isNullish(v) || i == p.count - 1 { return v }
            }
            return nil
        },
        "$switch": { c, a in
            if case .array(let branches)? = a["branches"] {
                for b in branches {
                    guard case .object(let f) = b else { continue }
                    if BSON.truthy(try c.eval(f[0].1)) { return try c.eval(f[1].1) }
                }
            }
            guard let d = a["default"] else {
                throw evalError("$switch could not find a matching branch for an input, and no default was specified.")
            }
            return try c.eval(d)
        },
        "$let": { c, a in
            guard case .object(let vars)? = a["vars"], let body = a["in"] else { return nil }
            // All bindings are evaluated in the outer scope first.
            let values = try vars.map { ($0.0, try c.eval($0.1)) }
            let saved = c.vars
            defer { c.vars = saved }
            for (n, v) in values { c.vars[n] = .some(v) }
            return try c.eval(body)
        },
    ]
}
