import StrataBSON

extension EvalContext {
    static let objectOps: [String: OpFn] = [
        "$mergeObjects": { c, a in
            var out = Document()
            for (i, e) in a.positional.enumerated() {
                let v = try c.eval(e)
                if BSON.isNullish(v) { continue }
                guard case .document(let d)? = v else {
                    throw evalError("$mergeObjects requires object inputs, but input \(show(v)) is of type \(typeName(v))")
                }
                _ = i
                for (k, x) in d { out[k] = x }
            }
            return .document(out)
        },
        "$getField": { c, a in
            guard case .literal(.string(let f))? = a["field"] else { return nil }
            let input = try c.named(a, "input")
            if BSON.isNullish(input) { return input == nil ? nil : .null }
            guard case .document(let d)? = input else {
                throw evalError("$getField requires 'input' to evaluate to type Object, but got \(typeName(input))")
            }
            return d[f]
        },
        "$setField": { c, a in
            guard case .literal(.string(let f))? = a["field"] else { return nil }
            let input = try c.named(a, "input")
            if BSON.isNullish(input) { return .null }
            guard case .document(var d)? = input else {
                throw evalError("$setField requires 'input' to evaluate to type Object, but got \(typeName(input))")
            }
            d[f] = try c.named(a, "value")
            return .document(d)
        },
        "$unsetField": { c, a in
            guard case .literal(.string(let f))? = a["field"] else { return nil }
            let input = try c.named(a, "input")
            if BSON.isNullish(input) { return .null }
            guard case .document(var d)? = input else {
                throw evalError("$unsetField requires 'input' to evaluate to type Object, but got \(typeName(input))")
            }
            d[f] = nil
            return .document(d)
        },
    ]
}
