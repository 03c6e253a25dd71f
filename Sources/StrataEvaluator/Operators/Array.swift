import StrataBSON

extension EvalContext {
    static let arrayOps: [String: OpFn] = [
        "$size": { c, a in
            let v = try c.arg(a, 0)
            guard case .array(let arr)? = v else {
                throw evalError("The argument to $size must be an array, but was of type: \(typeName(v))")
            }
            return Numeric.intOrLong(Int64(arr.count))
        },
        "$isArray": { c, a in
            if case .array? = try c.arg(a, 0) { return .bool(true) }
            return .bool(false)
        },
        "$arrayElemAt": { c, a in try elemAt("$arrayElemAt", c.arg(a, 0), c.arg(a, 1)) },
        "$first": { c, a in try elemAt("$first", c.arg(a, 0), .int32(0)) },
        "$last": { c, a in try elemAt("$last", c.arg(a, 0), .int32(-1)) },
        "$in": { c, a in
            let x = try c.arg(a, 0), arr = try c.arg(a, 1)
            guard case .array(let items)? = arr else {
                throw evalError("$in requires an array as a second argument, found: \(typeName(arr))")
            }
            return .bool(items.contains { BSONOrder.compare(x, $0) == 0 })
        },
        "$indexOfArray": { c, a in
            let arr = try c.arg(a, 0)
            if BSON.isNullish(arr) { return .null }
            guard case .array(let items)? = arr else {
                throw evalError("$indexOfArray requires an array as a first argument, found: \(typeName(arr))")
            }
            func index(_ i: Int, _ what: String) throws -> Int {
                let v = try c.arg(a, i)
                guard let v, Numeric.isIntegral32(v) else {
                    throw evalError("$indexOfArray requires an integral \(what), found a value of type: \(typeName(v)), with value: \(show(v))")
                }
                let n = Int(Numeric.coerceToLong(v)!)
                if n < 0 { throw evalError("$indexOfArray requires a nonnegative \(what), found: \(n)") }
                return n
            }
            let n = a.positional.count
            let start = n > 2 ? try index(2, "starting index") : 0
            let end = n > 3 ? min(items.count, try index(3, "ending index")) : items.count
            let target = try c.arg(a, 1)
            var i = start
            while i < end {
                if BSONOrder.compare(items[i], target) == 0 { return .int32(Int32(i)) }
                i += 1
            }
            return .int32(-1)
        },
        "$concatArrays": { c, a in
            var out: [BSON] = []
            for e in a.positional {
                let v = try c.eval(e)
                if BSON.isNullish(v) { return .null }
                guard case .array(let items)? = v else { throw evalError("$concatArrays only supports arrays, not \(typeName(v))") }
                out += items
            }
            return .array(out)
        },
        "$reverseArray": { c, a in
            let v = try c.arg(a, 0)
            if BSON.isNullish(v) { return .null }
            guard case .array(let items)? = v else {
                throw evalError("The argument to $reverseArray must be an array, but was of type: \(typeName(v))")
            }
            return .array(items.reversed())
        },
        "$filter": { c, a in
            let input = try c.named(a, "input")
            var limit: Int?
            if a["limit"] != nil {
                let l = try c.named(a, "limit")
                if !BSON.isNullish(l) {
                    guard Numeric.isIntegral32(l!) else {
                        throw evalError("$filter: limit must be represented as a 32-bit integral value: \(show(l))")
                    }
                    let n = Int(Numeric.coerceToLong(l!)!)
                    if n <= 0 { throw evalError("$filter: limit must be greater than 0: \(n)") }
                    limit = n
                }
            }
            if BSON.isNullish(input) { return .null }
            guard case .array(let items)? = input else { throw evalError("input to $filter must be an array not \(typeName(input))") }
            let name = asName(a)
            let cond = a["cond"]!
            var out: [BSON] = []
            try c.with(name, nil) {
                for x in items {
                    if let limit, out.count >= limit { break }
                    c.vars[name] = .some(x)
                    if BSON.truthy(try c.eval(cond)) { out.append(x) }
                }
            }
            return .array(out)
        },
        "$map": { c, a in
            let input = try c.named(a, "input")
            if BSON.isNullish(input) { return .null }
            guard case .array(let items)? = input else { throw evalError("input to $map must be an array not \(typeName(input))") }
            let name = asName(a)
            let body = a["in"]!
            var out: [BSON] = []
            out.reserveCapacity(items.count)
            try c.with(name, nil) {
                for x in items {
                    c.vars[name] = .some(x)
                    out.append(try c.eval(body) ?? .null)
                }
            }
            return .array(out)
        },
        "$reduce": { c, a in
            let input = try c.named(a, "input")
            if BSON.isNullish(input) { return .null }
            guard case .array(let items)? = input else {
                throw evalError("$reduce requires that 'input' be an array, found: \(show(input))")
            }
            var acc = try c.named(a, "initialValue")
            let body = a["in"]!
            try c.with("this", nil) {
                try c.with("value", nil) {
                    for x in items {
                        c.vars["this"] = .some(x)
                        c.vars["value"] = .some(acc)
                        acc = try c.eval(body)
                    }
                }
            }
            return acc
        },
        "$slice": { c, a in
            let arr = try c.arg(a, 0), n = try c.arg(a, 1)
            if BSON.isNullish(arr) || BSON.isNullish(n) { return .null }
            guard case .array(let items)? = arr else {
                throw evalError("First argument to $slice must be an array, but is of type: \(typeName(arr))")
            }
            guard n!.isNumber else { throw evalError("Second argument to $slice must be a numeric value, but is of type: \(typeName(n))") }
            guard Numeric.isIntegral32(n!) else {
                throw evalError("Second argument to $slice can't be represented as a 32-bit integer: \(show(n))")
            }
            let count = items.count
            var start = 0, end = count
            if a.positional.count == 2 {
                let k = Int(Numeric.coerceToLong(n!)!)
                if k >= 0 { end = min(count, k) } else { start = max(0, count + k) }
            } else {
                let s = Int(Numeric.coerceToLong(n!)!)
                start = s < 0 ? max(0, count + s) : min(count, s)
                let cv = try c.arg(a, 2)
                if BSON.isNullish(cv) { return .null }
                guard cv!.isNumber else { throw evalError("Third argument to $slice must be numeric, but is of type: \(typeName(cv))") }
                guard Numeric.isIntegral32(cv!) else {
                    throw evalError("Third argument to $slice can't be represented as a 32-bit integer: \(show(cv))")
                }
                let k = Int(Numeric.coerceToLong(cv!)!)
                if k <= 0 { throw evalError("Third argument to $slice must be positive: \(k)") }
                end = min(start + k, count)
            }
            return .array(Array(items[start..<max(start, end)]))
        },
        "$range": { c, a in
            let s = try c.arg(a, 0), e = try c.arg(a, 1)
            guard let s, s.isNumber else { throw evalError("$range requires a numeric starting value, found value of type: \(typeName(s))") }
            guard Numeric.isIntegral32(s) else { throw evalError("$range requires a starting value that can be represented as a 32-bit integer, found value: \(show(s))") }
            guard let e, e.isNumber else { throw evalError("$range requires a numeric ending value, found value of type: \(typeName(e))") }
            guard Numeric.isIntegral32(e) else { throw evalError("$range requires an ending value that can be represented as a 32-bit integer, found value: \(show(e))") }
            var cur = Int64(Numeric.coerceToLong(s)!)
            let end = Int64(Numeric.coerceToLong(e)!)
            var step: Int64 = 1
            if a.positional.count == 3 {
                let st = try c.arg(a, 2)
                guard let st, st.isNumber else { throw evalError("$range requires a numeric step value, found value of type:\(typeName(st))") }
                guard Numeric.isIntegral32(st) else { throw evalError("$range requires a step value that can be represented as a 32-bit integer, found value: \(show(st))") }
                step = Numeric.coerceToLong(st)!
                if step == 0 { throw evalError("$range requires a non-zero step value") }
            }
            var out: [BSON] = []
            while step > 0 ? cur < end : cur > end {
                out.append(.int32(Int32(cur)))
                cur += step
                if out.count > 100_000_000 { throw evalError("$range would produce too many elements") }
            }
            return .array(out)
        },
        "$zip": { c, a in
            guard case .array(let inputs)? = a["inputs"] else { return .null }
            let longest: Bool = { if case .literal(.bool(true))? = a["useLongestLength"] { return true }; return false }()
            var arrays: [[BSON]] = []
            for e in inputs {
                let v = try c.eval(e)
                if BSON.isNullish(v) { return .null }
                guard case .array(let items)? = v else { throw evalError("$zip found a non-array expression in input: \(show(v))") }
                arrays.append(items)
            }
            let minLen = arrays.map(\.count).min() ?? 0, maxLen = arrays.map(\.count).max() ?? 0
            var defaults = [BSON](repeating: .null, count: arrays.count)
            if minLen != maxLen, case .array(let ds)? = a["defaults"] {
                for (i, d) in ds.enumerated() { defaults[i] = try c.eval(d) ?? .null }
            }
            let n = longest ? maxLen : minLen
            var out: [BSON] = []
            for row in 0..<n {
                out.append(.array(arrays.enumerated().map { row < $0.element.count ? $0.element[row] : defaults[$0.offset] }))
            }
            return .array(out)
        },
        "$sortArray": { c, a in
            let input = try c.named(a, "input")
            if BSON.isNullish(input) { return .null }
            guard case .array(let items)? = input else {
                throw evalError("The input argument to $sortArray must be an array, but was of type: \(typeName(input))")
            }
            guard case .literal(let spec)? = a["sortBy"] else { return input }
            let pattern = try SortPattern.parseSortArraySpec(spec, at: Location())
            return .array(try pattern.sorted(items))
        },
        "$arrayToObject": { c, a in
            let v = try c.arg(a, 0)
            if BSON.isNullish(v) { return .null }
            guard case .array(let items)? = v else { throw evalError("$arrayToObject requires an array input, found: \(typeName(v))") }
            var out = Document()
            guard let first = items.first else { return .document(out) }
            let pairs: Bool
            switch first {
            case .array: pairs = true
            case .document: pairs = false
            default: throw evalError("Unrecognised input type format for $arrayToObject: \(first.typeName)")
            }
            for e in items {
                if pairs {
                    guard case .array(let kv) = e else {
                        throw evalError("$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Array was detected, now found: \(e.typeName)")
                    }
                    guard kv.count == 2 else { throw evalError("$arrayToObject requires an array of size 2 arrays,found array of size: \(kv.count)") }
                    guard case .string(let k) = kv[0] else {
                        throw evalError("$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found key type: \(kv[0].typeName)")
                    }
                    try checkKey(k)
                    out[k] = kv[1]
                } else {
                    guard case .document(let d) = e else {
                        throw evalError("$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Object was detected, now found: \(e.typeName)")
                    }
                    guard d.count == 2 else { throw evalError("$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect number of keys:\(d.count)") }
                    guard let k = d["k"], let val = d["v"] else {
                        throw evalError("$arrayToObject requires an object with keys 'k' and 'v'. Missing either or both keys from: \(show(e))")
                    }
                    guard case .string(let ks) = k else {
                        throw evalError("$arrayToObject requires an object with keys 'k' and 'v', where the value of 'k' must be of type string. Found type: \(k.typeName)")
                    }
                    try checkKey(ks)
                    out[ks] = val
                }
            }
            return .document(out)
        },
        "$objectToArray": { c, a in
            let v = try c.arg(a, 0)
            if BSON.isNullish(v) { return .null }
            guard case .document(let d)? = v else { throw evalError("$objectToArray requires a document input, found: \(typeName(v))") }
            return .array(d.map { .document(["k": .string($0.key), "v": $0.value]) })
        },
        "$firstN": { c, a in try arrayN(c, a, "$firstN") { items, n in Array(items.prefix(n)) } },
        "$lastN": { c, a in try arrayN(c, a, "$lastN") { items, n in Array(items.suffix(n)) } },
        "$maxN": { c, a in try arrayN(c, a, "$maxN") { items, n in
            Array(items.filter { !BSON.isNullish($0) }.sortedStable { BSONOrder.compare($0, $1) > 0 }.prefix(n)) } },
        "$minN": { c, a in try arrayN(c, a, "$minN") { items, n in
            Array(items.filter { !BSON.isNullish($0) }.sortedStable { BSONOrder.compare($0, $1) < 0 }.prefix(n)) } },
    ]

    static func checkKey(_ k: String) throws {
        if k.utf8.contains(0) { throw evalError("Key field cannot contain an embedded null byte") }
    }

    static func asName(_ a: ExprArgs) -> String {
        if case .literal(.string(let s))? = a["as"] { return s }
        return "this"
    }

    static func elemAt(_ op: String, _ arr: BSON?, _ idx: BSON?) throws -> BSON? {
        if BSON.isNullish(arr) || BSON.isNullish(idx) { return .null }
        guard case .array(let items)? = arr else {
            if op == "$arrayElemAt" { throw evalError("$arrayElemAt's first argument must be an array, but is \(typeName(arr))") }
            throw evalError("\(op)'s argument must be an array, but is \(typeName(arr))")
        }
        guard idx!.isNumber else { throw evalError("\(op)'s second argument must be a numeric value, but is \(typeName(idx))") }
        guard Numeric.isIntegral32(idx!) else {
            throw evalError("\(op)'s second argument must be representable as a 32-bit integer: \(show(idx))")
        }
        var i = Int(Numeric.coerceToLong(idx!)!)
        if i < 0 { i += items.count }
        guard i >= 0, i < items.count else { return nil }
        return items[i]
    }

    static func arrayN(_ c: EvalContext, _ a: ExprArgs, _ op: String, _ f: ([BSON], Int) -> [BSON]) throws -> BSON? {
        let nv = try c.named(a, "n")
        guard let nv, nv.isNumber, Numeric.isIntegral64(nv) else {
            throw evalError("Value for 'n' must be of integral type, but found \(show(nv))")
        }
        let n = Numeric.coerceToLong(nv)!
        if n <= 0 { throw evalError("'n' must be greater than 0, found \(n)") }
        let input = try c.named(a, "input")
        guard case .array(let items)? = input else {
            throw evalError("Input to \(op) must be an array, but was of type: \(typeName(input))")
        }
        return .array(f(items, Int(clamping: n)))
    }
}

extension Array {
    /// A stable sort.
    func sortedStable(by less: (Element, Element) -> Bool) -> [Element] {
        enumerated().sorted { a, b in
            if less(a.element, b.element) { return true }
            if less(b.element, a.element) { return false }
            return a.offset < b.offset
        }.map(\.element)
    }
}
